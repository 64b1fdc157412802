/**
 * What keeps a backfill from holding locks or writing twice when things go wrong: a stopped
 * (SIGSTOP) runner is taken over once its heartbeat is stale; a runner killed during a long
 * statement has that statement cancelled by the server, so the rerun gets the lock; a lost
 * connection names the batch, what is committed and the command that resumes; two runs on a
 * fresh database do not race creating the checkpoint schema. And the spec checks analyze makes
 * before anything is written: a source that reads what it writes, set-on-write and verify SQL
 * that do not plan, a batch-size above the bound, and analyze before the target column exists.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  analyzeBackfill,
  BackfillConnectionError,
  dryRunBackfill,
  ensureCheckpointSchema,
  executeBackfill,
  verifyBackfill,
} from '../../src/backfill/index.js';
import { ConfigError, recordingLogger, silentLogger, sleep } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { root, writeSpec } from './helpers.js';

let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), 'bf-safety-'));

beforeAll(async () => {
  db = await freshDatabase('backfill_safety');
});
afterAll(async () => db.dispose());

/** A fresh `name` table with `rows` rows (id, hits 0, score 0). */
async function counterTable(name: string, rows: number): Promise<void> {
  await withClient(db.url, async (c) => {
    await c.query(`DROP TABLE IF EXISTS ${name}`);
    await c.query(
      `CREATE TABLE ${name} (id bigint PRIMARY KEY, hits integer NOT NULL DEFAULT 0, score integer NOT NULL DEFAULT 0)`,
    );
    await c.query(`INSERT INTO ${name} (id) SELECT generate_series(1, $1)`, [rows]);
  });
}

function counterSpec(name: string, extra = '', source?: string): string {
  return writeSpec(
    dir,
    `${name}.yml`,
    `name: ${name.replace(/_/g, '-')}
target:
  table: ${name}
  key: id
  columns: [hits]
source: ${source ?? `SELECT id, hits + 1 AS hits FROM ${name}`}
mode: update
idempotent: false
${extra}verify:
  - name: every-row-once
    sql: SELECT id, hits FROM ${name} WHERE hits <> 1
`,
  );
}

function child(spec: string) {
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures/execute-child.ts'), spec, db.url],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((res) => p.on('exit', () => res()));
  return { p, exited, output: () => out };
}

async function waitFor(
  what: string,
  fn: () => Promise<boolean>,
  ms = 30_000,
  context: () => string = () => '',
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await sleep(50);
  }
}

const counts = (table: string) =>
  withClient(db.url, async (c) => {
    const r = await c.query(
      `SELECT count(*) FILTER (WHERE hits = 0) AS lost, count(*) FILTER (WHERE hits > 1) AS twice FROM ${table}`,
    );
    return { lost: Number(r.rows[0].lost), twice: Number(r.rows[0].twice) };
  });

