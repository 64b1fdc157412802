/**
 * Bad input: unknown keys at their own line, a YAML alias bomb named with its file, path inputs
 * confined to the workspace (symbolic links followed), and a clear hint when the embedded
 * PostgreSQL cannot run as root inside a directory the `postgres` user cannot enter.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseYaml } from '../../src/config/load.js';
import { loadCriteria } from '../../src/gate/index.js';
import { ConfigError } from '../../src/errors.js';
import { confinedPath } from '../../src/github/action.js';
import { startEmbeddedPostgres, untraversableParent } from '../../src/db/embedded.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('YAML files', () => {
  const schema = z.strictObject({
    name: z.string(),
    metrics: z.array(z.strictObject({ name: z.string(), query: z.string() })),
  });

  it('annotates an unknown key at its own line, not the parent', () => {
    const text = 'name: gate\nmetrics:\n  - name: a\n    query: up\n    qurey: typo\n';
    const err = configError(() => parseYaml(text, 'gate.yml', schema, 'criteria'));
    expect(err.location).toEqual({ file: 'gate.yml', line: 5 });
    expect(err.message).toMatch(/metrics\.0\.qurey: unknown key 'qurey'/);
  });

  it('annotates an unknown key of a real criteria file at its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'criteria-'));
    const file = join(dir, 'gate.yml');
    writeFileSync(
      file,
      [
        'provider: prometheus',
        'interval: 1m',
        'duration: 5m',
        'metrics:',
        '  - name: errors',
        '    query: sum(rate(x[1m]))',
        '    condition: "< 1"',
        '    unit: count',
        '    failure-limt: 2',
        '',
      ].join('\n'),
    );
    const err = configError(() => loadCriteria(file));
    rmSync(dir, { recursive: true, force: true });
    expect(err.location?.line).toBe(9);
    expect(err.message).toMatch(/failure-limt/);
  });

  it('refuses an alias bomb, naming the file', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      lines.push(`${next}: &${next} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`);
    }
    lines.push('name: bomb', 'metrics: []');
    const started = Date.now();
    const err = configError(() => parseYaml(lines.join('\n'), 'bomb.yml', schema, 'criteria'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.location?.file).toBe('bomb.yml');
    expect(err.message).toMatch(/alias/i);
    expect(err.message).toMatch(/criteria/);
  });
});

describe('path inputs of the actions', () => {
  let ws: string;
  let outside: string;
  const saved = { ...process.env };
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'ws-'));
    outside = mkdtempSync(join(tmpdir(), 'outside-'));
    writeFileSync(join(outside, 'secret.yml'), 'x: 1\n');
    mkdirSync(join(ws, 'migrations'));
    writeFileSync(join(ws, 'migrations/001_a.sql'), 'SELECT 1;\n');
    writeFileSync(join(ws, 'criteria.yml'), 'x: 1\n');
    symlinkSync(join(outside, 'secret.yml'), join(ws, 'link.yml'));
    symlinkSync(outside, join(ws, 'linkdir'));
    process.env.GITHUB_WORKSPACE = ws;
    process.env.RUNNER_TEMP = join(outside, 'runner-temp');
    mkdirSync(process.env.RUNNER_TEMP);
  });
  afterAll(() => {
    process.env = saved;
    rmSync(ws, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('accepts paths inside the workspace, relative or absolute, existing or not yet', () => {
    expect(confinedPath('criteria', 'criteria.yml')).toBe('criteria.yml');
    expect(confinedPath('criteria', join(ws, 'criteria.yml'))).toBe(join(ws, 'criteria.yml'));
    expect(confinedPath('dir', 'migrations', 'dir')).toBe('migrations');
    expect(confinedPath('measurements-file', 'out/new/m.json', 'output')).toBe('out/new/m.json');
    expect(
      confinedPath('measurements-file', join(process.env.RUNNER_TEMP!, 'm.json'), 'output'),
    ).toMatch(/m\.json$/);
  });

  it.each([
    ['criteria', '../outside.yml', 'file'],
    ['criteria', '/etc/passwd', 'file'],
    ['criteria', 'link.yml', 'file'],
    ['dir', 'linkdir', 'dir'],
    ['spec', 'linkdir/secret.yml', 'file'],
    ['measurements-file', '/etc/cron.d/x', 'output'],
    ['criteria', join(process.env.RUNNER_TEMP ?? '/tmp', 'x.yml'), 'file'],
  ] as const)('refuses %s: %s', (name, value, kind) => {
    const err = configError(() => confinedPath(name, value, kind));
    expect(err.input).toBe(name);
    expect(err.message).toMatch(/outside the workspace/);
  });

  it('refuses a migrations directory holding a link that leaves the workspace', () => {
    symlinkSync(join(outside, 'secret.yml'), join(ws, 'migrations/002_b.sql'));
    const err = configError(() => confinedPath('dir', 'migrations', 'dir'));
    expect(err.message).toMatch(/002_b\.sql.*symbolic link/);
    rmSync(join(ws, 'migrations/002_b.sql'));
  });
});

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
(asRoot ? describe : describe.skip)('embedded PostgreSQL as root', () => {
  it('names the 0700 directory and what to do instead of a bare EACCES', async () => {
    const blocked = mkdtempSync(join(tmpdir(), 'private-'));
    chmodSync(blocked, 0o700);
    try {
      expect(untraversableParent(join(blocked, 'x', 'data'))).toBe(blocked);
      const started = await startEmbeddedPostgres({ parentDir: blocked }).catch((e: Error) => e);
      if (!(started instanceof Error)) await started.stop();
      const err = started;
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(blocked);
      expect((err as Error).message).toMatch(/TMPDIR=\/tmp/);
      expect((err as Error).message).toMatch(/chmod o\+x/);
    } finally {
      rmSync(blocked, { recursive: true, force: true });
    }
  });
});
