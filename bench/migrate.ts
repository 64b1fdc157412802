/**
 * `npm run bench:migrate`: applies 300 generated migrations to empty databases on an embedded
 * PostgreSQL and compares, in the same run:
 *   - runbook migrate (`applyMigrations`: advisory lock, history table, checksums, one
 *     transaction per file, lock_timeout);
 *   - `psql -f` on the concatenation of the 300 files (the floor: no history, no per-file
 *     transaction, no checks);
 *   - node-pg-migrate's programmatic `runner` on the same .sql files, one transaction per file
 *     (`singleTransaction: false`), i.e. the same guarantee as runbook migrate.
 *   - the same 300 files in Flyway (`V<n>__step.sql`) and golang-migrate (`<v>_step.up.sql` with
 *     `.down.sql`) naming, detected (`format: auto`) and applied by runbook migrate;
 *   - whole processes, Node start included: the bundled action (`node
 *     actions/migrate/dist/index.js`, as the runner runs it) against the node-pg-migrate CLI.
 * Then it times `status` against a database with 1,000 applied migrations, in process and
 * through the bundled action. Each measurement is the median of ROUNDS runs on fresh
 * databases. Targets: at most 1.1x psql for every naming, the bundled action faster than the
 * node-pg-migrate CLI, status of 1,000 applied files under 0.2 s through the bundled action.
 * Build the bundle first: `node scripts/bundle.mjs migrate`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { silentLogger } from '../src/errors.js';
import { applyMigrations, migrationStatus } from '../src/migrate/index.js';

const run = promisify(execFile);
const MIGRATIONS = 300;
const STATUS_MIGRATIONS = 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const info = { actor: 'bench', via: 'cli' as const };

/** One realistic migration: a table, an index, seed rows, a later ALTER of an earlier table. */
function migrationSql(i: number): string {
  const t = `bench_t${i}`;
  const lines = [
    `-- migration ${i}`,
    `CREATE TABLE ${t} (`,
    `  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,`,
    `  account_id text NOT NULL,`,
    `  amount numeric(12, 2) NOT NULL DEFAULT 0,`,
    `  created_at timestamptz NOT NULL DEFAULT now()`,
    `);`,
    `CREATE INDEX ${t}_account_idx ON ${t} (account_id, created_at DESC);`,
    `INSERT INTO ${t} (account_id, amount) SELECT 'acct_' || g, g * 1.5 FROM generate_series(1, 20) g;`,
    `COMMENT ON TABLE ${t} IS 'benchmark table ${i}';`,
  ];
  if (i > 1) lines.push(`ALTER TABLE bench_t${i - 1} ADD COLUMN note_${i} text;`);
  return lines.join('\n') + '\n';
}

function version(i: number): string {
  return String(20260000000000 + i * 100);
}

type Naming = 'runbook' | 'flyway' | 'golang-migrate';

function writeMigrations(
  n: number,
  sql: (i: number) => string,
  naming: Naming = 'runbook',
): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-migrations-'));
  for (let i = 1; i <= n; i++) {
    if (naming === 'flyway') writeFileSync(join(dir, `V${i}__step_${i}.sql`), sql(i));
    else if (naming === 'golang-migrate') {
      writeFileSync(join(dir, `${version(i)}_step_${i}.up.sql`), sql(i));
      writeFileSync(join(dir, `${version(i)}_step_${i}.down.sql`), `DROP TABLE bench_t${i};\n`);
    } else writeFileSync(join(dir, `${version(i)}_step_${i}.sql`), sql(i));
  }
  return dir;
}

