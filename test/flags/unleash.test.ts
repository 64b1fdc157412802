/**
 * The unleash backend against a REAL unleash-server (npm `unleash-server`) on the run's
 * PostgreSQL, behind a fault-injecting proxy for the 409/429/ignored-write cases.
 */
import { recordingLogger, silentLogger } from '../../src/errors.js';
import { restoreFlag, runFlagRollout, toggleFlag } from '../../src/flags/index.js';
import {
  startFaultProxy,
  startUnleash,
  type FaultProxy,
  type UnleashServer,
} from '../support/flags-unleash.js';
import { conformance, FLAG, plan, who } from './conformance.js';

const ENV = 'production';
let unleash: UnleashServer;
let proxy: FaultProxy;

beforeAll(async () => {
  unleash = await startUnleash();
  proxy = await startFaultProxy(unleash.url);
}, 120_000);
afterAll(async () => {
  await proxy?.close();
  await unleash?.stop();
});

const admin = (path: string, method = 'GET', body?: unknown) =>
  fetch(`${unleash.url}${path}`, {
    method,
    headers: { Authorization: unleash.token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Deletes FLAG (archive, then delete from the archive) and creates it fresh. */
async function recreate(): Promise<void> {
  const exists = await admin(`/api/admin/projects/default/features/${FLAG}`);
  if (exists.status === 200) {
    await admin(`/api/admin/projects/default/features/${FLAG}`, 'DELETE');
    await admin(`/api/admin/archive/${FLAG}`, 'DELETE');
  }
  const r = await admin('/api/admin/projects/default/features', 'POST', {
    name: FLAG,
    type: 'release',
  });
  if (r.status !== 201) throw new Error(`cannot create ${FLAG}: ${r.status} ${await r.text()}`);
}

const options = () => ({
  backend: 'unleash' as const,
  baseUrl: proxy.url,
  token: unleash.token,
  environment: ENV,
  retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
});

describe('unleash backend against a real unleash-server', () => {
  conformance(() => ({
    options,
    token: unleash.token,
    createFlag: recreate,
    ignoreWrites: (on) => (proxy.ignoreWrites = on),
    failNext: (s, n, h, w) => proxy.failNext(s, n, h, w),
  }));
});

describe('unleash strategies', () => {
  beforeEach(async () => {
    await recreate();
    proxy.forwarded.length = 0;
  });

  it('creates the tenantId IN strategy before switching the environment on', async () => {
    await toggleFlag(
      { ...options(), runInfo: who, operation: 'enable', plan, reason: 'canary' },
      silentLogger,
    );
    const writes = proxy.forwarded.filter((l) => !l.startsWith('GET'));
    // then verify by evaluation: the Playground for a canary tenant and an untargeted context
    expect(writes.slice(2)).toEqual(['POST /api/admin/playground', 'POST /api/admin/playground']);
    expect(writes.slice(0, 2)).toEqual([
      `POST /api/admin/projects/default/features/${FLAG}/environments/${ENV}/strategies`,
      `POST /api/admin/projects/default/features/${FLAG}/environments/${ENV}/on`,
    ]);
    const feature = (await (
      await admin(`/api/admin/projects/default/features/${FLAG}`)
    ).json()) as {
      environments: { name: string; enabled: boolean; strategies: { title: string }[] }[];
    };
    const env = feature.environments.find((e) => e.name === ENV)!;
    expect(env.enabled).toBe(true);
    expect(env.strategies).toHaveLength(1);
    expect(env.strategies[0]).toMatchObject({
      name: 'flexibleRollout',
      parameters: { rollout: '100' },
      constraints: [
        {
          contextName: 'tenantId',
          operator: 'IN',
          values: ['tn-4582', 'tn-9014'],
          inverted: false,
        },
      ],
    });
    expect(env.strategies[0].title).toMatch(
      /by release-bot; run https:\/\/github.com\/acme\/api\/actions\/runs\/42; reason: canary/,
    );
    // the other environment is untouched
    expect(feature.environments.find((e) => e.name === 'development')!.enabled).toBe(false);
  });

  it('reads an environment enabled with the default strategy as global on, and the guard refuses', async () => {
    await admin(`/api/admin/projects/default/features/${FLAG}/environments/${ENV}/on`, 'POST');
    const st = await toggleFlag({ ...options(), operation: 'status', flag: FLAG }, silentLogger);
    expect(st.state.global).toBe('on');
    await expect(
      toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger),
    ).rejects.toThrow(/violated before the write: global is on \(unleash/);
  });

  it('disabling the last tenants switches the environment off before deleting the strategy', async () => {
    await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger);
    proxy.forwarded.length = 0;
    await toggleFlag({ ...options(), operation: 'disable', plan }, silentLogger);
    const writes = proxy.forwarded
      .filter((l) => !l.startsWith('GET'))
      .map((l) => l.split(' ')[0] + ' ' + l.split('/').pop());
    expect(writes[0]).toBe('POST off');
    expect(writes[1]).toMatch(/^DELETE /);
  });

  it('keeps a dormant strategy without tenantId while tenants are on, and restore re-activates it as it was', async () => {
    const strategiesPath = `/api/admin/projects/default/features/${FLAG}/environments/${ENV}/strategies`;
    const created = await admin(strategiesPath, 'POST', {
      name: 'flexibleRollout',
      title: 'gradual 25%',
      constraints: [],
      parameters: { rollout: '25', stickiness: 'default', groupId: FLAG },
    });
    expect(created.status).toBe(200);
    const dormant = (await created.json()) as { id: string };
    const envNow = async () =>
      (
        (await (await admin(`/api/admin/projects/default/features/${FLAG}`)).json()) as {
          environments: {
            name: string;
            enabled: boolean;
            strategies: {
              id: string;
              title?: string;
              disabled?: boolean;
              parameters: Record<string, string>;
              constraints: unknown[];
            }[];
          }[];
        }
      ).environments.find((e) => e.name === ENV)!;

    const enabled = await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger);
    expect(enabled.previousState).toMatchObject({ global: 'off', tenants: [] });
    expect(enabled.state).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    const during = await envNow();
    expect(during.enabled).toBe(true);
    expect(during.strategies.find((s) => s.id === dormant.id)).toMatchObject({ disabled: true });

    const restored = await restoreFlag(
      { ...options(), runInfo: who, restoreState: JSON.stringify(enabled.previousState) },
      silentLogger,
    );
    expect(restored.state).toMatchObject({ global: 'off', tenants: [] });
    const after = await envNow();
    expect(after.enabled).toBe(false);
    expect(after.strategies).toHaveLength(1);
    expect(after.strategies[0]).toMatchObject({
      id: dormant.id,
      title: 'gradual 25%',
      disabled: false,
      parameters: { rollout: '25' },
      constraints: [],
    });
    const again = await restoreFlag(
      { ...options(), runInfo: who, restoreState: enabled.previousState },
      silentLogger,
    );
    expect(again.changed).toBe(false);
  });

  it('names a missing environment', async () => {
    await expect(
      toggleFlag(
        { ...options(), environment: 'prod-eu', operation: 'status', flag: FLAG },
        silentLogger,
      ),
    ).rejects.toThrow(/has no environment 'prod-eu'.*has: development, production/);
  });
});

describe('unleash percentage rollouts, segments and evaluation', () => {
  const STEPS = [
    { percent: 1, durationMs: 600_000 },
    { percent: 5 },
    { percent: 25 },
    { percent: 100 },
  ];
  const strategiesPath = `/api/admin/projects/default/features/${FLAG}/environments/${ENV}/strategies`;
  type Env = {
    name: string;
    enabled: boolean;
    strategies: {
      id: string;
      name: string;
      title?: string | null;
      disabled?: boolean;
      parameters: Record<string, string>;
      constraints: { contextName: string; values?: string[] }[];
      segments?: number[];
    }[];
  };
  const envNow = async () =>
    (
      (await (await admin(`/api/admin/projects/default/features/${FLAG}`)).json()) as {
        environments: Env[];
      }
    ).environments.find((e) => e.name === ENV)!;
  /** What Unleash itself serves, through its Playground API. */
  const served = async (key: string) => {
    const r = await admin('/api/admin/playground', 'POST', {
      projects: ['default'],
      environment: ENV,
      context: { appName: 'test', userId: key, properties: { tenantId: key } },
    });
    const body = (await r.json()) as { features: { name: string; isEnabled: boolean }[] };
    return body.features.find((f) => f.name === FLAG)!.isEnabled;
  };
  /** The environment with strategy ids and titles, comparable before and after. */
  const shape = (e: Env) => ({
    enabled: e.enabled,
    strategies: e.strategies
      .map((s) => ({
        id: s.id,
        name: s.name,
        disabled: !!s.disabled,
        rollout: s.parameters.rollout,
        constraints: s.constraints,
        segments: s.segments ?? [],
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  });

  beforeEach(async () => {
    await recreate();
    // the canary tenants are on; a region-limited 5% experiment runs alongside
    await toggleFlag({ ...options(), runInfo: who, operation: 'enable', plan }, silentLogger);
    const r = await admin(strategiesPath, 'POST', {
      name: 'flexibleRollout',
      title: 'eu 5%',
      constraints: [{ contextName: 'region', operator: 'IN', values: ['eu'] }],
      parameters: { rollout: '5', stickiness: 'default', groupId: FLAG },
    });
    expect(r.status).toBe(200);
  });

  it('reads a region-limited 5% strategy as global off, so global-must-be: off passes', async () => {
    const st = await toggleFlag({ ...options(), operation: 'status', flag: FLAG }, silentLogger);
    expect(st.state).toMatchObject({
      global: 'off',
      percentage: 0,
      tenants: ['tn-4582', 'tn-9014'],
    });
    const r = await toggleFlag(
      {
        ...options(),
        runInfo: who,
        operation: 'enable',
        flag: FLAG,
        tenants: ['tn-7777'],
        guard: { globalMustBe: 'off' },
      },
      silentLogger,
    );
    expect(r.state.tenants).toEqual(['tn-4582', 'tn-7777', 'tn-9014']);
    const e = await envNow();
    expect(e.strategies.find((s) => s.title === 'eu 5%')).toMatchObject({ disabled: false });
  });

  it('steps 1% → 5% → 25% → 100% on the real server, each verified by the Playground API', async () => {
    const log = recordingLogger();
    const atStep: { percent: number; rollout?: string; outsider: boolean }[] = [];
    const r = await runFlagRollout(
      {
        ...options(),
        runInfo: who,
        flag: FLAG,
        steps: STEPS,
        gate: async (s) => {
          const e = await envNow();
          const ro = e.strategies.find(
            (x) => !x.disabled && x.constraints.length === 0 && !(x.segments ?? []).length,
          );
          atStep.push({
            percent: s.percent,
            rollout: ro?.parameters.rollout,
            outsider: await served('tn-someone-else'),
          });
          return 'pass';
        },
      },
      log,
    );
    expect(r.outcome).toBe('completed');
    expect(atStep.map((s) => [s.percent, s.rollout])).toEqual([
      [1, '1'],
      [5, '5'],
      [25, '25'],
      [100, '100'],
    ]);
    expect(atStep[3].outsider).toBe(true);
    expect(r.finalState).toMatchObject({
      global: 'on',
      percentage: 100,
      tenants: ['tn-4582', 'tn-9014'],
    });
    expect(log.lines.some((l) => /verified by evaluation: tn-4582 → true/.test(l))).toBe(true);
    expect(await served('tn-4582')).toBe(true);
  });

  it('a gate failure at 5% restores the exact previous strategies', async () => {
    const before = shape(await envNow());
    const r = await runFlagRollout(
      {
        ...options(),
        runInfo: who,
        flag: FLAG,
        steps: STEPS,
        gate: async (s) =>
          s.percent === 5 ? { verdict: 'fail', reason: 'p99 latency 2.1 s > 800 ms' } : 'pass',
      },
      silentLogger,
    );
    expect(r.outcome).toBe('rolled-back');
    expect(r.failedStep).toBe(1);
    expect(r.finalState).toMatchObject({
      global: 'off',
      percentage: 0,
      tenants: ['tn-4582', 'tn-9014'],
    });
    expect(shape(await envNow())).toEqual(before);
    expect(await served('tn-4582')).toBe(true);
    expect(await served('tn-someone-else')).toBe(false);
  });

  it('over 250 tenants go through a segment; back under, the segment is removed', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `tn-${1000 + i}`);
    const r = await toggleFlag(
      {
        ...options(),
        runInfo: who,
        operation: 'enable',
        flag: FLAG,
        tenants: many,
        guard: { globalMustBe: 'off' },
      },
      silentLogger,
    );
    expect(r.state.tenants).toHaveLength(302);
    const e = await envNow();
    const seg = e.strategies.filter((s) => (s.segments ?? []).length === 1);
    expect(seg).toHaveLength(1);
    expect(e.strategies.some((s) => s.constraints.some((c) => c.contextName === 'tenantId'))).toBe(
      false,
    );
    expect(await served('tn-1299')).toBe(true);
    expect(await served('tn-4582')).toBe(true);
    const back = await restoreFlag(
      { ...options(), runInfo: who, restoreState: r.previousState },
      silentLogger,
    );
    expect(back.state.tenants).toEqual(['tn-4582', 'tn-9014']);
    const segments = (await (await admin('/api/admin/segments')).json()) as {
      segments: { name: string }[];
    };
    expect(segments.segments.filter((s) => s.name.startsWith(`runbook-${FLAG}-`))).toEqual([]);
    expect(await served('tn-1299')).toBe(false);
  });

  it('refuses a fractional percentage (Unleash rollouts are whole percentages), writing nothing', async () => {
    const before = shape(await envNow());
    const e = await toggleFlag(
      { ...options(), runInfo: who, operation: 'enable', flag: FLAG, percentage: 1.5 },
      silentLogger,
    ).catch((x) => x);
    expect((e as Error).message).toMatch(/whole percentages/);
    expect(shape(await envNow())).toEqual(before);
  });
});
