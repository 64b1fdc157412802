/**
 * Guarded flag rollouts and percentage rollouts on the postgres backend, against the run's real
 * PostgreSQL: 1% → 5% → 25% → 100% healthy, and a gate failure at 5% that restores the exact
 * previous state (tenants, percentage, global and the rows the application reads).
 */
import { ConfigError, recordingLogger, silentLogger } from '../../src/errors.js';
import {
  flagBucket,
  flagRolloutSummary,
  runFlagRollout,
  toggleFlag,
  type FlagRolloutGateContext,
} from '../../src/flags/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';

const FLAG = 'BILLING_ENFORCEMENT';
const who = { actor: 'release-bot', via: 'github-actions' as const };
const STEPS = [
  { percent: 1, durationMs: 1_800_000 },
  { percent: 5, durationMs: 1_800_000 },
  { percent: 25 },
  { percent: 100 },
];

let db: TestDatabase;
beforeAll(async () => (db = await freshDatabase('flags_rollout')));
afterAll(async () => db.dispose());

const opts = () => ({ backend: 'postgres' as const, databaseUrl: db.url, runInfo: who });

/** Everything the application can read about the flag: row, tenants, evaluation of 2000 tenants. */
async function snapshot() {
  return withClient(db.url, async (c) => {
    const row = await c.query(
      `SELECT global_enabled, rollout_percentage::float8 AS pct FROM runbook.feature_flags WHERE key = $1`,
      [FLAG],
    );
    const tenants = await c.query(
      `SELECT tenant_id FROM runbook.feature_flag_tenants WHERE key = $1 ORDER BY 1`,
      [FLAG],
    );
    const on = await c.query(
      `SELECT count(*)::int AS n FROM generate_series(1, 2000) g
        WHERE runbook.feature_flag_enabled($1, 'tn-' || g)`,
      [FLAG],
    );
    return {
      row: row.rows[0],
      tenants: tenants.rows.map((r) => r.tenant_id),
      served: on.rows[0].n,
    };
  });
}

async function seedCanary() {
  // the release's canary tenants are already on; the rollout widens to everyone else
  await toggleFlag(
    { ...opts(), operation: 'enable', flag: FLAG, tenants: ['tn-4582', 'tn-9014'] },
    silentLogger,
  );
  await toggleFlag({ ...opts(), operation: 'disable', flag: FLAG, scope: 'global' }, silentLogger);
}