/** Runs the bundled action as the runner does; returns its outputs. */
async function bundled(inputs: Record<string, string>): Promise<Record<string, string>> {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-action-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  for (const f of ['OUTPUT', 'STEP_SUMMARY', 'ENV', 'STATE']) {
    env[`GITHUB_${f}`] = join(tmp, f);
    writeFileSync(join(tmp, f), '');
  }
  try {
    await run('node', ['actions/migrate/dist/index.js'], { env });
    const out: Record<string, string> = {};
    for (const m of readFileSync(join(tmp, 'OUTPUT'), 'utf8').matchAll(
      /^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm,
    )) {
      out[m[1]] = m[3];
    }
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const server = await startEmbeddedPostgres();
  const admin = new pg.Client(server.url);
  await admin.connect();
  let n = 0;
  const freshDb = async (): Promise<string> => {
    const name = `bench_${n++}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(server.url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const dir = writeMigrations(MIGRATIONS, migrationSql);
  const all = join(dir, '..', `${dir.split('/').pop()}-all.sql`);
  writeFileSync(all, Array.from({ length: MIGRATIONS }, (_, k) => migrationSql(k + 1)).join('\n'));
  const flywayDir = writeMigrations(MIGRATIONS, migrationSql, 'flyway');
  const golangDir = writeMigrations(MIGRATIONS, migrationSql, 'golang-migrate');
  const times: Record<string, number[]> = {
    runbook: [],
    psql: [],
    npgm: [],
    flyway: [],
    golang: [],
    action: [],
    npgmCli: [],
  };
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // Interleave the tools so that machine noise hits all of them alike.
      {
        const url = await freshDb();
        const t0 = performance.now();
        await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', all]);
        times.psql.push(performance.now() - t0);
      }
      {
        const url = await freshDb();
        const t0 = performance.now();
        const res = await applyMigrations({ databaseUrl: url, dir, runInfo: info }, silentLogger);
        times.runbook.push(performance.now() - t0);
        if (res.applied.length !== MIGRATIONS) throw new Error('runbook applied too few');
      }
      {
        const url = await freshDb();
        const t0 = performance.now();
        const done = await runner({
          databaseUrl: url,
          dir,
          migrationsTable: 'pgmigrations',
          direction: 'up',
          singleTransaction: false,
          checkOrder: true,
          log: () => {},
          logger: { debug: () => {}, info: () => {}, warn: () => {}, error: console.error },
        });
        times.npgm.push(performance.now() - t0);
        if (done.length !== MIGRATIONS) throw new Error('node-pg-migrate applied too few');
      }
      for (const [key, d] of [
        ['flyway', flywayDir],
        ['golang', golangDir],
      ] as const) {
        const url = await freshDb();
        const t0 = performance.now();
        const res = await applyMigrations(
          { databaseUrl: url, dir: d, runInfo: info },
          silentLogger,
        );
        times[key].push(performance.now() - t0);
        if (res.applied.length !== MIGRATIONS) throw new Error(`${key} applied too few`);
      }
      {
        const url = await freshDb();
        const t0 = performance.now();
        const out = await bundled({ command: 'apply', 'database-url': url, dir });
        times.action.push(performance.now() - t0);
        if (out['applied-count'] !== String(MIGRATIONS))
          throw new Error('bundled action applied too few');
      }
      {
        const url = await freshDb();
        const t0 = performance.now();
        await run(
          'node_modules/.bin/node-pg-migrate',
          ['up', '-m', dir, '-j', 'sql', '--no-check-order', '--migrations-table', 'pgmigrations'],
          { env: { ...process.env, DATABASE_URL: url } },
        );
        times.npgmCli.push(performance.now() - t0);
      }
    }

    // status with 1,000 applied migrations
    const statusDir = writeMigrations(
      STATUS_MIGRATIONS,
      (i) => `CREATE TABLE status_t${i} (id int PRIMARY KEY, label text);\n`,
    );
    const statusUrl = await freshDb();
    await applyMigrations({ databaseUrl: statusUrl, dir: statusDir, runInfo: info }, silentLogger);
    const statusTimes: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      const s = await migrationStatus({ databaseUrl: statusUrl, dir: statusDir }, silentLogger);
      statusTimes.push(performance.now() - t0);
      if (s.rows.length !== STATUS_MIGRATIONS || s.pending.length) throw new Error('bad status');
    }
    const actionStatus: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      const out = await bundled({ command: 'status', 'database-url': statusUrl, dir: statusDir });
      actionStatus.push(performance.now() - t0);
      if (out['pending-count'] !== '0') throw new Error('bad bundled status');
    }
    rmSync(statusDir, { recursive: true, force: true });

    const psql = median(times.psql);
    const ours = median(times.runbook);
    const npgm = median(times.npgm);
    const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
    console.log(
      `\nmigrate benchmark: ${MIGRATIONS} migrations (${MIGRATIONS * 5 - 1} statements), median of ${ROUNDS} runs, embedded PostgreSQL 18, Node ${process.versions.node}\n`,
    );
    console.log(`  psql -f (concatenation, floor)        ${fmt(psql)}   1.00x psql`);
    console.log(
      `  runbook migrate apply                 ${fmt(ours)}   ${(ours / psql).toFixed(2)}x psql   (target <= 1.50x)`,
    );
    console.log(
      `  node-pg-migrate runner (per-file tx)  ${fmt(npgm)}   ${(npgm / psql).toFixed(2)}x psql   runbook is ${(npgm / ours).toFixed(2)}x faster`,
    );
    const fly = median(times.flyway);
    const gol = median(times.golang);
    const act = median(times.action);
    const cli = median(times.npgmCli);
    console.log(
      `  runbook migrate apply, Flyway naming   ${fmt(fly)}   ${(fly / psql).toFixed(2)}x psql   (target <= 1.10x)`,
    );
    console.log(
      `  runbook migrate apply, golang-migrate  ${fmt(gol)}   ${(gol / psql).toFixed(2)}x psql   (target <= 1.10x)`,
    );
    console.log(
      `\n  whole processes (Node start included):\n  bundled migrate action (node dist)     ${fmt(act)}\n  node-pg-migrate CLI                    ${fmt(cli)}   the action is ${(cli / act).toFixed(2)}x faster`,
    );
    const st = median(statusTimes);
    const ast = median(actionStatus);
    console.log(
      `\n  runbook migrate status, ${STATUS_MIGRATIONS} applied migrations: ${st.toFixed(0)} ms in process, ${ast.toFixed(0)} ms through the bundled action (median of 5; target < 200 ms)\n`,
    );
    const ok = (b: boolean) => (b ? 'PASS' : 'MISS');
    console.log(
      `  verdict: ${ok(ours <= psql * 1.1)} runbook <= 1.1x psql; ${ok(fly <= psql * 1.1)} Flyway naming <= 1.1x; ${ok(gol <= psql * 1.1)} golang-migrate naming <= 1.1x; ${ok(ours < npgm)} faster than node-pg-migrate; ${ok(act < cli)} bundled action faster than the node-pg-migrate CLI; ${ok(ast < 200)} bundled status < 0.2 s`,
    );
  } finally {
    for (const d of [dir, flywayDir, golangDir]) rmSync(d, { recursive: true, force: true });
    rmSync(all, { force: true });
    await admin.end();
    await server.stop();
  }
}

await main();
