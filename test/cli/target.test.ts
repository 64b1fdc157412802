/**
 * What the CLI says before it writes, and when it asks first (src/cli/target.ts), including
 * `runbook rehearse` with an exported DATABASE_URL and with --database-url in CI.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { confirmTarget, describeDatabase, describeWriteTarget } from '../../src/cli/target.js';
import { ConfigError } from '../../src/errors.js';

describe('describeDatabase', () => {
  it('names host, port, database and user, never the password', () => {
    const d = describeDatabase('postgres://app:p%40ss@db.internal:6432/billing?sslmode=require');
    expect(d).toBe('PostgreSQL db.internal:6432/billing (user app)');
    expect(describeDatabase('postgres://app:s3cret@h/x')).not.toContain('s3cret');
  });
});

describe('describeWriteTarget', () => {
  const env = { DATABASE_URL: 'postgres://u:pw@10.0.0.5:5432/app' };
  it('describes the target of writing subcommands only', () => {
    expect(describeWriteTarget('migrate', ['apply', '--dir', 'm'], env)).toBe(
      'PostgreSQL 10.0.0.5:5432/app (user u)',
    );
    expect(describeWriteTarget('migrate', ['status'], env)).toBeUndefined();
    expect(describeWriteTarget('flag-toggle', ['enable', 'F', '--dry-run'], env)).toBeUndefined();
    expect(
      describeWriteTarget(
        'flag-toggle',
        ['enable', 'F', '--backend', 'unleash', '--base-url', 'https://u:t@flags.example.com/api'],
        env,
      ),
    ).toBe('the unleash flag backend at https://flags.example.com');
    expect(
      describeWriteTarget('rollout', ['set-weight', '--context', 'prod', '-n', 'billing'], {}),
    ).toBe('Kubernetes context prod (kubeconfig ~/.kube/config), namespace billing');
  });
});

describe('confirmTarget', () => {
  const quiet = { say: () => {} };
  it('goes on with --yes without asking', async () => {
    const ask = jest.fn(async () => 'n');
    await confirmTarget({
      action: 'writes to',
      target: 'T',
      yes: true,
      ask,
      env: { CI: 'true' },
      ...quiet,
    });
    expect(ask).not.toHaveBeenCalled();
  });
  it('refuses in CI and without a terminal, before anything is written', async () => {
    await expect(
      confirmTarget({
        action: 'writes to',
        target: 'T',
        yes: false,
        env: { CI: 'true' },
        interactive: true,
        ...quiet,
      }),
    ).rejects.toThrow(/refusing to write to T without confirmation in CI; add --yes/);
    await expect(
      confirmTarget({
        action: 'writes to',
        target: 'T',
        yes: false,
        env: {},
        interactive: false,
        ...quiet,
      }),
    ).rejects.toThrow(ConfigError);
  });
  it('asks a person at a terminal and goes on only on yes', async () => {
    const base = {
      action: 'writes to',
      target: 'T',
      yes: false,
      env: {},
      interactive: true,
      ...quiet,
    };
    await expect(confirmTarget({ ...base, ask: async () => 'y' })).resolves.toBeUndefined();
    await expect(confirmTarget({ ...base, ask: async () => '' })).rejects.toThrow(/not confirmed/);
  });
});

describe('runbook rehearse and the database it writes to', () => {
  it('with --database-url and without --yes in CI, refuses with exit 2 before any write', async () => {
    const { main } = await import('../../src/cli.js');
    const err: string[] = [];
    const error = jest
      .spyOn(console, 'error')
      .mockImplementation((m: unknown) => void err.push(String(m)));
    const saved = process.env.CI;
    process.env.CI = 'true';
    try {
      // Port 1 refuses connections: a write attempt would fail with another message and exit 1.
      const code = await main([
        'rehearse',
        'examples/paket7/release.yml',
        '--database-url',
        'postgres://app:pw@127.0.0.1:1/x',
      ]);
      expect(code).toBe(2);
      expect(err.join('\n')).toMatch(
        /writes migrations, backfilled rows and flags to PostgreSQL 127\.0\.0\.1:1\/x/,
      );
      expect(err.join('\n')).toMatch(
        /refusing to write to PostgreSQL 127\.0\.0\.1:1\/x .* in CI; add --yes/,
      );
      expect(err.join('\n')).not.toContain('pw@');
    } finally {
      error.mockRestore();
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});
