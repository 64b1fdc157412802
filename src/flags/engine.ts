/**
 * The flag-toggle engine: enable, disable, show or restore a feature flag for a list of tenants
 * or globally, on any {@link FlagBackend}, with a guard on the global state checked before and
 * after the write, a read-back verification, idempotent no-ops and an audit comment.
 */
import { RE2JS } from 're2js';
import { z } from 'zod';
import { ConfigError, type Logger } from '../errors.js';
import { runInfo as readRunInfo, type RunInfo } from '../runinfo.js';
import { loadPlan, type FlagPlan } from './plan.js';
import { createBackend, type BackendOptions } from './backends/index.js';
import {
  BACKENDS,
  type BackendName,
  type DesiredState,
  type FlagBackend,
  type FlagState,
  type FlagStore,
  type GlobalState,
} from './backends/types.js';

/** The operations of `flag-toggle`. */
export const OPERATIONS = ['enable', 'disable', 'status', 'restore'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Default pattern for flag keys (anchored). */
export const DEFAULT_KEY_PATTERN = '[A-Za-z0-9][A-Za-z0-9._-]{0,127}';
/** Default pattern for tenant ids (anchored). */
export const DEFAULT_TENANT_PATTERN = '[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}';

/** The guard on the global state. */
export interface FlagGuard {
  /** `off`: the flag must not be on globally before or after the write. Default `any`. */
  globalMustBe?: 'on' | 'off' | 'any';
}

/** Options of {@link toggleFlag}. */
export interface ToggleOptions extends BackendOptions {
  /** Backend name, or a ready backend instance (tests, rehearsal). Default `postgres`. */
  backend?: BackendName | FlagBackend;
  operation: Operation;
  /** Flag key; may come from `plan` instead. */
  flag?: string;
  /** Tenant ids; empty with scope `tenants` takes the plan's tenants. */
  tenants?: string[];
  /** `tenants` (default when tenants are given) or `global`. */
  scope?: 'tenants' | 'global';
  /**
   * With `enable`: set the percentage rollout to this many percent (0–100, up to three
   * decimals) of all contexts, sticky per tenant; `100` turns the flag on globally. Tenants
   * given as well are enabled in the same write; the plan's tenants are not taken.
   */
  percentage?: number;
  /** Path of a flag plan YAML (see `plan.ts`) supplying flag, tenants and guard. */
  plan?: string;
  guard?: FlagGuard;
  /** For `restore`: the `previous-state` JSON (or object) of an earlier run. */
  restoreState?: string | FlagState;
  /** Free text recorded in the audit comment. */
  reason?: string;
  /** Compute and print the change without writing. */
  dryRun?: boolean;
  /** Regular expression a flag key must match in full. Default {@link DEFAULT_KEY_PATTERN}. */
  keyPattern?: string;
  /** Regular expression every tenant id must match in full. Default {@link DEFAULT_TENANT_PATTERN}. */
  tenantPattern?: string;
  /** Who runs this (defaults to `runInfo()` from the GITHUB_* environment). */
  runInfo?: RunInfo;
}

/** What {@link toggleFlag} did. */
export interface ToggleResult {
  operation: Operation;
  backend: BackendName;
  flag: string;
  /** What "global" means in this backend. */
  globalMeaning: string;
  /** The state read before any write (feed it to `restore` to roll back). */
  previousState: FlagState;
  /** The state read back after the write (equal to `previousState` for status, no-op, dry run). */
  state: FlagState;
  /** The state asked for (absent for `status`). */
  desired?: DesiredState;
  /** True when a write happened. */
  changed: boolean;
  dryRun: boolean;
  /** Human-readable changes (`enable for tenant tn-4582`), empty for a no-op. */
  actions: string[];
  /** The audit comment sent with the write. */
  comment?: string;
  guard: Required<FlagGuard>;
  /** The plan file used, if any. */
  plan?: FlagPlan;
  /** The approval request the write went through (LaunchDarkly environments that require one). */
  approval?: { id: string; url: string; outcome: string; waitedMs: number };
}

/** The guard on the global state was violated; nothing was written (or the write was undone). */
export class FlagGuardError extends Error {
  override readonly name = 'FlagGuardError';
  constructor(
    message: string,
    /** The flag's state when the guard was checked (before the write, or read back after it). */
    readonly state?: FlagState,
    /** For a violation after the write: the state before it, for a rollback (`restore`). */
    readonly previous?: FlagState,
  ) {
    super(message);
  }
  /** True when the backend undid the write (postgres: the transaction was rolled back). */
  rolledBack = false;
}

/** The state read back after a write is not the state asked for. */
export class FlagVerifyError extends Error {
  override readonly name = 'FlagVerifyError';
  constructor(
    message: string,
    readonly expected: DesiredState,
    readonly actual: FlagState,
    /** The state before the write, for a rollback (`restore`). */
    readonly previous: FlagState,
  ) {
    super(message);
  }
  /** True when the backend undid the write (postgres: the transaction was rolled back). */
  rolledBack = false;
}

const stateSchema = z.object({
  flag: z.string().min(1),
  global: z.enum(['on', 'off']),
  tenants: z.array(z.string()),
  percentage: z.number().min(0).max(100).optional(),
  backend: z.enum(BACKENDS).optional(),
  exists: z.boolean().optional(),
  backendDetail: z.record(z.string(), z.unknown()).optional(),
});

/** Longest `key-pattern` / `tenant-pattern` accepted, in characters. */
export const MAX_PATTERN_LENGTH = 1000;

/** A full-match test compiled with RE2 semantics. */
interface Matcher {
  source: string;
  test(value: string): boolean;
}

/**
 * Compiles a user's pattern for a full match with `re2js` (a port of RE2: matching time is
 * linear in the input, so a pattern such as `(a+)+` cannot backtrack catastrophically). RE2 has
 * no lookaround and no backreferences; such a pattern is refused with a ConfigError naming the
 * input. @throws ConfigError for an invalid, unsupported or over-long pattern
 */
function anchored(pattern: string, input: string): Matcher {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new ConfigError(
      `is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are accepted`,
      undefined,
      input,
    );
  }
  try {
    const re = RE2JS.compile(`(?:${pattern})`);
    return { source: `^(?:${pattern})$`, test: (v) => re.matches(v) };
  } catch (e) {
    throw new ConfigError(
      `not a valid regular expression (RE2 syntax: no lookaround or backreferences): ${(e as Error).message}`,
      undefined,
      input,
    );
  }
}

