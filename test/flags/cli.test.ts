import { jest } from '@jest/globals';
import { recordingLogger } from '../../src/errors.js';
import { command } from '../../src/flags/cli.js';
import { loadPlan } from '../../src/flags/index.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { plan } from './conformance.js';

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
