/**
 * `npm run bench:migrate`: applies 300 generated migrations to empty databases on an embedded
 * PostgreSQL and compares, in the same run:
 *   - runbook migrate (`applyMigrations`: advisory lock, history table, checksums, one
 *     transaction per file, lock_timeout);
 *   - `psql -f` on the concatenation of the 300 files (the floor: no history, no per-file
 *     transaction, no checks);
 *   - node-pg-migrate's programmatic `runner` on the same .sql files, one transaction per file
 *     (`singleTransaction: false`), i.e. the same guarantee as runbook migrate.
 * Then it times `status` against a database with 1,000 applied migrations.
 * Each measurement is the median of ROUNDS runs on fresh databases. Targets (issue 2): at most
 * 1.5x psql, faster than node-pg-migrate, status under 1 s.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
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

function writeMigrations(n: number, sql: (i: number) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-migrations-'));
  for (let i = 1; i <= n; i++) writeFileSync(join(dir, `${version(i)}_step_${i}.sql`), sql(i));
  return dir;
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
  const times: Record<string, number[]> = { runbook: [], psql: [], npgm: [] };
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
    const st = median(statusTimes);
    console.log(
      `\n  runbook migrate status, ${STATUS_MIGRATIONS} applied migrations: ${st.toFixed(0)} ms (median of 5; target < 1000 ms)\n`,
    );
    console.log(
      `  verdict: ${ours <= psql * 1.5 ? 'PASS' : 'MISS'} <= 1.5x psql; ${ours < npgm ? 'PASS' : 'MISS'} faster than node-pg-migrate; ${st < 1000 ? 'PASS' : 'MISS'} status < 1 s`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(all, { force: true });
    await admin.end();
    await server.stop();
  }
}

await main();
