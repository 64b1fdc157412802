import { jest } from '@jest/globals';
import { recordingLogger } from '../../src/errors.js';
import { command } from '../../src/flags/cli.js';
import { loadPlan } from '../../src/flags/index.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { plan } from './conformance.js';

/** Runs `fn` with console.log captured into `out` (the CLI prints --json documents there). */
async function stdoutOf<T>(out: string[], fn: () => Promise<T>): Promise<T> {
  const spy = jest
    .spyOn(console, 'log')
    .mockImplementation((m: unknown) => void out.push(String(m)));
  try {
    return await fn();
  } finally {
    spy.mockRestore();
  }
}

describe('runbook flag', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await freshDatabase('flags_cli')));
  afterAll(async () => db.dispose());

  it('enables from the plan, prints JSON status, and exits 1 on a guard violation', async () => {
    const log = recordingLogger();
    const url = ['--database-url', db.url];
    expect(await command.run(['enable', '--plan', plan, ...url], log)).toBe(0);
    const stdout: string[] = [];
    const spy = jest
      .spyOn(console, 'log')
      .mockImplementation((m: unknown) => void stdout.push(String(m)));
    try {
      expect(await command.run(['status', 'BILLING_ENFORCEMENT', '--json', ...url], log)).toBe(0);
    } finally {
      spy.mockRestore();
    }
    // The JSON document alone on stdout, so `| jq` works.
    expect(stdout).toHaveLength(1);
    const json = JSON.parse(stdout[0]);
    expect(json.state).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    expect(
      await command.run(
        ['enable', 'BILLING_ENFORCEMENT', '--scope', 'global', '--global-must-be', 'off', ...url],
        log,
      ),
    ).toBe(1);
    expect(log.lines.at(-1)).toMatch(/^error: guard global-must-be: off violated/);
    expect(
      await command.run(
        ['disable', 'BILLING_ENFORCEMENT', '--tenant', 'tn-4582,tn-9014', ...url],
        log,
      ),
    ).toBe(0);
  });

  it('rollout: steps 1% → 5% → 25% → 100% judged by a gate command, and rolls back at a failing step', async () => {
    const url = ['--database-url', db.url];
    const log = recordingLogger();
    const out: string[] = [];
    const seen = `printf '%s %s %s\\n' "$RUNBOOK_FLAG_STEP" "$RUNBOOK_FLAG_PERCENT" "$RUNBOOK_FLAG_STEP_DURATION"`;
    const failAt5 = `${seen}; if [ "$RUNBOOK_FLAG_PERCENT" = 5 ]; then echo 'error rate 2.4% > 1%'; exit 1; fi`;
    const code = await stdoutOf(out, () =>
      command.run(
        [
          'rollout',
          'CLI_ROLLOUT',
          '--steps',
          '1:30m,5:1h,25,100',
          '--gate-command',
          failAt5,
          '--json',
          ...url,
        ],
        log,
      ),
    );
    expect(code).toBe(1);
    expect(out).toHaveLength(1);
    const json = JSON.parse(out[0]);
    expect(json.outcome).toBe('rolled-back');
    expect(
      json.steps.map((s: { percent: number; verdict: string }) => [s.percent, s.verdict]),
    ).toEqual([
      [1, 'pass'],
      [5, 'fail'],
    ]);
    expect(json.steps[1].reason).toBe('gate command exited 1: error rate 2.4% > 1%');
    expect(log.lines).toContain('  gate: 1 1 30m');
    expect(log.lines).toContain('  gate: 2 5 1h');
    expect(log.lines.at(-1)).toMatch(/^error: flag rollout CLI_ROLLOUT rolled back: step 2 \(5%\)/);
    out.length = 0;
    expect(
      await stdoutOf(out, () => command.run(['status', 'CLI_ROLLOUT', '--json', ...url], log)),
    ).toBe(0);
    expect(JSON.parse(out[0]).state).toMatchObject({
      global: 'off',
      percentage: 0,
    });
    const ok = recordingLogger();
    expect(
      await command.run(
        ['rollout', 'CLI_ROLLOUT', '--steps', '1,5,25,100', '--gate-command', 'exit 0', ...url],
        ok,
      ),
    ).toBe(0);
    expect(ok.lines.join('\n')).toContain('Flag rollout CLI_ROLLOUT: completed');
    await expect(
      command.run(
        ['rollout', 'CLI_ROLLOUT', '--steps', '5,1', '--gate-command', 'true', ...url],
        ok,
      ),
    ).rejects.toThrow(/below the previous step/);
  });

  it('refuses the status of a flag the backend does not know (a mistyped name) as a usage error', async () => {
    await expect(
      command.run(['status', 'NOPE', '--json', '--database-url', db.url], recordingLogger()),
    ).rejects.toThrow(/flag 'NOPE' does not exist on the postgres backend/);
  });

  it('rejects an unknown operation as a usage error', async () => {
    await expect(command.run(['toggle', 'X'], recordingLogger())).rejects.toThrow(
      /expected one of enable, disable, status, restore/,
    );
  });
});

describe('flag plan', () => {
  it('reads the Paket 7 plan: flag, canary tenants with names, guard off', () => {
    const p = loadPlan(plan);
    expect(p).toMatchObject({
      flag: 'BILLING_ENFORCEMENT',
      tenants: ['tn-4582', 'tn-9014'],
      tenantNames: { 'tn-4582': 'Acme Studio EU Sandbox', 'tn-9014': 'Lumiere Testbed' },
      globalMustBe: 'off',
      environment: 'prod-eu-west-1',
    });
  });
});