/**
 * The percentage rollout of a state: its `percentage`, or for a state without one (written by an
 * older version) 100 when global is on, else 0.
 */
export function percentageOf(state: { global: GlobalState; percentage?: number }): number {
  if (state.global === 'on') return 100;
  return state.percentage ?? 0;
}

/**
 * Validates a percentage: a finite number from 0 to 100 with at most three decimals.
 * @throws ConfigError naming `input`
 */
export function checkPercentage(value: number, input = 'percentage'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new ConfigError(
      `expected a number from 0 to 100, got '${String(value)}'`,
      undefined,
      input,
    );
  }
  const milli = value * 1000;
  if (Math.abs(milli - Math.round(milli)) > 1e-6) {
    throw new ConfigError(`at most three decimals (0.001%), got '${value}'`, undefined, input);
  }
  return Math.round(value * 1000) / 1000;
}

/** Sorted, de-duplicated tenant ids. */
export function normalizeTenants(tenants: string[]): string[] {
  return [...new Set(tenants)].sort();
}

function sameTenants(a: string[], b: string[]): boolean {
  const x = normalizeTenants(a);
  const y = normalizeTenants(b);
  return x.length === y.length && x.every((t, i) => t === y[i]);
}

/** Builds the audit comment: operation, flag, scope, actor, run URL and reason. */
export function auditComment(
  info: RunInfo,
  operation: string,
  flag: string,
  target: string,
  reason?: string,
): string {
  const parts = [`runbook-actions flag-toggle: ${operation} ${flag} (${target}) by ${info.actor}`];
  if (info.runUrl) parts.push(`run ${info.runUrl}`);
  if (reason) parts.push(`reason: ${reason}`);
  return parts.join('; ');
}

