/**
 * The shared action bridge (src/github/action.ts): annotation paths and secret masking, checked
 * through a real bundle run as the runner runs it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { annotationPath } from '../../src/github/action.js';
import { runBundledAction } from './../support/action.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { makeCaPem, TLS_REFUSED } from './pem.js';

describe('annotationPath', () => {
  it('makes a path inside the workspace relative to it', () => {
    expect(
      annotationPath('/home/runner/work/app/app/db/001_x.sql', '/home/runner/work/app/app'),
    ).toBe('db/001_x.sql');
  });
  it('leaves relative paths and paths outside the workspace alone', () => {
    expect(annotationPath('db/001_x.sql', '/w')).toBe('db/001_x.sql');
    expect(annotationPath('/tmp/plan.yml', '/w')).toBe('/tmp/plan.yml');
    expect(annotationPath('/w/a.yml', undefined)).toBe('/w/a.yml');
  });
});

describe('database URL masking', () => {
  it('masks a percent-encoded password both decoded and as written', async () => {
    const run = await runBundledAction('migrate', {
      command: 'status',
      'database-url': 'postgres://app:s3cr%40t-Pw@127.0.0.1:1/app',
      dir: 'examples/paket7/migrations',
    });
    expect(run.exitCode).not.toBe(0);
    expect(run.masks).toEqual(expect.arrayContaining(['s3cr@t-Pw', 's3cr%40t-Pw']));
    const printed = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    const everything = printed + run.stderr + run.summary + JSON.stringify(run.outputs);
    expect(everything).not.toContain('s3cr@t-Pw');
    expect(everything).not.toContain('s3cr%40t-Pw');
    expect(everything).toMatch(/127\.0\.0\.1:1/);
    // A ConfigError is reported once, as an annotation naming the input.
    expect(run.annotations.filter((a) => a.level === 'error')).toHaveLength(1);
    expect(run.annotations[0].message).toMatch(/^input 'database-url': cannot connect/);
  });
});

describe('ca-cert input (inputs.caCert): PEM text or a PEM file in the workspace', () => {
  let workspace: string;
  let db: TestDatabase;
  let pem: string;
  beforeAll(async () => {
    pem = makeCaPem();
    workspace = mkdtempSync(join(tmpdir(), 'runbook-ws-'));
    mkdirSync(join(workspace, 'certs'));
    writeFileSync(join(workspace, 'certs', 'ca.pem'), pem);
    writeFileSync(join(workspace, 'certs', 'notes.txt'), 'not a certificate\n');
    db = await freshDatabase('ca_cert');
  });
  afterAll(async () => {
    rmSync(workspace, { recursive: true, force: true });
    await db.dispose();
  });

  /** migrate `status` with the repo as cwd and `workspace` as GITHUB_WORKSPACE. */
  const status = (caCert: string) =>
    runBundledAction(
      'migrate',
      {
        command: 'status',
        'database-url': db.url,
        dir: 'examples/paket7/migrations',
        'ca-cert': caCert,
      },
      // The migrations are the repository's, outside this workspace.
      { env: { GITHUB_WORKSPACE: workspace, RUNBOOK_ALLOWED_PATHS: resolve('examples') } },
    );

  it('fails with one annotation naming ca-cert when the path does not exist', async () => {
    const run = await status('certs/missing.pem');
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe(
      "input 'ca-cert': 'certs/missing.pem' is neither PEM text (-----BEGIN CERTIFICATE-----) nor the path of an existing file",
    );
  });

  it('fails naming ca-cert for a file without a certificate, a directory and a PEM private key', async () => {
    const notPem = await status('certs/notes.txt');
    expect(notPem.exitCode).toBe(1);
    expect(notPem.annotations.filter((a) => a.level === 'error')).toHaveLength(1);
    expect(notPem.annotations[0].message).toMatch(
      /^input 'ca-cert': 'certs\/notes.txt' is not a PEM certificate file/,
    );

    const directory = await status('certs');
    expect(directory.exitCode).toBe(1);
    expect(directory.annotations[0].message).toMatch(/^input 'ca-cert': 'certs' is neither/);

    const key = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAsecretkeymaterial\n-----END PRIVATE KEY-----';
    const keyRun = await status(key);
    expect(keyRun.exitCode).toBe(1);
    expect(keyRun.annotations[0].message).toMatch(/^input 'ca-cert': expected a PEM certificate/);
    expect(keyRun.stdout).not.toContain('secretkeymaterial');
  });

  it('reads a path relative to the workspace and hands the PEM to the connection', async () => {
    // The test server has TLS off: a client told to verify with a CA must refuse it.
    for (const value of ['certs/ca.pem', join(workspace, 'certs', 'ca.pem'), pem]) {
      const run = await status(value);
      expect(run.exitCode).toBe(1);
      const errors = run.annotations.filter((a) => a.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0].message).toMatch(/^input 'database-url': cannot connect to PostgreSQL/);
      expect(errors[0].message).toMatch(TLS_REFUSED);
    }
    // Without ca-cert the same run connects.
    const plain = await runBundledAction(
      'migrate',
      { command: 'status', 'database-url': db.url, dir: 'examples/paket7/migrations' },
      { env: { GITHUB_WORKSPACE: workspace, RUNBOOK_ALLOWED_PATHS: resolve('examples') } },
    );
    expect(plain.exitCode).toBe(0);
  });
});