describe('hung, killed and disconnected runners', () => {
  it('four sessions creating the checkpoint schema at once on a fresh database all succeed', async () => {
    const fresh = await freshDatabase('backfill_ddl_race');
    try {
      const clients = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const c = new pg.Client(fresh.url);
          await c.connect();
          return c;
        }),
      );
      try {
        await Promise.all(clients.map((c) => ensureCheckpointSchema(c)));
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
      const t = await withClient(fresh.url, (c) =>
        c.query(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'runbook'`),
      );
      expect(Number(t.rows[0].n)).toBe(3);
    } finally {
      await fresh.dispose();
    }
  });

  it('a stopped runner (SIGSTOP) is taken over once its heartbeat is stale; every row once', async () => {
    await counterTable('stopped', 600);
    const spec = counterSpec(
      'stopped',
      `batch-size: 20
stale-after: 2s
throttle:
  pause: 50ms
  target-batch-duration: 5s
  max-batch-duration: 10s
`,
    );
    const c = child(spec);
    try {
      await waitFor('a few batches', async () =>
        withClient(db.url, (x) =>
          x
            .query(`SELECT coalesce(sum(hits), 0) AS n FROM stopped`)
            .then((r) => Number(r.rows[0].n) >= 60),
        ),
      );
      c.p.kill('SIGSTOP');
      const log = recordingLogger();
      const r = await executeBackfill({ spec, databaseUrl: db.url, lockWaitMs: 20_000 }, log);
      const text = log.lines.join('\n');
      expect(text).toMatch(
        /heartbeat is \d+ s old \(stale after 2 s\): the process is dead or hung; terminating its session/,
      );
      expect(r).toMatchObject({ status: 'completed', resumed: true, rowsSeen: 600 });
      expect(await counts('stopped')).toEqual({ lost: 0, twice: 0 });
    } finally {
      c.p.kill('SIGKILL');
      await c.exited;
    }
    // The stopped process never wrote again: its sessions are gone.
    expect(await counts('stopped')).toEqual({ lost: 0, twice: 0 });
  });

  it('a runner killed while its batch waits: the server cancels the statement and the rerun gets the lock', async () => {
    await counterTable('slow', 400);
    const spec = counterSpec(
      'slow',
      `batch-size: 400
lock-timeout: 5m
statement-timeout: 5m
throttle:
  target-batch-duration: 5m
  max-batch-duration: 10m
`,
    );
    const blocker = new pg.Client(db.url);
    await blocker.connect();
    await blocker.query(`BEGIN`);
    await blocker.query(`SELECT * FROM slow WHERE id = 5 FOR UPDATE`);
    const c = child(spec);
    const ours = `application_name LIKE 'runbook-backfill execute slow%' AND pid <> pg_backend_pid()`;
    try {
      await waitFor(
        'the batch to wait for the row lock',
        () =>
          withClient(db.url, (x) =>
            x
              .query(
                `SELECT count(*) AS n FROM pg_stat_activity WHERE ${ours} AND wait_event_type = 'Lock'`,
              )
              .then((r) => Number(r.rows[0].n) > 0),
          ),
        30_000,
        c.output,
      );
      c.p.kill('SIGKILL');
      await c.exited;
      // The waiting statement (lock_timeout 5 min) ends within about a second of the kill:
      // client_connection_check_interval notices the client is gone.
      await waitFor(
        'the orphaned sessions to end',
        () =>
          withClient(db.url, (x) =>
            x
              .query(`SELECT count(*) AS n FROM pg_stat_activity WHERE ${ours}`)
              .then((r) => Number(r.rows[0].n) === 0),
          ),
        5000,
      );
    } finally {
      c.p.kill('SIGKILL');
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    const r = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(r).toMatchObject({ status: 'completed', rowsSeen: 400 });
    expect(await counts('slow')).toEqual({ lost: 0, twice: 0 });
  });

  it('a lost connection names the batch, what is committed and the command that resumes', async () => {
    await counterTable('lost', 300);
    const spec = counterSpec(
      'lost',
      `batch-size: 10
throttle:
  pause: 30ms
  target-batch-duration: 5s
  max-batch-duration: 10s
`,
    );
    const running = executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    await waitFor('some batches', () =>
      withClient(db.url, (x) =>
        x.query(`SELECT sum(hits) AS n FROM lost`).then((r) => Number(r.rows[0].n) >= 50),
      ),
    );
    await withClient(db.url, (x) =>
      x.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'runbook-backfill execute lost#0'`,
      ),
    );
    const e = await running.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(BackfillConnectionError);
    const m = (e as Error).message;
    expect(m).toMatch(
      /^connection to the database lost in batch \d+ \(keys after \["\d+"\] up to \["\d+"\]\)/,
    );
    expect(m).toMatch(
      /nothing is half applied; \d+ earlier batch\(es\) of run #\d+ are committed \(\d+ rows written\)/,
    );
    expect(m).toContain(`Resume with: runbook backfill execute --spec ${spec}`);
    expect(m).not.toContain(new URL(db.url).password);
    const r = await executeBackfill({ spec, databaseUrl: db.url }, silentLogger);
    expect(r).toMatchObject({ status: 'completed', resumed: true, rowsSeen: 300 });
    expect(await counts('lost')).toEqual({ lost: 0, twice: 0 });
    expect((await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger)).verified).toBe(true);
  });
});

