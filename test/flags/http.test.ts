import { silentLogger } from '../../src/errors.js';
import { createBackend, toggleFlag } from '../../src/flags/index.js';
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
