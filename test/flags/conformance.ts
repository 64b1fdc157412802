/**
 * The behaviour every flag backend must show (issue 5, "It must show"), as a reusable suite:
 * enable for two tenants leaves global off; disable and restore put back the previous state
 * exactly; the guard stops a run that would enable globally; verify catches a server that
 * ignores a write; 401, 404, 409 and 429 give clear errors or retries; the token never appears
 * in any output.
 */
import { resolve } from 'node:path';
import { recordingLogger } from '../../src/errors.js';
import {
  BackendError,
  FlagGuardError,
  FlagVerifyError,
  flagFailureSummary,
  restoreFlag,
  toggleFlag,
  type ToggleOptions,
} from '../../src/flags/index.js';

export const plan = resolve(import.meta.dirname, '../../examples/paket7/flags.yml');
export const FLAG = 'BILLING_ENFORCEMENT';
export const who = {
  actor: 'release-bot',
  runUrl: 'https://github.com/acme/api/actions/runs/42',
  via: 'github-actions' as const,
};

/** What a backend's test file provides to the suite. */
export interface Harness {
  /** Backend options pointing at the server, with a fast retry policy. */
  options(): Partial<ToggleOptions>;
  token: string;
  /** Creates `FLAG` (off, no tenants) and returns when it is readable. */
  createFlag(): Promise<void>;
  /** The server answers writes with success but changes nothing. */
  ignoreWrites(on: boolean): void;
  /** The next `times` requests (only writes when `writesOnly`) get `status` with `headers`. */
  failNext(
    status: number,
    times: number,
    headers?: Record<string, string>,
    writesOnly?: boolean,
  ): void;
}

export function conformance(h: () => Harness): void {
  const log = recordingLogger();
  const seen: string[] = [];
  const run = async (o: Partial<ToggleOptions>) => {
    try {
      const r = await toggleFlag({ runInfo: who, ...h().options(), ...o } as ToggleOptions, log);
      seen.push(JSON.stringify(r));
      return r;
    } catch (e) {
      seen.push(String((e as Error).message), String((e as Error).stack));
      throw e;
    }
  };
  const status = async () => (await run({ operation: 'status', flag: FLAG })).state;

  beforeEach(async () => {
    await h().createFlag();
  });

  it('enable for the two canary tenants leaves global off', async () => {
    const r = await run({ operation: 'enable', plan, reason: 'Paket 7 canary' });
    expect(r.previousState).toMatchObject({ flag: FLAG, global: 'off', tenants: [] });
    expect(r.state).toMatchObject({ flag: FLAG, global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    expect(r.changed).toBe(true);
    expect(await status()).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    const again = await run({ operation: 'enable', plan });
    expect(again.changed).toBe(false);
  });

  it('disable and restore put back the previous state exactly', async () => {
    await run({ operation: 'enable', flag: FLAG, tenants: ['tn-0001'] });
    const before = await status();
    const enabled = await run({ operation: 'enable', plan });
    expect(enabled.previousState).toMatchObject({ global: before.global, tenants: before.tenants });
    const disabled = await run({ operation: 'disable', plan });
    expect(disabled.state).toMatchObject({ global: before.global, tenants: before.tenants });
    await run({ operation: 'enable', plan });
    const restored = await restoreFlag(
      {
        runInfo: who,
        ...h().options(),
        flag: FLAG,
        restoreState: JSON.stringify(enabled.previousState),
      } as never,
      log,
    );
    expect(restored.state).toMatchObject({ global: before.global, tenants: before.tenants });
    // from nothing and back to nothing
    await run({ operation: 'disable', flag: FLAG, tenants: ['tn-0001'] });
    const empty = await status();
    const on = await run({ operation: 'enable', plan });
    await restoreFlag(
      { runInfo: who, ...h().options(), flag: FLAG, restoreState: on.previousState } as never,
      log,
    );
    expect(await status()).toMatchObject({ global: empty.global, tenants: empty.tenants });
  });

  it('the guard stops a run that would enable globally, and nothing is written', async () => {
    await run({ operation: 'enable', plan });
    const err = await run({
      operation: 'enable',
      flag: FLAG,
      scope: 'global',
      guard: { globalMustBe: 'off' },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(FlagGuardError);
    expect(err.message).toMatch(/global-must-be: off violated by this enable/);
    expect(await status()).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    // without a guard, global on is possible, and a guard then refuses tenant changes
    const on = await run({ operation: 'enable', flag: FLAG, scope: 'global' });
    expect(on.state.global).toBe('on');
    await expect(run({ operation: 'disable', plan })).rejects.toThrow(
      /violated before the write: global is on/,
    );
    await run({ operation: 'disable', flag: FLAG, scope: 'global' });
    expect(await status()).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
  });

  it('verify after write catches a server that silently ignores the write', async () => {
    h().ignoreWrites(true);
    try {
      const err = await run({ operation: 'enable', plan }).catch((e) => e);
      expect(err).toBeInstanceOf(FlagVerifyError);
      expect(err.rolledBack).toBe(false);
      expect(err.previous).toMatchObject({ global: 'off', tenants: [] });
      expect(err.message).toMatch(
        /verify after write failed.*read back global off and tenants \[\]/,
      );
      const md = flagFailureSummary('enable', err)!;
      expect(md).toContain(`## Feature flag ${FLAG}: enable not verified`);
      expect(md).toContain('| tenants | (none) | tn-4582, tn-9014 | (none) |');
      expect(md).toContain('run `restore` with it to roll back');
    } finally {
      h().ignoreWrites(false);
    }
  });

  it('401: a rejected token gives a clear error', async () => {
    const err = await run({
      operation: 'status',
      flag: FLAG,
      token: 'wrong-token-value-1234',
    }).catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/token was rejected \(401 Unauthorized\)/);
    expect(err.message).not.toContain('wrong-token-value-1234');
  });

  it('404: a missing flag is named', async () => {
    const err = await run({
      operation: 'enable',
      flag: 'NO_SUCH_FLAG',
      tenants: ['tn-4582'],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.status).toBe(404);
    expect(err.message).toMatch(/NO_SUCH_FLAG.*not found \(404\)/);
  });

  it('409: a conflicting write is reported, not retried, and changes nothing', async () => {
    const r0 = await status();
    h().failNext(409, 1, {}, true);
    const err = await run({ operation: 'enable', plan }).catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/conflict \(409\)/);
    expect(await status()).toMatchObject({ global: r0.global, tenants: r0.tenants });
  });

  it('429: waits as the server asks and retries; gives up after the attempt limit', async () => {
    h().failNext(429, 2, { 'Retry-After': '0', 'X-Ratelimit-Reset': String(Date.now() + 20) });
    const r = await run({ operation: 'enable', plan });
    expect(r.state.tenants).toEqual(['tn-4582', 'tn-9014']);
    expect(
      log.lines.filter((l) => /rate limited \(429\); retrying in \d+ ms/.test(l)).length,
    ).toBeGreaterThanOrEqual(2);
    h().failNext(429, 3, { 'Retry-After': '0' });
    const err = await run({ operation: 'status', flag: FLAG }).catch((e) => e);
    expect(err.message).toMatch(/rate limited \(429\) after 3 attempts/);
  });

  it('the token is absent from every log line, result and error', () => {
    const all = [...log.lines, ...seen].join('\n');
    expect(all.length).toBeGreaterThan(1000);
    expect(all).not.toContain(h().token);
  });
}