/** Parses a `previous-state` JSON for `restore`. @throws ConfigError (input `restore-state`) */
export function parseRestoreState(value: string | FlagState): FlagState {
  let raw: unknown = value;
  if (typeof value === 'string') {
    try {
      raw = JSON.parse(value);
    } catch (e) {
      throw new ConfigError(`not valid JSON: ${(e as Error).message}`, undefined, 'restore-state');
    }
  }
  const r = stateSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(
      `not a flag state (expected the previous-state output of an earlier run): ${i.path.join('.') || '(top level)'}: ${i.message}`,
      undefined,
      'restore-state',
    );
  }
  return { ...r.data, tenants: normalizeTenants(r.data.tenants) } as FlagState;
}

interface Resolved {
  flag: string;
  tenants: string[];
  scope: 'tenants' | 'global' | 'percentage';
  percentage?: number;
  guard: Required<FlagGuard>;
  restore?: FlagState;
  plan?: FlagPlan;
}

function resolve(options: ToggleOptions): Resolved {
  const plan = options.plan ? loadPlan(options.plan) : undefined;
  const restore =
    options.operation === 'restore'
      ? options.restoreState
        ? parseRestoreState(options.restoreState)
        : (() => {
            throw new ConfigError(
              'operation restore needs restore-state (the previous-state output of an earlier run)',
              undefined,
              'restore-state',
            );
          })()
      : undefined;
  let flag = options.flag?.trim() || plan?.flag || restore?.flag || '';
  if (!flag)
    throw new ConfigError(
      'is required (or give a plan file that names the flag)',
      undefined,
      'flag',
    );
  if (plan && options.flag && plan.flag !== options.flag) {
    throw new ConfigError(
      `flag '${options.flag}' differs from the plan's flag '${plan.flag}'`,
      { file: plan.file, line: plan.flagLine },
      'flag',
    );
  }
  if (restore && restore.flag !== flag) {
    throw new ConfigError(
      `restore-state is for flag '${restore.flag}', not '${flag}'`,
      undefined,
      'restore-state',
    );
  }
  flag = flag.trim();
  const keyRe = anchored(options.keyPattern || DEFAULT_KEY_PATTERN, 'key-pattern');
  if (!keyRe.test(flag)) {
    throw new ConfigError(
      `flag key '${flag}' does not match ${keyRe.source}`,
      plan && !options.flag ? { file: plan.file, line: plan.flagLine } : undefined,
      'flag',
    );
  }
  const explicit = (options.tenants ?? []).map((t) => t.trim()).filter(Boolean);
  const percentage =
    options.percentage === undefined ? undefined : checkPercentage(options.percentage);
  if (percentage !== undefined && options.operation !== 'enable') {
    throw new ConfigError(
      `is only taken by operation enable (got ${options.operation}); to go back, use restore with the previous-state, or enable with percentage 0`,
      undefined,
      'percentage',
    );
  }
  if (percentage !== undefined && options.scope === 'global') {
    throw new ConfigError(
      'scope global turns the flag on for everyone; a percentage rollout takes no scope (or scope tenants with tenant ids)',
      undefined,
      'percentage',
    );
  }
  const scope: Resolved['scope'] =
    percentage !== undefined
      ? explicit.length
        ? 'tenants'
        : 'percentage'
      : (options.scope ?? (explicit.length || plan?.tenants.length ? 'tenants' : 'global'));
  const tenantsFromPlan = explicit.length === 0 && scope === 'tenants' && plan !== undefined;
  const tenants = scope === 'tenants' ? (explicit.length ? explicit : (plan?.tenants ?? [])) : [];
  if (scope === 'global' && explicit.length) {
    throw new ConfigError('scope global takes no tenants', undefined, 'tenants');
  }
  if (
    scope === 'tenants' &&
    tenants.length === 0 &&
    percentage === undefined &&
    (options.operation === 'enable' || options.operation === 'disable')
  ) {
    throw new ConfigError(
      'scope tenants needs at least one tenant id (or use scope: global)',
      undefined,
      'tenants',
    );
  }
  const tenantRe = anchored(options.tenantPattern || DEFAULT_TENANT_PATTERN, 'tenant-pattern');
  const candidates = [...tenants, ...(restore?.tenants ?? [])];
  candidates.forEach((t, i) => {
    if (!tenantRe.test(t)) {
      throw new ConfigError(
        `tenant id '${t}' does not match ${tenantRe.source}`,
        tenantsFromPlan && i < tenants.length
          ? { file: plan!.file, line: plan!.lineOfTenant(i) }
          : undefined,
        i < tenants.length ? 'tenants' : 'restore-state',
      );
    }
  });
  const globalMustBe =
    options.guard?.globalMustBe && options.guard.globalMustBe !== 'any'
      ? options.guard.globalMustBe
      : (plan?.globalMustBe ?? 'any');
  return {
    flag,
    tenants: normalizeTenants(tenants),
    scope,
    percentage,
    guard: { globalMustBe },
    restore,
    plan,
  };
}

