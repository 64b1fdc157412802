/**
 * The shared `runbook` argument helpers (src/cli/args.ts), and that every command turns a bad
 * flag into a usage error (exit code 2) through `src/cli.ts`.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  databaseUrlFlag,
  durationFlag,
  envSecretsFlag,
  listFlag,
  numberFlag,
  oneOfFlag,
  parseFlags,
  readFileFlag,
  requiredFlag,
} from '../../src/cli/args.js';
import { main } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { ROLLOUT_COMMANDS, setImageChangeCause } from '../../src/k8s/index.js';

describe('parseFlags', () => {
  const options = {
    name: { type: 'string' },
    all: { type: 'boolean', default: false },
    tag: { type: 'string', multiple: true },
  } as const;

  it('returns values and positionals', () => {
    const r = parseFlags(['apply', '--name', 'x', '--tag', 'a', '--tag', 'b'], options, 'u', true);
    expect(r.values).toEqual({ name: 'x', all: false, tag: ['a', 'b'] });
    expect(r.positionals).toEqual(['apply']);
  });

  it('turns an unknown flag, a missing value or a stray positional into a ConfigError with the usage', () => {
    for (const argv of [['--nope'], ['--name'], ['stray']]) {
      let err: unknown;
      try {
        parseFlags(argv, options, 'usage: runbook thing');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/\n\nusage: runbook thing$/);
    }
  });
});

describe('flag readers', () => {
  it('databaseUrlFlag: the flag, else DATABASE_URL; empty counts as unset', () => {
    const env = { DATABASE_URL: 'postgres://env/db' };
    expect(databaseUrlFlag('postgres://flag/db', env)).toBe('postgres://flag/db');
    expect(databaseUrlFlag(undefined, env)).toBe('postgres://env/db');
    expect(databaseUrlFlag('', env)).toBe('postgres://env/db');
    expect(databaseUrlFlag(undefined, { DATABASE_URL: '' })).toBeUndefined();
  });

  it('durationFlag: milliseconds, the fallback, or undefined; names the flag when bad', () => {
    expect(durationFlag('1m30s', '--timeout')).toBe(90_000);
    expect(durationFlag(undefined, '--timeout', '2s')).toBe(2000);
    expect(durationFlag('', '--timeout', '250ms')).toBe(250);
    expect(durationFlag(undefined, '--timeout')).toBeUndefined();
    expect(() => durationFlag('soon', '--pause')).toThrow(
      new ConfigError("--pause: 'soon' is not a duration (use e.g. 30s, 5m, 1h30m, 250ms)"),
    );
  });

  it('numberFlag: the three constraints keep their messages', () => {
    expect(numberFlag(undefined, '--retries')).toBeUndefined();
    expect(numberFlag('0.5', '--lock-wait')).toBe(0.5);
    expect(numberFlag('0', '--sample-users', { integer: true })).toBe(0);
    expect(numberFlag('500', '--batch-size', { integer: true, min: 1 })).toBe(500);
    expect(() => numberFlag('-1', '--retries')).toThrow(
      "input '--retries': expected a number >= 0, got '-1'",
    );
    expect(() => numberFlag('1.5', '--sample-users', { integer: true })).toThrow(
      "input '--sample-users': expected a whole number, got '1.5'",
    );
    expect(() => numberFlag('0', '--batch-size', { integer: true, min: 1 })).toThrow(
      "input '--batch-size': expected a positive integer, got '0'",
    );
    expect(() => numberFlag('ten', '--batch-size', { integer: true, min: 1 })).toThrow(ConfigError);
  });

  it('listFlag: repeated and comma-separated values, trimmed, blanks dropped', () => {
    expect(listFlag(undefined)).toEqual([]);
    expect(listFlag('a, b,,c ')).toEqual(['a', 'b', 'c']);
    expect(listFlag(['tn-1,tn-2', ' tn-3', ''])).toEqual(['tn-1', 'tn-2', 'tn-3']);
  });

  it('envSecretsFlag reads values from the environment and never echoes NAME=VALUE', () => {
    const env = { API_TOKEN: 'tok-1', EMPTY: '' };
    expect(envSecretsFlag(undefined, '--secret', env)).toEqual({});
    expect(envSecretsFlag(['API_TOKEN'], '--secret', env)).toEqual({ API_TOKEN: 'tok-1' });
    expect(() => envSecretsFlag(['EMPTY'], '--secret', env)).toThrow(
      "input '--secret': environment variable EMPTY is not set",
    );
    let err: unknown;
    try {
      envSecretsFlag(['API_TOKEN=hunter2-secret'], '--smoke-secret', env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^input '--smoke-secret': .*environment variable/);
    expect((err as Error).message).not.toContain('hunter2-secret');
  });

  it('requiredFlag and oneOfFlag name the flag', () => {
    expect(requiredFlag('x.yml', '--spec')).toBe('x.yml');
    expect(() => requiredFlag('', '--spec')).toThrow("input '--spec': is required");
    expect(oneOfFlag('b', ['a', 'b'] as const, '--mode')).toBe('b');
    expect(() => oneOfFlag('c', ['a', 'b'], '--mode')).toThrow(
      new ConfigError('expected one of a, b', undefined, '--mode'),
    );
    expect(() => oneOfFlag(undefined, ['a', 'b'], 'operation', 'usage: x')).toThrow(
      "input 'operation': expected one of a, b\nusage: x",
    );
  });

  it('readFileFlag reads the file or says which flag names an unreadable one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'args-')), 'ca.pem');
    writeFileSync(file, 'PEM');
    expect(readFileFlag(file, '--ca-cert', 'CA certificate')).toBe('PEM');
    expect(readFileFlag(undefined, '--ca-cert')).toBeUndefined();
    expect(() => readFileFlag(`${file}.missing`, '--ca-cert', 'CA certificate')).toThrow(
      /^input '--ca-cert': cannot read CA certificate: ENOENT/,
    );
  });
});

describe('rollout commands shared by the CLI and the action', () => {
  it('lists the commands and builds the default change-cause', () => {
    expect(ROLLOUT_COMMANDS).toContain('set-image');
    expect(setImageChangeCause({ api: 'app:2' }, 'ana', 'runbook cli')).toBe(
      'set image api=app:2 by ana (runbook cli)',
    );
    expect(setImageChangeCause({ api: 'app:2', worker: 'w:2' }, 'ana', undefined)).toBe(
      'set image api=app:2, worker=w:2 by ana',
    );
  });
});

describe('runbook <command> with an unknown flag', () => {
  it.each(['migrate', 'backfill', 'gate', 'flag', 'rollout', 'smoke', 'rehearse'])(
    '%s exits 2 and prints the usage',
    async (name) => {
      const errors: string[] = [];
      const spy = jest.spyOn(console, 'error').mockImplementation((m: unknown) => {
        errors.push(String(m));
      });
      try {
        expect(await main([name, '--no-such-flag'])).toBe(2);
      } finally {
        spy.mockRestore();
      }
      expect(errors.join('\n')).toMatch(
        new RegExp(`^runbook ${name}: Unknown option '--no-such-flag'[^]*\\n\\n(usage: )?runbook`),
      );
    },
  );
});
