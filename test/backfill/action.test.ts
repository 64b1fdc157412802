/**
 * The bundled `backfill` action (actions/backfill/dist/index.js), run as the runner runs it:
 * analyze → execute (staged with max-batches) → verify on the Paket 7 example, outputs, job
 * summary, annotations at the spec's lines, the password masked, failures failing the step.
 * The bundle is built first when it is missing (`node scripts/bundle.mjs backfill`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeBackfill, generatePaket7Data } from '../../src/backfill/index.js';
import { silentLogger } from '../../src/errors.js';
import { runBundledAction } from '../support/action.js';
import { adminUrl, freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { applyPaket7Schema, exampleText, root, writeSpec } from './helpers.js';

const spec = 'examples/paket7/backfills/usage-limits.yml';
const role = `bf_${randomBytes(3).toString('hex')}`;
const password = `Pw-${randomBytes(8).toString('hex')}`;
let db: TestDatabase;
let url: string;

beforeAll(async () => {
  if (!existsSync(join(root, 'actions/backfill/dist/index.js'))) {
    execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs'), 'backfill'], { cwd: root });
  }
  db = await freshDatabase('backfill_action');
  await applyPaket7Schema(db.url);
  await generatePaket7Data({ databaseUrl: db.url, users: 1500 }, silentLogger);
  await withClient(adminUrl(), (c) =>
    c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`),
  );
  const u = new URL(db.url);
  u.username = role;
  u.password = password;
  url = u.toString();
});
afterAll(async () => {
  await db.dispose();
  await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
});

function noSecret(run: { stdout: string; stderr: string; summary: string; outputs: object }) {
  // The only place the password may appear is the runner's own ::add-mask:: command.
  const stdout = run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  for (const text of [stdout, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
    expect(text).not.toContain(password);
  }
}

describe('backfill bundled action', () => {
  it('analyze → execute (staged) → verify on the Paket 7 example', async () => {
    const plan = await analyzeBackfill(
      { spec: join(root, spec), databaseUrl: db.url },
      silentLogger,
    );

    const analyze = await runBundledAction('backfill', {
      command: 'analyze',
      spec,
      'database-url': url,
    });
    expect(analyze.exitCode).toBe(0);
    expect(analyze.outputs).toMatchObject({
      'to-create': String(plan.toCreate),
      'to-update': String(plan.toUpdate),
      unchanged: '0',
      'total-operations': String(plan.totalOperations),
      'rows-written': '0',
      verified: 'false',
    });
    expect(analyze.summary).toMatch(/\*\*Total database operations planned\*\* \| \*\*\d+\*\*/);
    expect(analyze.summary).toContain('orphaned-subscriptions');
    const orphans = analyze.annotations.find((a) =>
      a.message.startsWith('check orphaned-subscriptions'),
    );
    expect(orphans).toMatchObject({ level: 'warning', file: spec });
    expect(orphans!.line).toBeGreaterThan(1);
    expect(analyze.masks).toContain(password);
    noSecret(analyze);

    const staged = await runBundledAction('backfill', {
      command: 'execute',
      spec,
      'database-url': url,
      'batch-size': '100',
      'max-batches': '2',
    });
    expect(staged.exitCode).toBe(0);
    expect(staged.outputs['run-id']).toMatch(/^\d+$/);
    const stagedWritten = Number(staged.outputs['rows-written']);
    expect(stagedWritten).toBeGreaterThan(0);
    expect(stagedWritten).toBeLessThan(plan.totalOperations);
    expect(staged.summary).toMatch(/paused/);

    const rest = await runBundledAction('backfill', {
      command: 'execute',
      spec,
      'database-url': url,
    });
    expect(rest.exitCode).toBe(0);
    expect(rest.outputs['run-id']).toBe(staged.outputs['run-id']);
    expect(Number(rest.outputs['rows-written'])).toBe(plan.totalOperations);
    expect(rest.outputs['to-create']).toBe(String(plan.toCreate));
    expect(rest.summary).toMatch(/Resumed after key/);
    noSecret(rest);

    const verify = await runBundledAction('backfill', {
      command: 'verify',
      spec,
      'database-url': url,
    });
    expect(verify.exitCode).toBe(0);
    expect(verify.outputs).toMatchObject({
      verified: 'true',
      'to-create': '0',
      'to-update': '0',
      'total-operations': '0',
    });
    expect(verify.summary).toMatch(/verify ✅ passed/);

    const again = await runBundledAction('backfill', {
      command: 'execute',
      spec,
      'database-url': url,
    });
    expect(again.outputs['rows-written']).toBe('0');
  });

  it('fails the step when verify finds differences, naming the first keys', async () => {
    await withClient(db.url, (c) =>
      c.query(`UPDATE user_stats SET current_usage_limit = 5
                WHERE user_id = (SELECT min(user_id) FROM user_stats WHERE current_usage_limit > 5)`),
    );
    const verify = await runBundledAction('backfill', {
      command: 'verify',
      spec,
      'database-url': url,
    });
    expect(verify.exitCode).not.toBe(0);
    expect(verify.outputs.verified).toBe('false');
    expect(verify.outputs['to-update']).toBe('1');
    expect(verify.stdout).toMatch(
      /::error::verify failed: 1 row\(s\) differ from the source \(first keys: u\d+\)/,
    );
    const assertion = verify.annotations.find((a) =>
      a.message.startsWith('assertion paid-subscribers-at-free-tier-limit'),
    );
    expect(assertion).toMatchObject({ level: 'error', file: spec });
  });

  it('fail-on-checks fails analyze when a check returns rows', async () => {
    const r = await runBundledAction('backfill', {
      command: 'analyze',
      spec,
      'database-url': url,
      'fail-on-checks': 'true',
    });
    expect(r.exitCode).not.toBe(0);
    expect(
      r.annotations.some(
        (a) => a.level === 'error' && a.message.startsWith('check orphaned-subscriptions'),
      ),
    ).toBe(true);
  });

  it('a bad spec fails with an error annotation at its file and line, before writing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bf-action-'));
    const text = exampleText().replace('    - billing_period_end\n', '    - billing_period_ends\n');
    const file = writeSpec(dir, 'bad.yml', text);
    const line = text.split('\n').findIndex((l) => l.includes('billing_period_ends')) + 1;
    const r = await runBundledAction('backfill', {
      command: 'execute',
      spec: file,
      'database-url': url,
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.annotations).toContainEqual(
      expect.objectContaining({
        level: 'error',
        file,
        line,
        message: expect.stringMatching(/column 'billing_period_ends' does not exist/),
      }),
    );
    noSecret(r);
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects a ca-cert that is neither PEM text nor a file, naming the input', async () => {
    const r = await runBundledAction('backfill', {
      command: 'analyze',
      spec,
      'database-url': url,
      'ca-cert': 'no-such-cert.pem',
    });
    expect(r.exitCode).not.toBe(0);
    // No file to point at: an error annotation without properties, naming the input.
    expect(r.stdout).toMatch(
      /::error ?::input 'ca-cert': 'no-such-cert.pem' is neither PEM text \(-----BEGIN CERTIFICATE-----\) nor the path of an existing file/,
    );
    noSecret(r);
  });
});
