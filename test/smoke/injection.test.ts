/**
 * The smoke check's SQL assertion is one read-only statement (extended protocol, READ ONLY
 * transaction it cannot end), bounded by the check's timeout; `defaults.timeout-ms` of the
 * checks file is honoured; an answer that retrying cannot change is not retried.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, recordingLogger } from '../../src/errors.js';
import { runSmokeChecks } from '../../src/smoke/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';

let db: TestDatabase;
let server: Server;
let base: string;
let hits = 0;
const dir = mkdtempSync(join(tmpdir(), 'smoke-injection-'));
let n = 0;

function checksFile(text: string): string {
  const file = join(dir, `checks-${++n}.yml`);
  writeFileSync(file, text);
  return file;
}

function sqlCheck(query: string, extra = ''): string {
  return checksFile(`${extra}
checks:
  - name: purchase recorded
    method: POST
    url: '{{base_url}}/purchases'
    expect: { status: 200 }
    idempotency:
      sql:
        query: ${JSON.stringify(query)}
        expect-rows: 1
`);
}

beforeAll(async () => {
  db = await freshDatabase('smoke_injection');
  server = createServer((req, res) => {
    hits++;
    const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
    const delay = Number(/\/delay\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    setTimeout(() => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    }, delay).unref();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await db.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function tableExists(name: string): Promise<boolean> {
  return withClient(db.url, async (c) => {
    const r = await c.query('SELECT to_regclass($1) IS NOT NULL AS e', [name]);
    return r.rows[0].e as boolean;
  });
}

describe('SQL assertion', () => {
  it('refuses ROLLBACK; CREATE TABLE ...; COMMIT; SELECT 1 before connecting', async () => {
    const err = await runSmokeChecks(
      {
        file: sqlCheck('ROLLBACK; CREATE TABLE pwned_a (id int); COMMIT; SELECT 1'),
        variables: { base_url: base },
        databaseUrl: db.url,
      },
      recordingLogger(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(await tableExists('pwned_a')).toBe(false);
  });

  it.each([
    'SELECT 1; CREATE TABLE pwned_a (id int)',
    '/* note */ SELECT 1; COMMIT; CREATE TABLE pwned_a (id int); SELECT 1',
  ])('runs one statement only and writes nothing: %s', async (query) => {
    const run = await runSmokeChecks(
      { file: sqlCheck(query), variables: { base_url: base }, databaseUrl: db.url },
      recordingLogger(),
    );
    expect(run.failed).toBe(1);
    expect(run.results[0].error).toMatch(/exactly one statement is allowed/);
    expect(await tableExists('pwned_a')).toBe(false);
  });

  it('refuses a write inside a single statement (read-only transaction)', async () => {
    const run = await runSmokeChecks(
      {
        file: sqlCheck('WITH w AS (INSERT INTO pg_temp.x SELECT 1 RETURNING 1) SELECT 1 FROM w'),
        variables: { base_url: base },
        databaseUrl: db.url,
      },
      recordingLogger(),
    );
    expect(run.failed).toBe(1);
    expect(run.results[0].error).toMatch(/^sql: /);
  });

  it.each([
    'COMMIT',
    'ROLLBACK',
    'BEGIN',
    'SET transaction_read_only = off',
    'CREATE TABLE p (i int)',
  ])('refuses %s at load time, at the query line', async (query) => {
    const file = sqlCheck(query);
    const err = await runSmokeChecks(
      { file, variables: { base_url: base }, databaseUrl: db.url },
      recordingLogger(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/only one read-only query/);
    expect((err as ConfigError).location?.file).toBe(file);
    expect((err as ConfigError).location?.line).toBe(9);
  });

  it('stops a slow query at the check timeout', async () => {
    const started = Date.now();
    const run = await runSmokeChecks(
      {
        file: sqlCheck('SELECT pg_sleep(30)', 'defaults: { timeout-ms: 400 }'),
        variables: { base_url: base },
        databaseUrl: db.url,
      },
      recordingLogger(),
    );
    expect(run.results[0].error).toMatch(/statement timeout.*57014/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('timeouts and retries', () => {
  it('honours defaults.timeout-ms over the caller default', async () => {
    const run = await runSmokeChecks(
      {
        file: checksFile(`defaults: { timeout-ms: 150 }
checks:
  - name: slow
    url: '{{base_url}}/delay/1500'
`),
        variables: { base_url: base },
        timeoutMs: 10_000,
      },
      recordingLogger(),
    );
    expect(run.results[0].error).toBe('request: no response within 150 ms (timeout)');
  });

  it.each([401, 403, 400, 422])('does not retry HTTP %i', async (status) => {
    const before = hits;
    const logger = recordingLogger();
    const run = await runSmokeChecks(
      {
        file: checksFile(`checks:
  - name: permanent
    url: '{{base_url}}/status/${status}'
    retries: { attempts: 5, backoff-ms: 2000 }
`),
        variables: { base_url: base },
      },
      logger,
    );
    expect(run.results[0]).toMatchObject({ ok: false, attempts: 1 });
    expect(hits - before).toBe(1);
    expect(logger.lines.join('\n')).toMatch(/not retried: HTTP \d+ does not change by retrying/);
  });

  it('still retries a 503', async () => {
    const before = hits;
    const run = await runSmokeChecks(
      {
        file: checksFile(`checks:
  - name: warming up
    url: '{{base_url}}/status/503'
    retries: { attempts: 2, backoff-ms: 1 }
`),
        variables: { base_url: base },
      },
      recordingLogger(),
    );
    expect(run.results[0]).toMatchObject({ ok: false, attempts: 2 });
    expect(hits - before).toBe(2);
  });
});