describe('guarded flag rollout on postgres', () => {
  beforeEach(async () => {
    await withClient(db.url, (c) =>
      c.query(`DROP SCHEMA IF EXISTS runbook CASCADE`).then(() => undefined),
    );
    await seedCanary();
  });

  it('steps 1% → 5% → 25% → 100%, judging each step, and the application sees each share', async () => {
    const seen: { percent: number; served: number; durationMs: number }[] = [];
    const log = recordingLogger();
    const r = await runFlagRollout(
      {
        ...opts(),
        flag: FLAG,
        steps: STEPS,
        guard: { globalMustBe: 'any' },
        gate: async (s: FlagRolloutGateContext) => {
          seen.push({
            percent: s.percent,
            served: (await snapshot()).served,
            durationMs: s.durationMs,
          });
          return { verdict: 'pass', reason: 'error rate 0.1% ≤ 1%' };
        },
      },
      log,
    );
    expect(r.outcome).toBe('completed');
    expect(r.steps.map((s) => [s.percent, s.verdict, s.toggle?.changed])).toEqual([
      [1, 'pass', true],
      [5, 'pass', true],
      [25, 'pass', true],
      [100, 'pass', true],
    ]);
    expect(seen.map((s) => s.durationMs)).toEqual([1_800_000, 1_800_000, 0, 0]);
    // tn-1..tn-2000 does not hold the canaries (tn-4582, tn-9014): the count is the sticky share
    const expected = (p: number) =>
      Array.from({ length: 2000 }, (_, i) => `tn-${i + 1}`).filter(
        (t) => flagBucket(FLAG, t) < p * 1000,
      ).length;
    expect(seen.map((s) => s.served)).toEqual([expected(1), expected(5), expected(25), 2000]);
    expect(expected(1)).toBeGreaterThan(5);
    expect(expected(1)).toBeLessThan(45);
    expect(expected(25)).toBeGreaterThan(400);
    expect(expected(25)).toBeLessThan(600);
    expect(r.finalState).toMatchObject({ global: 'on', percentage: 100 });
    expect(r.previousState).toMatchObject({
      global: 'off',
      percentage: 0,
      tenants: ['tn-4582', 'tn-9014'],
    });
    const md = flagRolloutSummary(r);
    expect(md).toContain('Flag rollout BILLING_ENFORCEMENT: completed');
    expect(md).toMatch(/\| 1 +\| 1% +\| 30 min +\| pass +\| error rate 0\.1% ≤ 1% +\|/);
    // sticky: a tenant served at 1% is served at every later step
    const at1 = Array.from({ length: 2000 }, (_, i) => `tn-${i + 1}`).filter(
      (t) => flagBucket(FLAG, t) < 1000,
    );
    const sticky = await withClient(db.url, (c) =>
      c.query(
        `SELECT bool_and(runbook.feature_flag_enabled($1, t)) AS ok FROM unnest($2::text[]) t`,
        [FLAG, at1],
      ),
    );
    expect(sticky.rows[0].ok).toBe(true);
  });

  it('a gate failure at 5% restores the exact previous state and stops', async () => {
    const before = await snapshot();
    const audit0 = await withClient(db.url, (c) =>
      c.query(`SELECT count(*)::int AS n FROM runbook.feature_flag_audit`),
    );
    const gated: number[] = [];
    const r = await runFlagRollout(
      {
        ...opts(),
        flag: FLAG,
        steps: STEPS,
        guard: { globalMustBe: 'any' },
        gate: async (s) => {
          gated.push(s.percent);
          return s.percent === 5
            ? { verdict: 'fail', reason: 'http_5xx_rate 2.4% > 1% (failure limit 0)' }
            : 'pass';
        },
      },
      silentLogger,
    );
    expect(gated).toEqual([1, 5]);
    expect(r.outcome).toBe('rolled-back');
    expect(r.failedStep).toBe(1);
    expect(r.reason).toContain('http_5xx_rate 2.4% > 1%');
    expect(r.finalState).toMatchObject({
      global: r.previousState.global,
      tenants: r.previousState.tenants,
      percentage: r.previousState.percentage,
    });
    const after = await snapshot();
    expect(after).toEqual(before);
    expect(after.row).toEqual({ global_enabled: false, pct: 0 });
    expect(after.served).toBe(0);
    const audit = await withClient(db.url, (c) =>
      c.query(
        `SELECT operation, reason, new_state FROM runbook.feature_flag_audit ORDER BY id OFFSET $1`,
        [audit0.rows[0].n],
      ),
    );
    expect(audit.rows.map((a) => [a.operation, a.new_state.percentage])).toEqual([
      ['enable', 1],
      ['enable', 5],
      ['restore', 0],
    ]);
    expect(audit.rows[2].reason).toContain('rollback: step 2 (5%): verdict fail');
    expect(flagRolloutSummary(r)).toContain('rolled back at step 2');
  });

  it('an inconclusive verdict rolls back by default; a gate that throws rolls back too', async () => {
    const r1 = await runFlagRollout(
      { ...opts(), flag: FLAG, steps: STEPS, gate: async () => 'inconclusive' },
      silentLogger,
    );
    expect(r1.outcome).toBe('rolled-back');
    expect(r1.failedStep).toBe(0);
    const r2 = await runFlagRollout(
      {
        ...opts(),
        flag: FLAG,
        steps: STEPS,
        gate: async (s) => {
          if (s.percent === 25) throw new Error('Prometheus unreachable');
          return 'pass';
        },
      },
      silentLogger,
    );
    expect(r2.outcome).toBe('rolled-back');
    expect(r2.steps[2].error).toBe('Prometheus unreachable');
    expect((await snapshot()).row).toEqual({ global_enabled: false, pct: 0 });
  });

  it('refuses bad steps before writing anything', async () => {
    const gate = async () => 'pass' as const;
    const bad = [
      [[{ percent: 5 }, { percent: 1 }], 'steps[1].percent'],
      [[{ percent: 101 }], 'steps[0].percent'],
      [[{ percent: 0.0001 }], 'steps[0].percent'],
      [[], 'steps'],
      [[{ percent: 5, durationMs: -1 }], 'steps[0].duration'],
    ] as const;
    for (const [steps, input] of bad) {
      const e = await runFlagRollout(
        { ...opts(), flag: FLAG, steps: [...steps], gate },
        silentLogger,
      ).catch((x) => x);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).input).toBe(input);
    }
    expect((await snapshot()).row).toEqual({ global_enabled: false, pct: 0 });
  });

  it('the percentage input: guard global-must-be off refuses 100% and allows 25%', async () => {
    const r = await toggleFlag(
      {
        ...opts(),
        operation: 'enable',
        flag: FLAG,
        percentage: 25,
        guard: { globalMustBe: 'off' },
      },
      silentLogger,
    );
    expect(r.actions).toEqual(['set the percentage rollout to 25% (from 0%)']);
    expect(r.state).toMatchObject({ global: 'off', percentage: 25 });
    const e = await toggleFlag(
      {
        ...opts(),
        operation: 'enable',
        flag: FLAG,
        percentage: 100,
        guard: { globalMustBe: 'off' },
      },
      silentLogger,
    ).catch((x) => x);
    expect((e as Error).name).toBe('FlagGuardError');
    expect((await snapshot()).row).toEqual({ global_enabled: false, pct: 25 });
    const again = await toggleFlag(
      { ...opts(), operation: 'enable', flag: FLAG, percentage: 25 },
      silentLogger,
    );
    expect(again.changed).toBe(false);
    const wrong = await toggleFlag(
      { ...opts(), operation: 'disable', flag: FLAG, percentage: 5 },
      silentLogger,
    ).catch((x) => x);
    expect(wrong).toBeInstanceOf(ConfigError);
    expect((wrong as ConfigError).input).toBe('percentage');
  });
});

describe('key-pattern cannot hang flag-toggle', () => {
  // with backtracking, (a+)+ on 5000 characters and a mismatch would not finish: the test would
  // time out
  it('(a+)+ against a long key is refused, not backtracked (RE2: linear time)', async () => {
    const e = await toggleFlag(
      {
        ...opts(),
        operation: 'status',
        flag: `${'a'.repeat(5000)}!`,
        keyPattern: '(a+)+',
      },
      silentLogger,
    ).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).input).toBe('flag');
  });

  it('refuses lookaround and over-long patterns, naming the input', async () => {
    for (const [keyPattern, msg] of [
      ['(?=a)a+', /RE2 syntax/],
      ['a'.repeat(1001), /at most 1000/],
    ] as const) {
      const e = await toggleFlag(
        { ...opts(), operation: 'status', flag: 'x', keyPattern },
        silentLogger,
      ).catch((x) => x);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).input).toBe('key-pattern');
      expect((e as Error).message).toMatch(msg);
    }
  });
});