function desiredState(op: Operation, r: Resolved, current: FlagState): DesiredState | undefined {
  const keep = percentageOf(current);
  switch (op) {
    case 'status':
      return undefined;
    case 'restore':
      return {
        global: r.restore!.global,
        tenants: r.restore!.tenants,
        percentage: percentageOf(r.restore!),
        detail: r.restore!.backendDetail,
      };
    case 'enable':
      if (r.percentage !== undefined)
        return {
          global: r.percentage >= 100 ? 'on' : 'off',
          tenants: normalizeTenants([...current.tenants, ...r.tenants]),
          percentage: r.percentage,
        };
      return r.scope === 'global'
        ? { global: 'on', tenants: current.tenants, percentage: 100 }
        : {
            global: current.global,
            tenants: normalizeTenants([...current.tenants, ...r.tenants]),
            percentage: keep,
          };
    case 'disable':
      return r.scope === 'global'
        ? { global: 'off', tenants: current.tenants, percentage: 0 }
        : {
            global: current.global,
            tenants: current.tenants.filter((t) => !r.tenants.includes(t)),
            percentage: keep,
          };
  }
}

function fmtPct(p: number): string {
  return `${p}%`;
}

/** Human-readable differences between a state and a desired state. */
export function describeChange(from: FlagState, to: DesiredState): string[] {
  const out: string[] = [];
  const fromPct = percentageOf(from);
  const toPct = to.percentage ?? (to.global === 'on' ? 100 : fromPct);
  if (from.global !== to.global) out.push(`turn global ${to.global}`);
  // a global change already says 100% (on) or 0% (off)
  const impliedByGlobal = from.global !== to.global && toPct === (to.global === 'on' ? 100 : 0);
  if (fromPct !== toPct && !impliedByGlobal)
    out.push(`set the percentage rollout to ${fmtPct(toPct)} (from ${fmtPct(fromPct)})`);
  const add = to.tenants.filter((t) => !from.tenants.includes(t));
  const remove = from.tenants.filter((t) => !to.tenants.includes(t));
  if (add.length) out.push(`enable for tenant${add.length > 1 ? 's' : ''} ${add.join(', ')}`);
  if (remove.length)
    out.push(`disable for tenant${remove.length > 1 ? 's' : ''} ${remove.join(', ')}`);
  return out;
}

function checkGuard(
  guard: Required<FlagGuard>,
  global: GlobalState,
  when: string,
  backend: FlagBackend,
  state: FlagState,
  verb = 'is',
  previous?: FlagState,
): void {
  if (guard.globalMustBe === 'any' || guard.globalMustBe === global) return;
  throw new FlagGuardError(
    `guard global-must-be: ${guard.globalMustBe} violated ${when}: global ${verb} ${global} (${backend.name}: ${backend.globalMeaning})`,
    state,
    previous,
  );
}

