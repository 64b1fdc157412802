import { recordingLogger, silentLogger } from '../../src/errors.js';
import { flagSummary, restoreFlag, runFlagRollout, toggleFlag } from '../../src/flags/index.js';
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

describe('launchdarkly guarded rollouts, approvals, API version and conflicting targets', () => {
  const STEPS = [
    { percent: 1, durationMs: 600_000 },
    { percent: 5 },
    { percent: 25 },
    { percent: 100 },
  ];
  const approvalOptions = () => ({ ...options(), approvalPollMs: 10, approvalTimeoutMs: 5_000 });
  /** A reviewer (another member) approves or declines every pending request as it appears. */
  function reviewer(decide: (n: number) => 'approve' | 'decline' | 'wait') {
    let n = 0;
    const seen = new Set<string>();
    const timer = setInterval(async () => {
      for (const ar of fake.approvals.filter(
        (a) => a.reviewStatus === 'pending' && !seen.has(a._id),
      )) {
        const kind = decide(n);
        if (kind === 'wait') continue;
        seen.add(ar._id);
        n++;
        await fetch(
          `${fake.url}/api/v2/projects/${PROJECT}/flags/${FLAG}/environments/${ENV}/approval-requests/${ar._id}/reviews`,
          {
            method: 'POST',
            headers: { Authorization: fake.reviewerToken, 'Content-Type': 'application/json' },
            body: JSON.stringify({ kind, comment: 'looked at the dashboards' }),
          },
        );
      }
    }, 5);
    return () => clearInterval(timer);
  }
  const env = () => fake.flag(PROJECT, FLAG)!.environments[ENV];

  beforeEach(async () => {
    fake.createFlag(PROJECT, FLAG, ['staging', ENV]);
    fake.requireApprovals.clear();
    fake.approvals.length = 0;
    fake.requests.length = 0;
    await toggleFlag({ ...options(), runInfo: who, operation: 'enable', plan }, silentLogger);
    fake.patches.length = 0;
  });

  it('sends LD-API-Version 20240415 on every request', async () => {
    await toggleFlag({ ...options(), operation: 'status', flag: FLAG }, silentLogger);
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(new Set(fake.requests.map((r) => r.apiVersion))).toEqual(new Set(['20240415']));
  });

  it('steps 1% → 5% → 25% → 100% through approval requests in an approval-required environment', async () => {
    fake.requireApprovals.add(ENV);
    const stop = reviewer(() => 'approve');
    const log = recordingLogger();
    const weights: unknown[] = [];
    try {
      const r = await runFlagRollout(
        {
          ...approvalOptions(),
          runInfo: who,
          flag: FLAG,
          steps: STEPS,
          gate: async () => {
            weights.push(structuredClone(env().fallthrough));
            return 'pass';
          },
        },
        log,
      );
      expect(r.outcome).toBe('completed');
      expect(r.finalState).toMatchObject({
        global: 'on',
        percentage: 100,
        tenants: ['tn-4582', 'tn-9014'],
      });
      expect(r.steps.map((s) => s.toggle?.approval?.outcome)).toEqual([
        'applied',
        'applied',
        'applied',
        'applied',
      ]);
      expect(flagSummary(r.steps[0].toggle!)).toMatch(
        /Approval request \[[0-9a-f]{24}\]\(http:\/\/127\.0\.0\.1:\d+\/projects\/video-kit\/flags\/BILLING_ENFORCEMENT\/approvals\/[0-9a-f]{24}\?env=production\): applied/,
      );
    } finally {
      stop();
    }
    // no PATCH got through; every change was an approval request, applied after review
    expect(fake.patches).toHaveLength(0);
    expect(fake.approvals.map((a) => [a.reviewStatus, a.status])).toEqual(
      Array(4).fill(['approved', 'completed']),
    );
    const trueIdx = 0;
    expect(weights.slice(0, 3)).toEqual(
      [1000, 5000, 25000].map((w) => ({
        rollout: {
          variations: [
            { variation: trueIdx, weight: w },
            { variation: 1, weight: 100000 - w },
          ],
          contextKind: 'tenant',
        },
      })),
    );
    expect(weights[3]).toEqual({ variation: trueIdx });
    expect(fake.approvals[0].instructions).toContainEqual(
      expect.objectContaining({
        kind: 'updateFallthroughVariationOrRollout',
        rolloutContextKind: 'tenant',
      }),
    );
    expect(log.lines.some((l) => /verified by evaluation: tn-4582 → true/.test(l))).toBe(true);
  });

  it('a gate failure at 5% restores the exact previous state, through an approval request too', async () => {
    fake.requireApprovals.add(ENV);
    const before = structuredClone(env());
    const stop = reviewer(() => 'approve');
    try {
      const r = await runFlagRollout(
        {
          ...approvalOptions(),
          runInfo: who,
          flag: FLAG,
          steps: STEPS,
          gate: async (s) => (s.percent === 5 ? 'fail' : 'pass'),
        },
        silentLogger,
      );
      expect(r.outcome).toBe('rolled-back');
      expect(r.failedStep).toBe(1);
    } finally {
      stop();
    }
    const { _version: _a, ...now } = env();
    const { _version: _b, ...was } = before;
    expect(now).toEqual(was);
    expect(fake.approvals).toHaveLength(3); // 1%, 5%, restore
  });

  it('a declined approval request fails the step, writes nothing, and the rollout restores', async () => {
    fake.requireApprovals.add(ENV);
    const before = structuredClone(env());
    const stop = reviewer((n) => (n === 1 ? 'decline' : 'approve'));
    try {
      const r = await runFlagRollout(
        { ...approvalOptions(), runInfo: who, flag: FLAG, steps: STEPS, gate: async () => 'pass' },
        silentLogger,
      );
      expect(r.outcome).toBe('rolled-back');
      expect(r.steps[1].error).toMatch(
        /approval request [0-9a-f]{24} was declined \(http.*approvals/,
      );
    } finally {
      stop();
    }
    expect(env().fallthrough).toEqual(before.fallthrough);
  });

  it('an approval request not reviewed in time fails with its link and leaves the flag as it was', async () => {
    fake.requireApprovals.add(ENV);
    const before = structuredClone(env());
    const e = await toggleFlag(
      {
        ...options(),
        approvalPollMs: 10,
        approvalTimeoutMs: 100,
        runInfo: who,
        operation: 'enable',
        flag: FLAG,
        percentage: 5,
      },
      silentLogger,
    ).catch((x) => x);
    expect((e as Error).message).toMatch(
      /approval request [0-9a-f]{24} was not reviewed within 0 s \(http:.*\/approvals\/.*\); nothing was applied. It stays pending/,
    );
    expect(env()).toEqual(before);
    expect(fake.approvals[0]).toMatchObject({ reviewStatus: 'pending', status: 'pending' });
  });

  it('the fake refuses a key targeted in two variations, as the API does; the backend names the deny-listed tenant first', async () => {
    const falseId = fake.flag(PROJECT, FLAG)!.variations[1]._id;
    const res = await fetch(`${fake.url}/api/v2/flags/${PROJECT}/${FLAG}`, {
      method: 'PATCH',
      headers: {
        Authorization: fake.token,
        'Content-Type': 'application/json; domain-model=launchdarkly.semanticpatch',
      },
      body: JSON.stringify({
        environmentKey: ENV,
        instructions: [
          { kind: 'addTargets', contextKind: 'tenant', values: ['tn-4582'], variationId: falseId },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/multiple variations/);
    // a deny list: tn-6666 is individually served false
    env().contextTargets.push({ contextKind: 'tenant', values: ['tn-6666'], variation: 1 });
    const before = structuredClone(env());
    const e = await toggleFlag(
      { ...options(), runInfo: who, operation: 'enable', flag: FLAG, tenants: ['tn-6666'] },
      silentLogger,
    ).catch((x) => x);
    expect((e as Error).message).toMatch(
      /tenant tn-6666 is individually targeted to variation 1 \(false\).*nothing was written/,
    );
    expect(env()).toEqual(before);
  });

  it('reads a fallthrough rollout of 5% as percentage 5, not global on', async () => {
    await toggleFlag(
      { ...options(), runInfo: who, operation: 'enable', flag: FLAG, percentage: 5 },
      silentLogger,
    );
    const st = await toggleFlag({ ...options(), operation: 'status', flag: FLAG }, silentLogger);
    expect(st.state).toMatchObject({ global: 'off', percentage: 5 });
    await expect(
      toggleFlag({ ...options(), runInfo: who, operation: 'enable', plan }, silentLogger),
    ).resolves.toMatchObject({ changed: false });
  });
});