describe('spec checks at analyze', () => {
  beforeAll(() => counterTable('checked', 50));

  const idempotentSpec = (source: string, extra = '') =>
    writeSpec(
      dir,
      'checked.yml',
      `name: checked
target:
  table: checked
  key: id
  columns: [hits]
${extra}source: ${source}
`,
    );

  it.each([
    ['SELECT id, hits + 1 AS hits FROM checked'],
    ['SELECT c.id, c.hits * 2 AS hits FROM public.checked AS c WHERE c.id > 0'],
    ['SELECT id, (SELECT max(x.hits) FROM checked x) AS hits FROM generate_series(1, 5) AS id'],
  ])('refuses a source that reads the column it writes: %s', async (source) => {
    const spec = idempotentSpec(source);
    const e = await analyzeBackfill({ spec, databaseUrl: db.url }, silentLogger).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(
      /checked\.yml:6: the source reads checked\.hits, which the backfill writes/,
    );
    expect(e.message).toMatch(/idempotent: false/);
  });

  it('accepts a source that reads other columns of the target, and a declared non-idempotent one', async () => {
    const ok = idempotentSpec('SELECT id, score + 1 AS hits FROM checked');
    expect((await analyzeBackfill({ spec: ok, databaseUrl: db.url }, silentLogger)).toUpdate).toBe(
      50,
    );
    const declared = idempotentSpec(
      'SELECT id, hits + 1 AS hits FROM checked',
      'idempotent: false\n',
    );
    expect(
      (await analyzeBackfill({ spec: declared, databaseUrl: db.url }, silentLogger)).sourceRows,
    ).toBe(50);
  });

  it('a set-on-write or verify query that does not plan fails analyze at its line', async () => {
    const sow = writeSpec(
      dir,
      'sow.yml',
      `name: sow
target:
  table: checked
  key: id
  columns: [hits]
  set-on-write:
    score: score +* 1
source: SELECT id, 1 AS hits FROM generate_series(1, 5) AS id
`,
    );
    const e1 = await analyzeBackfill({ spec: sow, databaseUrl: db.url }, silentLogger).catch(
      (x) => x,
    );
    expect(e1).toBeInstanceOf(ConfigError);
    expect(e1.message).toMatch(
      /sow\.yml:7: set-on-write 'score: score \+\* 1' fails: operator does not exist/,
    );
    const ver = writeSpec(
      dir,
      'ver.yml',
      `name: ver
target:
  table: checked
  key: id
  columns: [hits]
source: SELECT id, 1 AS hits FROM generate_series(1, 5) AS id
verify:
  - name: typo
    sql: SELECT id FROM checked WHERE hitz > 1
`,
    );
    const e2 = await analyzeBackfill({ spec: ver, databaseUrl: db.url }, silentLogger).catch(
      (x) => x,
    );
    expect(e2).toBeInstanceOf(ConfigError);
    expect(e2.message).toMatch(
      /ver\.yml:9: verify assertion 'typo' fails to plan: column "hitz" does not exist/,
    );
    // Nothing was written: no run of either spec.
    const t = await withClient(db.url, (c) =>
      c.query(`SELECT count(*) AS n FROM runbook.backfill_runs WHERE name IN ('sow', 'ver')`),
    );
    expect(t.rows[0].n).toBe('0');
  });

  it('analyze runs on the source alone before the target column exists; dry-run refuses', async () => {
    const spec = writeSpec(
      dir,
      'later.yml',
      `name: later
target:
  table: checked
  key: id
  columns: [usage_limit]
source: SELECT id, 20 AS usage_limit FROM generate_series(1, 80) AS id
checks:
  - name: reads-the-new-column
    sql: SELECT id FROM checked WHERE usage_limit IS NULL
`,
    );
    const log = recordingLogger();
    const r = await analyzeBackfill({ spec, databaseUrl: db.url }, log);
    expect(r).toMatchObject({
      missingTarget: ['column usage_limit'],
      sourceRows: 80,
      toCreate: 30,
      toUpdate: 50,
    });
    expect(r.checks[0].skipped).toMatch(/usage_limit/);
    expect(log.lines.join('\n')).toMatch(
      /column usage_limit of checked do\(es\) not exist yet: analyzed the source alone/,
    );
    await expect(dryRunBackfill({ spec, databaseUrl: db.url }, silentLogger)).rejects.toThrow(
      /column 'usage_limit' does not exist in checked/,
    );
  });

  it('batch-size above the bound is refused naming the input', async () => {
    const spec = idempotentSpec('SELECT id, score AS hits FROM checked');
    await expect(
      executeBackfill({ spec, databaseUrl: db.url, batchSize: 2_000_000 }, silentLogger),
    ).rejects.toThrow(/batch-size.*must be an integer from 1 to 1000000, got 2000000/);
  });
});