/** Context key used as "someone not targeted" when verifying by evaluation. */
export const OUTSIDER_KEY = 'runbook-verify-outsider-0';

/**
 * Verify by evaluation: asks the backend what it serves to one canary tenant and to an outsider
 * (a key no tenant list holds), and compares with the desired state: a listed tenant gets the
 * flag; the outsider gets it at 100% and not at 0% (between, its bucket decides: not checked).
 * Skipped for backends without an evaluation API.
 * @throws FlagVerifyError naming the context that was served the wrong value
 */
async function verifyByEvaluation(
  backend: FlagBackend,
  flag: string,
  desired: DesiredState,
  after: FlagState,
  previous: FlagState,
  logger: Logger,
): Promise<void> {
  if (!backend.evaluate) return;
  const pct = desired.percentage ?? percentageOf(after);
  const expect: Record<string, boolean> = {};
  if (desired.tenants.length) expect[desired.tenants[0]] = true;
  if (pct >= 100) expect[OUTSIDER_KEY] = true;
  else if (pct <= 0) expect[OUTSIDER_KEY] = false;
  const keys = Object.keys(expect);
  if (!keys.length) return;
  const got = await backend.evaluate(flag, keys);
  const wrong = keys.filter((k) => got[k] !== expect[k]);
  if (wrong.length) {
    throw new FlagVerifyError(
      `verify by evaluation failed for ${flag} on ${backend.name}: ${wrong.map((k) => `${k === OUTSIDER_KEY ? 'an untargeted context' : `tenant ${k}`} is served ${got[k]}, expected ${expect[k]}`).join('; ')} (the configuration reads as asked)`,
      desired,
      after,
      previous,
    );
  }
  logger.info(
    `${flag}: verified by evaluation: ${keys.map((k) => `${k === OUTSIDER_KEY ? 'untargeted context' : k} → ${got[k]}`).join(', ')}`,
  );
}

/**
 * Enables, disables, shows or restores a feature flag.
 *
 * Steps: validate the flag key and tenant ids; read the current state (inside the backend's
 * flag lock when it has one); check the guard on the current state and on the desired state;
 * stop when nothing would change (idempotent) or on dry run; write with the audit comment; read
 * back and verify the state equals the desired state; check the guard again.
 *
 * @throws ConfigError for bad input (flag key, tenant ids, plan file, restore-state)
 * @throws FlagGuardError when the guard is violated before the write or would be by it (nothing
 *   is written), or after it
 * @throws FlagVerifyError when the read-back differs from what was written
 * @throws BackendError for a server's refusal (401, 404, 409, 429 after retries)
 */
