/**
 * Bad specs fail with a ConfigError naming the spec file and line, before anything is written:
 * invalid YAML, schema violations, a column or key the target table does not have, a key that
 * is not unique, a source that fails or lacks a column.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeBackfill, loadBackfillSpec, generatePaket7Data } from '../../src/backfill/index.js';
import { ConfigError, silentLogger } from '../../src/errors.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { applyPaket7Schema, databaseChecksum, exampleText, writeSpec } from './helpers.js';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase('backfill_spec');
  await applyPaket7Schema(db.url);
  await generatePaket7Data({ databaseUrl: db.url, users: 200 }, silentLogger);
  dir = mkdtempSync(join(tmpdir(), 'bf-spec-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.dispose();
});

/** Line number (1-based) of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

/**
 * Runs execute on `file` and expects a ConfigError at exactly `at` (a line, or a line and column
 * for YAML syntax errors) matching `message`, with every table unchanged and no checkpoint table.
 */
async function expectRefused(
  file: string,
  at: number | { line: number; column: number },
  message: RegExp,
): Promise<ConfigError> {
  const loc = typeof at === 'number' ? { file, line: at } : { file, ...at };
  const before = await databaseChecksum(db.url);
  const err = await executeBackfill({ spec: file, databaseUrl: db.url }, silentLogger).catch(
    (e) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.location).toEqual(loc);
  expect(err.message).toContain(`${file}:${loc.line}:${'column' in loc ? `${loc.column}:` : ''} `);
  expect(err.message).toMatch(message);
  // Nothing written: no checkpoint table, no changed row.
  expect(await databaseChecksum(db.url)).toEqual(before);
  return err;
}

describe('backfill spec errors', () => {
  it('the example spec loads', () => {
    const s = loadBackfillSpec(
      join(import.meta.dirname, '../../examples/paket7/backfills/usage-limits.yml'),
    );
    expect(s).toMatchObject({
      name: 'usage-limits',
      table: 'user_stats',
      key: ['user_id'],
      mode: 'upsert',
    });
    expect(s.setOnWrite).toEqual({ usage_limit_updated_at: 'now()' });
    expect(s.maxBatchMs).toBe(250);
    expect(s.lockTimeoutMs).toBe(2000);
  });

  it('invalid YAML: the exact line and column, nothing written', async () => {
    // An unclosed flow sequence: the parser stops at the first block item inside it.
    const text = exampleText().replace('  columns:\n', '  columns: [\n');
    const file = writeSpec(dir, 'bad-yaml.yml', text);
    expect(lineOf(text, '- current_usage_limit')).toBe(lineOf(text, 'columns: [') + 1);
    await expectRefused(
      file,
      { line: lineOf(text, '- current_usage_limit'), column: 5 },
      /invalid YAML: Block collections are not allowed within flow collections/,
    );
  });

  it('invalid YAML on one line: that line and the column of the error', async () => {
    const text = exampleText().replace('mode: upsert', 'mode: "upsert');
    const file = writeSpec(dir, 'bad-quote.yml', text);
    await expectRefused(
      file,
      { line: lineOf(text, 'mode: "upsert'), column: 14 },
      /invalid YAML: Missing closing "quote/,
    );
  });

  it('schema violation: an unknown mode, at its line', () => {
    const text = exampleText().replace('mode: upsert', 'mode: merge');
    const file = writeSpec(dir, 'bad-mode.yml', text);
    expect(() => loadBackfillSpec(file)).toThrow(`${file}:${lineOf(text, 'mode: merge')}: mode`);
  });

  it('a bad duration, at its line', () => {
    const text = exampleText().replace('pause: 0ms', 'pause: soon');
    const file = writeSpec(dir, 'bad-pause.yml', text);
    expect(() => loadBackfillSpec(file)).toThrow(`${file}:${lineOf(text, 'pause: soon')}: `);
  });

  it('a column the target table does not have, at the line of that column', async () => {
    const text = exampleText().replace('    - usage_limit_set_by\n', '    - usage_limit_setby\n');
    const file = writeSpec(dir, 'bad-column.yml', text);
    const err = await expectRefused(
      file,
      lineOf(text, '- usage_limit_setby'),
      /column 'usage_limit_setby' does not exist in user_stats/,
    );
    expect(err.message).toMatch(/columns: .*usage_limit_set_by/);
  });

  it('a key column that does not exist, at the key line', async () => {
    const text = exampleText().replace('  key: user_id', '  key: userid');
    const file = writeSpec(dir, 'bad-key.yml', text);
    await expectRefused(file, lineOf(text, 'key: userid'), /key column 'userid' does not exist/);
  });

  it('a key that is not unique, at the key line', async () => {
    const text = exampleText().replace('  key: user_id', '  key: [user_id, total_api_calls]');
    const file = writeSpec(dir, 'not-unique.yml', text);
    await expectRefused(
      file,
      lineOf(text, 'key: [user_id'),
      /not the primary key or a unique index.*\(user_id\)/,
    );
  });

  it('a target table that does not exist, at its line', async () => {
    const text = exampleText().replace('  table: user_stats', '  table: user_statistics');
    const file = writeSpec(dir, 'bad-table.yml', text);
    await expectRefused(
      file,
      lineOf(text, 'table: user_statistics'),
      /target table 'user_statistics' does not exist/,
    );
  });

  it('a source that fails, at the source line', async () => {
    const text = exampleText().replace(
      'FROM subscription s\n     WHERE s.status',
      'FROM subscriptions s\n     WHERE s.status',
    );
    const file = writeSpec(dir, 'bad-source.yml', text);
    await expectRefused(
      file,
      lineOf(text, 'source: |'),
      /source query fails: relation "subscriptions" does not exist/,
    );
  });

  it('a source that does not return a target column, at the source line', async () => {
    const text = exampleText().replace(
      'period_end AS billing_period_end',
      'period_end AS period_end',
    );
    const file = writeSpec(dir, 'missing-col.yml', text);
    await expectRefused(
      file,
      lineOf(text, 'source: |'),
      /does not return column\(s\) billing_period_end/,
    );
  });

  it('a batch-keys query without the key column, at the batch-keys line', async () => {
    const text = exampleText().replace('SELECT id AS user_id FROM "user"', 'SELECT id FROM "user"');
    const file = writeSpec(dir, 'bad-batch-keys.yml', text);
    await expectRefused(
      file,
      lineOf(text, 'batch-keys:'),
      /batch-keys query does not return key column\(s\) user_id/,
    );
  });
});
