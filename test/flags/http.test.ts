import { silentLogger } from '../../src/errors.js';
import {
  BackendError,
  createBackend,
  flagFailureSummary,
  restoreFlag,
  runFlagRollout,
  toggleFlag,
} from '../../src/flags/index.js';
import { startAdminFake, type AdminFake } from '../support/flags-admin-fake.js';
import { conformance, FLAG, plan, who } from './conformance.js';

const ENV = 'prod-eu-west-1';
let fake: AdminFake;
beforeAll(async () => (fake = await startAdminFake()));
afterAll(async () => fake.close());

const options = () => ({
  backend: 'http' as const,
  baseUrl: fake.url,
  token: fake.token,
  environment: ENV,
  retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
});

describe('http backend against the seed-style admin API fake', () => {
  conformance(() => ({
    options,
    token: fake.token,
    createFlag: async () => fake.createFlag(FLAG, ENV),
    ignoreWrites: (on) => (fake.ignoreWrites = on),
    failNext: (s, n, h, w) => fake.failNext(s, n, h, w),
  }));
});

describe('http backend requests', () => {
  beforeEach(() => {
    fake.createFlag(FLAG, ENV);
    fake.requests.length = 0;
  });

  it('sends one PUT per tenant with the bearer token, TARGET_ENV, the audit comment and If-Match', async () => {
    await toggleFlag(
      { ...options(), runInfo: who, operation: 'enable', plan, reason: 'canary' },
      silentLogger,
    );
    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.path)).toEqual([
      `/v1/admin/flags/${FLAG}/tenants/tn-4582?env=${ENV}`,
      `/v1/admin/flags/${FLAG}/tenants/tn-9014?env=${ENV}`,
    ]);
    expect(puts.map((r) => r.headers['if-match'])).toEqual(['"v1"', '"v2"']);
    expect(puts[0].headers.authorization).toBe(`Bearer ${fake.token}`);
    expect(puts[0].body).toEqual({
      enabled: true,
      comment: expect.stringMatching(
        /enable BILLING_ENFORCEMENT .* by release-bot; run https:\/\/github.com\/acme\/api\/actions\/runs\/42; reason: canary/,
      ),
    });
  });

  it('a concurrent change between read and write gives 412 and a clear error', async () => {
    // the flag changes after our read: the If-Match tag no longer matches
    const backend = await createBackend('http', options(), silentLogger);
    const read = await backend.read(FLAG);
    // another client changes the flag after our read
    await fetch(`${fake.url}/v1/admin/flags/${FLAG}?env=${ENV}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${fake.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ enabled: false }),
    });
    const err = await backend
      .write({
        flag: FLAG,
        from: read,
        to: { global: 'off', tenants: ['tn-4582'] },
        comment: 'c',
        operation: 'enable',
        actor: 'me',
      })
      .catch((e) => e);
    expect(err.status).toBe(412);
    expect(err.message).toMatch(/changed concurrently/);
  });

  it('retries a 503 with backoff', async () => {
    fake.failNext(503, 2);
    const r = await toggleFlag(
      { ...options(), runInfo: who, operation: 'status', flag: FLAG },
      silentLogger,
    );
    expect(r.state.global).toBe('off');
  });

  it('takes request templates from the http-api option', async () => {
    const err = await toggleFlag(
      {
        ...options(),
        http: { read: { method: 'GET', path: '/v2/flags/{flag}' } },
        operation: 'status',
        flag: FLAG,
      },
      silentLogger,
    ).catch((e) => e);
    expect(err.message).toBe(
      'flag admin API GET /v2/flags/BILLING_ENFORCEMENT: rejected (400): env query parameter is required',
    );
    const shape = await toggleFlag(
      { ...options(), http: { globalPath: 'data.enabled' }, operation: 'status', flag: FLAG },
      silentLogger,
    ).catch((e) => e);
    expect(shape.message).toMatch(/read response has no boolean 'data.enabled'/);
  });
});

describe('http backend percentage rollouts and half-applied writes', () => {
  beforeEach(() => {
    fake.createFlag(FLAG, ENV);
    fake.requests.length = 0;
  });

  it('steps a rollout through the percentage request and restores it on a failed gate', async () => {
    const r = await runFlagRollout(
      {
        ...options(),
        runInfo: who,
        flag: FLAG,
        steps: [{ percent: 1 }, { percent: 5 }, { percent: 25 }, { percent: 100 }],
        gate: async (s) => (s.percent === 25 ? 'fail' : 'pass'),
      },
      silentLogger,
    );
    expect(r.outcome).toBe('rolled-back');
    expect(
      fake.requests.filter((q) => q.method === 'PUT').map((q) => [q.path.split('?')[0], q.body]),
    ).toEqual([
      [`/v1/admin/flags/${FLAG}/rollout`, { percentage: 1, comment: expect.any(String) }],
      [`/v1/admin/flags/${FLAG}/rollout`, { percentage: 5, comment: expect.any(String) }],
      [`/v1/admin/flags/${FLAG}/rollout`, { percentage: 25, comment: expect.any(String) }],
      [
        `/v1/admin/flags/${FLAG}/rollout`,
        { percentage: 0, comment: expect.stringMatching(/restore/) },
      ],
    ]);
    expect(fake.state(FLAG, ENV)).toEqual({ global: false, tenants: [], percentage: 0 });
  });

  it('an admin API without a percentage field refuses a rollout before sending anything', async () => {
    const plain = await startAdminFake('vk-plain-token-1', { percentage: false });
    try {
      plain.createFlag(FLAG, ENV);
      const e = await toggleFlag(
        {
          ...options(),
          baseUrl: plain.url,
          token: plain.token,
          operation: 'enable',
          flag: FLAG,
          percentage: 5,
        },
        silentLogger,
      ).catch((x) => x);
      expect((e as Error).message).toMatch(/has no 'percentage' field.*Nothing was written/);
      expect(plain.requests.filter((q) => q.method !== 'GET')).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it('a write that fails after the first tenant reports the part applied, with the previous state', async () => {
    fake.failWritesAfter(1);
    const e = await toggleFlag(
      { ...options(), runInfo: who, operation: 'enable', plan },
      silentLogger,
    ).catch((x) => x);
    expect(e).toBeInstanceOf(BackendError);
    const be = e as BackendError;
    expect(be.applied).toBe('partial');
    expect(be.previous).toMatchObject({ global: 'off', tenants: [] });
    expect(be.current).toMatchObject({ global: 'off', tenants: ['tn-4582'] });
    const md = flagFailureSummary('enable', be)!;
    expect(md).toContain('Feature flag BILLING_ENFORCEMENT: enable failed');
    expect(md).toMatch(/\| tenants +\| \(none\) +\| tn-4582 +\|/);
    expect(md).toContain('applied in part');
    expect(md).toContain(`runbook flag restore ${FLAG} --backend http --restore-state`);
    expect(md).not.toContain(fake.token);
    // the restore the summary names puts the flag back
    await restoreFlag({ ...options(), runInfo: who, restoreState: be.previous! }, silentLogger);
    expect(fake.state(FLAG, ENV)).toMatchObject({ global: false, tenants: [] });
  });
});
