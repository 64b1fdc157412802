import { recordingLogger, silentLogger } from '../../src/errors.js';
import { restoreFlag, toggleFlag } from '../../src/flags/index.js';
import {
  startLaunchDarklyFake,
  type LaunchDarklyFake,
} from '../support/flags-launchdarkly-fake.js';
import { conformance, FLAG, plan, who } from './conformance.js';

const PROJECT = 'video-kit';
const ENV = 'production';
let fake: LaunchDarklyFake;
beforeAll(async () => (fake = await startLaunchDarklyFake()));
afterAll(async () => fake.close());

const options = () => ({
  backend: 'launchdarkly' as const,
  baseUrl: fake.url,
  token: fake.token,
  environment: ENV,
  project: PROJECT,
  retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
});

describe('launchdarkly backend against the LaunchDarkly v2 fake', () => {
  conformance(() => ({
    options,
    token: fake.token,
    createFlag: async () => void fake.createFlag(PROJECT, FLAG, ['staging', ENV]),
    ignoreWrites: (on) => (fake.ignoreWrites = on),
    failNext: (s, n, h, w) => fake.failNext(s, n, h, w),
  }));
});

describe('launchdarkly semantic patches', () => {
  beforeEach(() => {
    fake.createFlag(PROJECT, FLAG, ['staging', ENV]);
    fake.patches.length = 0;
    fake.requests.length = 0;
  });

  it('enables tenants with one semantic patch: addTargets for the context kind, then turnFlagOn', async () => {
    await toggleFlag(
      { ...options(), runInfo: who, operation: 'enable', plan, reason: 'canary' },
      silentLogger,
    );
    expect(fake.patches).toHaveLength(1);
    const [p] = fake.patches;
    expect(p.contentType).toBe('application/json; domain-model=launchdarkly.semanticpatch');
    const trueId = fake.flag(PROJECT, FLAG)!.variations.find((v) => v.value === true)!._id;
    expect(p.body.environmentKey).toBe(ENV);
    expect(p.body.comment).toMatch(
      /by release-bot; run https:\/\/github.com\/acme\/api\/actions\/runs\/42; reason: canary/,
    );
    expect(p.body.instructions).toEqual([
      {
        kind: 'addTargets',
        contextKind: 'tenant',
        values: ['tn-4582', 'tn-9014'],
        variationId: trueId,
      },
      { kind: 'turnFlagOn' },
    ]);
    const env = fake.flag(PROJECT, FLAG)!.environments;
    expect(env[ENV]).toMatchObject({ on: true, fallthrough: { variation: 1 } });
    expect(env.staging.on).toBe(false);
    expect(fake.requests.every((r) => r.authorization === fake.token)).toBe(true);
  });

  it('reads a flag whose default rule serves true as global on, and refuses with global-must-be off', async () => {
    const env = fake.flag(PROJECT, FLAG)!.environments[ENV];
    env.on = true;
    env.fallthrough = { variation: 0 };
    const err = await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger).catch(
      (e) => e,
    );
    expect(err.message).toMatch(
      /violated before the write: global is on \(launchdarkly: the flag is on/,
    );
    expect(fake.patches).toHaveLength(0);
  });

  it('turning global off while tenants stay on sets the fallthrough to false and keeps the flag on', async () => {
    await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger);
    await toggleFlag(
      { ...options(), operation: 'enable', flag: FLAG, scope: 'global' },
      silentLogger,
    );
    expect(fake.flag(PROJECT, FLAG)!.environments[ENV].fallthrough).toEqual({ variation: 0 });
    const off = await toggleFlag(
      { ...options(), operation: 'disable', flag: FLAG, scope: 'global' },
      silentLogger,
    );
    expect(off.state).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    const falseId = fake.flag(PROJECT, FLAG)!.variations.find((v) => v.value === false)!._id;
    expect(fake.patches.at(-1)!.body.instructions).toEqual([
      { kind: 'updateFallthroughVariationOrRollout', variationId: falseId },
    ]);
  });

  it('disabling the last tenants removes the targets and turns the flag off', async () => {
    await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger);
    const r = await toggleFlag({ ...options(), operation: 'disable', plan }, silentLogger);
    expect(r.state).toMatchObject({
      global: 'off',
      tenants: [],
      backendDetail: { on: false, targeted: [] },
    });
    expect(fake.patches.at(-1)!.body.instructions.map((i) => i.kind)).toEqual([
      'removeTargets',
      'turnFlagOff',
    ]);
  });

  it('restore turns a flag back on that was on serving false, even though global and tenants match', async () => {
    const env = fake.flag(PROJECT, FLAG)!.environments[ENV];
    env.on = true; // on, default rule false, nobody targeted: global off, tenants []
    const enabled = await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger);
    await toggleFlag({ ...options(), operation: 'disable', plan }, silentLogger);
    expect(fake.flag(PROJECT, FLAG)!.environments[ENV].on).toBe(false);
    const restored = await restoreFlag(
      { ...options(), runInfo: who, restoreState: JSON.stringify(enabled.previousState) },
      silentLogger,
    );
    expect(restored.changed).toBe(true);
    expect(restored.actions).toEqual(['turn the flag on in the environment']);
    expect(fake.flag(PROJECT, FLAG)!.environments[ENV]).toMatchObject({
      on: true,
      fallthrough: { variation: 1 },
    });
    expect(restored.state).toMatchObject({ global: 'off', tenants: [] });
    const again = await restoreFlag(
      { ...options(), runInfo: who, restoreState: enabled.previousState },
      silentLogger,
    );
    expect(again.changed).toBe(false);
  });

  it('restore puts back a dormant percentage rollout on the default rule and the off variation', async () => {
    const ld = fake.flag(PROJECT, FLAG)!;
    const env = ld.environments[ENV];
    const rollout = {
      variations: [
        { variation: 0, weight: 30000 },
        { variation: 1, weight: 70000 },
      ],
    };
    env.fallthrough = { rollout }; // off: nobody gets it yet, but turning it on would serve 30%
    const enabled = await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger);
    expect(enabled.state).toMatchObject({ global: 'off', tenants: ['tn-4582', 'tn-9014'] });
    expect(fake.flag(PROJECT, FLAG)!.environments[ENV].fallthrough).toEqual({ variation: 1 });
    const restored = await restoreFlag(
      { ...options(), runInfo: who, restoreState: enabled.previousState },
      silentLogger,
    );
    expect(restored.state).toMatchObject({ global: 'off', tenants: [] });
    const after = fake.flag(PROJECT, FLAG)!.environments[ENV];
    expect(after.on).toBe(false);
    expect(after.fallthrough).toEqual({ rollout });
    expect(after.offVariation).toBe(1);
    const trueId = ld.variations[0]._id;
    const falseId = ld.variations[1]._id;
    expect(fake.patches.at(-1)!.body.instructions).toEqual([
      {
        kind: 'removeTargets',
        contextKind: 'tenant',
        values: ['tn-4582', 'tn-9014'],
        variationId: trueId,
      },
      {
        kind: 'updateFallthroughVariationOrRollout',
        rolloutWeights: { [trueId]: 30000, [falseId]: 70000 },
      },
      { kind: 'turnFlagOff' },
    ]);
  });

  it('refuses under global-must-be off to turn on a flag whose dormant rules serve true; warns without the guard', async () => {
    fake.flag(PROJECT, FLAG)!.environments[ENV].rules = [
      {
        _id: 'r-staff',
        clauses: [{ attribute: 'email', op: 'endsWith', values: ['@acme.com'] }],
        variation: 0,
      },
    ];
    const err = await toggleFlag({ ...options(), operation: 'enable', plan }, silentLogger).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(
      /refused under guard global-must-be: off: turning BILLING_ENFORCEMENT on in production also activates 1 targeting rule \(r-staff\) that serve true .*nothing was written/,
    );
    expect(fake.patches).toHaveLength(0);

    const log = recordingLogger();
    const r = await toggleFlag(
      { ...options(), operation: 'enable', flag: FLAG, tenants: ['tn-4582'] },
      log,
    );
    expect(r.changed).toBe(true);
    expect(log.lines).toContainEqual(
      expect.stringMatching(/^warning: LaunchDarkly: turning BILLING_ENFORCEMENT on .*\(r-staff\)/),
    );
  });

  it('uses `targets` for context kind user', async () => {
    await toggleFlag(
      { ...options(), contextKind: 'user', operation: 'enable', flag: FLAG, tenants: ['u-1'] },
      silentLogger,
    );
    expect(fake.flag(PROJECT, FLAG)!.environments[ENV].targets).toEqual([
      { values: ['u-1'], variation: 0 },
    ]);
  });

  it('requires project and environment', async () => {
    await expect(
      toggleFlag({ ...options(), project: '', operation: 'status', flag: FLAG }, silentLogger),
    ).rejects.toThrow(/input 'project': is required for backend launchdarkly/);
  });
});