export async function toggleFlag(options: ToggleOptions, logger: Logger): Promise<ToggleResult> {
  const op = options.operation;
  if (!OPERATIONS.includes(op)) {
    throw new ConfigError(
      `expected one of ${OPERATIONS.join(', ')}, got '${String(op)}'`,
      undefined,
      'operation',
    );
  }
  const r = resolve(options);
  const backendName =
    typeof options.backend === 'object' ? options.backend.name : (options.backend ?? 'postgres');
  if (r.restore?.backend && r.restore.backend !== backendName) {
    throw new ConfigError(
      `restore-state was read from backend ${r.restore.backend}, not ${backendName}`,
      undefined,
      'restore-state',
    );
  }
  const owned = typeof options.backend !== 'object';
  const backend =
    typeof options.backend === 'object'
      ? options.backend
      : await createBackend(options.backend ?? 'postgres', options, logger);
  const info = options.runInfo ?? readRunInfo();
  const target =
    op === 'restore'
      ? 'restore previous state'
      : r.scope === 'global'
        ? 'global'
        : r.scope === 'percentage'
          ? `percentage ${r.percentage}%`
          : `${r.percentage !== undefined ? `percentage ${r.percentage}%, ` : ''}tenants ${r.tenants.join(', ')}`;
  const comment = auditComment(info, op, r.flag, target, options.reason);
  const dryRun = options.dryRun ?? false;
  try {
    const cycle = async (store: FlagStore): Promise<ToggleResult> => {
      const previous = await store.read(r.flag);
      const base: ToggleResult = {
        operation: op,
        backend: backend.name,
        flag: r.flag,
        globalMeaning: backend.globalMeaning,
        previousState: previous,
        state: previous,
        changed: false,
        dryRun,
        actions: [],
        guard: r.guard,
        plan: r.plan,
      };
      logger.info(
        `${r.flag} on ${backend.name}: global ${previous.global}; percentage ${percentageOf(previous)}%; tenants ${previous.tenants.join(', ') || '(none)'}`,
      );
      if (op === 'status') return base;
      checkGuard(r.guard, previous.global, 'before the write', backend, previous);
      const desired = desiredState(op, r, previous)!;
      checkGuard(
        r.guard,
        desired.global,
        `by this ${op} (nothing was written)`,
        backend,
        previous,
        'would be',
      );
      const actions = [
        ...describeChange(previous, desired),
        ...(desired.detail ? (backend.detailChanges?.(previous, desired) ?? []) : []),
      ];
      base.desired = desired;
      if (actions.length === 0) {
        logger.info(`${r.flag}: already in the requested state; nothing to change`);
        return base;
      }
      if (dryRun) {
        for (const a of actions) logger.info(`dry run: would ${a}`);
        return { ...base, actions };
      }
      for (const a of actions) logger.info(`${a}`);
      await store.write({
        flag: r.flag,
        from: previous,
        to: desired,
        comment,
        operation: op,
        actor: info.actor,
        runUrl: info.runUrl,
        reason: options.reason || undefined,
        globalMustBe: r.guard.globalMustBe,
      });
      const after = await store.read(r.flag);
      const pctWrong =
        desired.percentage !== undefined && percentageOf(after) !== desired.percentage;
      if (
        after.global !== desired.global ||
        !sameTenants(after.tenants, desired.tenants) ||
        pctWrong
      ) {
        throw new FlagVerifyError(
          `verify after write failed for ${r.flag} on ${backend.name}: asked for global ${desired.global} and tenants [${desired.tenants.join(', ')}], read back global ${after.global} and tenants [${after.tenants.join(', ')}]${pctWrong ? `; asked for percentage ${desired.percentage}%, read back ${percentageOf(after)}%` : ''}`,
          desired,
          after,
          previous,
        );
      }
      const unrestored = desired.detail ? (backend.detailChanges?.(after, desired) ?? []) : [];
      if (unrestored.length) {
        throw new FlagVerifyError(
          `verify after write failed for ${r.flag} on ${backend.name}: the restored state still differs: ${unrestored.join('; ')}`,
          desired,
          after,
          previous,
        );
      }
      await verifyByEvaluation(backend, r.flag, desired, after, previous, logger);
      checkGuard(r.guard, after.global, 'after the write', backend, after, 'is', previous);
      logger.info(
        `${r.flag}: verified global ${after.global}; percentage ${percentageOf(after)}%; tenants ${after.tenants.join(', ') || '(none)'}`,
      );
      return {
        ...base,
        state: after,
        changed: true,
        actions,
        comment,
        ...(backend.lastApproval ? { approval: backend.lastApproval } : {}),
      };
    };
    if (backend.withFlagLock && !dryRun && op !== 'status') {
      try {
        return await backend.withFlagLock(r.flag, cycle);
      } catch (e) {
        if (e instanceof FlagVerifyError || (e instanceof FlagGuardError && e.previous))
          e.rolledBack = true;
        throw e;
      }
    }
    return await cycle(backend);
  } finally {
    if (owned) await backend.close();
  }
}

/**
 * Puts back a state printed as `previous-state` by an earlier run (the rollback step).
 * Same as `toggleFlag({...options, operation: 'restore', restoreState})`.
 */
export async function restoreFlag(
  options: Omit<ToggleOptions, 'operation'> & { restoreState: string | FlagState },
  logger: Logger,
): Promise<ToggleResult> {
  return toggleFlag({ ...options, operation: 'restore' }, logger);
}
