/**
 * The unleash backend against a REAL unleash-server (npm `unleash-server`) on the run's
 * PostgreSQL, behind a fault-injecting proxy for the 409/429/ignored-write cases.
 */
import { silentLogger } from '../../src/errors.js';
import { restoreFlag, toggleFlag } from '../../src/flags/index.js';
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
    expect(writes).toEqual([
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
