/**
 * The `runbook` entry point as a user meets it: the Node version check before anything loads,
 * `--version`, errors without stack traces, `--json` alone on stdout, and `runbook db` starting a
 * real PostgreSQL that outlives the command.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const exec = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'runbook.mjs');

/** Runs bin/runbook.mjs with the Node that runs the tests (24) unless `node` is given. */
async function runbook(args: string[], node = process.execPath) {
  try {
    const r = await exec(node, [bin, ...args], { cwd: root, env: { ...process.env, CI: 'true' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('runbook entry point', () => {
  it('refuses an older Node with the version it needs, before loading anything', async () => {
    // /usr/bin/node is the machine's Node 20; the tests themselves run on Node 24.
    const r = await runbook(['--help'], '/usr/bin/node');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Node 24 or newer is needed \(this is Node 20\./);
    expect(r.stderr).not.toMatch(/TypeError|undici/);
  });

  it("has release notes in CHANGELOG.md for the package's version, and refuses a version without", async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const notes = await exec(process.execPath, ['scripts/changelog.mjs', `v${pkg.version}`], {
      cwd: root,
    });
    expect(notes.stdout).toMatch(/^### /);
    await expect(
      exec(process.execPath, ['scripts/changelog.mjs', '99.0.0'], { cwd: root }),
    ).rejects.toMatchObject({
      code: 1,
    });
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const r = await runbook(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('keeps stdout for the JSON document when --json is given: log lines go to stderr', async () => {
    const { commands, main } = await import('../../src/cli.js');
    commands.push({
      name: 'json-probe',
      summary: 'test only',
      usage: 'usage: runbook json-probe [--json]',
      run: async (argv, logger) => {
        logger.info('a log line');
        await logger.group('a group', async () => logger.info('inside'));
        if (argv.includes('--json')) console.log(JSON.stringify({ ok: true }));
        return 0;
      },
    });
    const out: string[] = [];
    const err: string[] = [];
    const log = jest
      .spyOn(console, 'log')
      .mockImplementation((m: unknown) => void out.push(String(m)));
    const error = jest
      .spyOn(console, 'error')
      .mockImplementation((m: unknown) => void err.push(String(m)));
    try {
      expect(await main(['json-probe', '--json'])).toBe(0);
      expect(out).toEqual(['{"ok":true}']);
      expect(err.join('\n')).toMatch(/a log line[\s\S]*a group[\s\S]*inside/);
      out.length = 0;
      expect(await main(['json-probe'])).toBe(0);
      expect(out.join('\n')).toMatch(/a log line/);
    } finally {
      log.mockRestore();
      error.mockRestore();
      commands.pop();
    }
  });

  it('prints a configuration error without a stack trace, and the stack with --debug', async () => {
    const r = await inProcess(['db', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown subcommand 'nope'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const d = await inProcess(['db', 'nope', '--debug']);
    delete process.env.RUNBOOK_DEBUG;
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/\n\s+at /);
  });
});

/** Runs `runbook` in this process, capturing what it prints. */
async function inProcess(args: string[]) {
  const { main } = await import('../../src/cli.js');
  const out: string[] = [];
  const err: string[] = [];
  const log = jest
    .spyOn(console, 'log')
    .mockImplementation((m: unknown) => void out.push(String(m)));
  const error = jest
    .spyOn(console, 'error')
    .mockImplementation((m: unknown) => void err.push(String(m)));
  try {
    const code = await main(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('runbook db', () => {
  it('starts a PostgreSQL that outlives the command, prints its URL, stops it and keeps the data', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'runbook-db-')), 'pg');
    chmodSync(join(dir, '..'), 0o755);
    const start = await inProcess(['db', 'start', '--dir', dir]);
    expect(start.code).toBe(0);
    const url = start.stdout.trim();
    expect(url).toMatch(/^postgres:\/\/postgres:[0-9a-f]+@127\.0\.0\.1:\d+\/postgres$/);
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)');
      await client.end();
      expect((await inProcess(['db', 'url', '--dir', dir, '--env'])).stdout.trim()).toBe(
        `export DATABASE_URL='${url}'`,
      );
      expect((await inProcess(['db', 'status', '--dir', dir])).code).toBe(0);
    } finally {
      expect((await inProcess(['db', 'stop', '--dir', dir])).code).toBe(0);
    }
    const after = await inProcess(['db', 'url', '--dir', dir]);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/no server running/);
    expect((await inProcess(['db', 'status', '--dir', dir])).code).toBe(1);
    // Started again, the data is still there.
    const again = await inProcess(['db', 'start', '--dir', dir]);
    try {
      const client = new pg.Client({ connectionString: again.stdout.trim() });
      await client.connect();
      expect((await client.query('SELECT id FROM kept')).rows).toEqual([{ id: 7 }]);
      await client.end();
    } finally {
      await inProcess(['db', 'stop', '--dir', dir]);
    }
  }, 120_000);
});
