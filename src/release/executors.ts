/**
 * How the rehearsal runs each compiled step on this machine: one executor per action, taking the
 * step's compiled inputs (the same values release.yml passes to the action) and calling the
 * engine the action calls. Local stand-ins: an embedded PostgreSQL for the database and the
 * `postgres` flag backend, the gate replaying a recorded measurements file, Kubernetes only with
 * a kubeconfig, smoke checks only with a base URL, the approval by `--approve` or an explicit
 * auto-approval.
 */
import { parseDuration } from '../config/load.js';
import type { Logger } from '../errors.js';
import type { FlagState } from '../flags/index.js';
import type { CompiledRelease, ReleaseLeg, ReleaseStep } from './compile.js';
import type { GateStep, RehearsalResult, RehearseOptions } from './rehearse.js';
import { gateStep } from './report.js';
import { gateLetsGoOn } from './records.js';
import type { ReleasePlan } from './schema.js';

/** What the rehearsal knows while it runs (the workflow keeps the same in its records). */
export interface RehearsalContext {
  plan: ReleasePlan;
  release: CompiledRelease;
  options: RehearseOptions;
  result: RehearsalResult;
  logger: Logger;
  /** Resolves a plan path against the repository root. */
  at: (path: string) => string;
  databaseUrl: string;
  kube?: { kubeconfigFile: string; pollIntervalMs?: number };
  replayFile: string;
  iso: () => string;
  /** The release records the rollback reads (as `command: records` gives them in the workflow). */
  records: {
    flagBefore?: FlagState;
    canaryPreviousRevision: number;
    stablePreviousRevision: number;
    canaryDeployed: boolean;
  };
}

/** What a step did: a line for the timeline, `skipped` when it did not run here. */
export interface StepOutcome {
  detail: string;
  status?: 'success' | 'skipped';
}

/** Runs one compiled step. @throws Error when the step fails (the release stops there). */
export type Executor = (
  ctx: RehearsalContext,
  step: ReleaseStep,
  leg?: ReleaseLeg,
) => Promise<StepOutcome>;

const NO_KUBE = 'skipped: no kubeconfig (give --kubeconfig to run the Kubernetes steps)';
const ms = (v: string | undefined) => (v ? parseDuration(v) : undefined);
const images = (v: string) =>
  Object.fromEntries(
    v.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i), p.slice(i + 1)];
    }),
  );
const pick = (s: FlagState) => ({ global: s.global, tenants: [...s.tenants] });

const migrate: Executor = async (ctx, step) => {
  const { runMigrateCommand } = await import('../migrate/command.js');
  const w = step.with;
  const r = await runMigrateCommand(
    step.command as 'lint' | 'plan' | 'apply',
    {
      databaseUrl: ctx.databaseUrl,
      dir: ctx.at(w.dir),
      historyTable: w['history-table'],
      lockWaitMs: ms(w['lock-wait']),
      lockTimeoutMs: ms(w['lock-timeout']),
      statementTimeoutMs: ms(w['statement-timeout']),
      retries: w.retries !== undefined ? Number(w.retries) : undefined,
      applicationName: 'runbook-rehearse',
      failOn: w['fail-on'] as 'error' | 'warning' | 'never' | undefined,
      logFindings: true,
    },
    ctx.logger,
  );
  if (r.failure) {
    const findings = r.lint?.findings.map((f) => `${f.file}:${f.line} ${f.rule}`).join('; ');
    throw new Error(
      step.command === 'lint' ? `migration lint failed: ${findings}` : r.failure.error.message,
    );
  }
  if (r.lint)
    return {
      detail: `${r.lint.linted.length} file(s) linted, ${r.lint.findings.length} finding(s)`,
    };
  const m = r.result!;
  if (step.command === 'plan')
    return { detail: `${m.pending.length} pending: ${m.pending.join(', ') || 'none'}` };
  ctx.result.applied = m.applied;
  return { detail: `${m.applied.length} applied: ${m.applied.join(', ') || 'none (up to date)'}` };
};

const backfill: Executor = async (ctx, step, leg) => {
  const b = await import('../backfill/index.js');
  const w = step.with;
  const common = {
    spec: ctx.at(w.spec),
    databaseUrl: ctx.databaseUrl,
    batchSize: w['batch-size'] ? Number(w['batch-size']) : undefined,
  };
  const entry = (ctx.result.backfills[(leg?.index ?? 1) - 1] ??= {
    name: '',
    toCreate: 0,
    toUpdate: 0,
    unchanged: 0,
    rowsWritten: 0,
    verified: false,
  });
  if (step.command === 'analyze') {
    const r = await b.analyzeBackfill(common, ctx.logger);
    if (w['fail-on-checks'] === 'true' && r.failedChecks.length)
      throw new Error(
        `checks failed: ${r.failedChecks.map((c) => `${c.name} (${c.rows} rows)`).join(', ')}`,
      );
    Object.assign(entry, {
      name: r.name,
      toCreate: r.toCreate,
      toUpdate: r.toUpdate,
      unchanged: r.unchanged,
    });
    const findings = r.failedChecks.length
      ? `; checks with findings (warnings): ${r.failedChecks.map((c) => `${c.name} ${c.rows} row(s)`).join(', ')}`
      : '; every check empty';
    return {
      detail: `to create ${r.toCreate}, to update ${r.toUpdate}, unchanged ${r.unchanged}, total operations ${r.totalOperations}${findings}`,
    };
  }
  if (step.command === 'execute') {
    const r = await b.executeBackfill(
      {
        ...common,
        maxBatches: w['max-batches'] ? Number(w['max-batches']) : undefined,
        progressIntervalMs: 60_000,
      },
      ctx.logger,
    );
    entry.rowsWritten = r.rowsWritten;
    return {
      detail: `run ${r.runId} ${r.status}: ${r.rowsWritten} rows written in ${r.batches} batch(es)`,
    };
  }
  const r = await b.verifyBackfill(common, ctx.logger);
  entry.verified = r.verified;
  if (!r.verified) {
    const failed = r.assertions.filter((q) => q.rows > 0).map((q) => q.name);
    throw new Error(
      `not verified: ${r.toCreate + r.toUpdate} rows differ; failed assertions: ${failed.join(', ') || 'none'}`,
    );
  }
  return { detail: `verified: nothing differs, ${r.assertions.length} assertion(s) hold` };
};

const rollout: Executor = async (ctx, step) => {
  if (!ctx.kube) {
    if (step.command === 'set-image') ctx.records.canaryDeployed = false;
    return { status: 'skipped', detail: NO_KUBE };
  }
  const k = await import('../k8s/index.js');
  const w = step.with;
  const base = { ...ctx.kube, context: w.context, namespace: w.namespace };
  const log = ctx.logger;
  switch (step.command) {
    case 'apply': {
      const r = await k.applyManifests({ ...base, manifests: [ctx.at(w.manifests)] }, log);
      const objs = r.objects.map((o) => `${o.kind}/${o.name} ${o.action}`).join(', ');
      return { detail: `server-side apply: ${objs || 'no objects'}` };
    }
    case 'set-image': {
      ctx.records.canaryDeployed = true;
      const r = await k.setImage(
        {
          ...base,
          deployment: w.deployment,
          images: images(w.images),
          changeCause: w['change-cause'],
        },
        log,
      );
      ctx.records.canaryPreviousRevision = r.previousRevision;
      const set = Object.entries(r.images)
        .map(([c, i]) => `${c}=${i}`)
        .join(', ');
      return { detail: `${w.deployment}: revision ${r.previousRevision} → ${r.revision} (${set})` };
    }
    case 'wait': {
      const r = await k.waitForRollout(
        { ...base, deployment: w.deployment, timeoutMs: ms(w.timeout) },
        log,
      );
      return { detail: `revision ${r.revision} ready, ${r.replicas} replica(s)` };
    }
    case 'set-weight': {
      const weight = Number(w.weights);
      const r =
        weight === 0
          ? await k.abortCanary({ ...base, ingress: w.ingress }, log)
          : await k.setCanaryWeight({ ...base, ingress: w.ingress, weight }, log);
      if (weight === 0) ctx.result.rolledBack.push(`ingress ${r.ingress}: weight 0%`);
      return { detail: `ingress ${r.ingress}: ${r.previousWeight}% → ${weight}%` };
    }
    case 'promote': {
      const r = await k.promoteCanary(
        {
          ...base,
          ingress: w.ingress,
          deployment: w.deployment,
          images: images(w.images),
          changeCause: w['change-cause'],
          timeoutMs: ms(w.timeout),
          onImageSet: (s) => void (ctx.records.stablePreviousRevision = s.previousRevision),
        },
        log,
      );
      return {
        detail: `${w.deployment ? `stable ${w.deployment} on the new images; ` : ''}ingress ${r.ingress}: canary off, the stable ingress carries 100%`,
      };
    }
    case 'undo': {
      const toRevision = Number(
        step.from?.['to-revision'] ? runtime(ctx, step.from['to-revision']) : 0,
      );
      const r = await k.undoRollout(
        { ...base, deployment: w.deployment, toRevision, timeoutMs: ms(w.timeout) },
        log,
      );
      ctx.result.rolledBack.push(
        `${w.deployment}: revision ${r.fromRevision} → ${r.revision} (template of ${r.toRevision})`,
      );
      return { detail: `${w.deployment}: back to the template of revision ${r.toRevision}` };
    }
  }
  throw new Error(`the rehearsal cannot run rollout ${step.command}`);
};

const flagToggle: Executor = async (ctx, step) => {
  const f = await import('../flags/index.js');
  const w = step.with;
  const operation = step.command ?? w.operation;
  const note =
    w.backend === 'postgres' ? '' : ` (the workflow uses the plan's ${w.backend} backend)`;
  const common = { backend: 'postgres' as const, databaseUrl: ctx.databaseUrl, reason: w.reason };
  if (operation === 'status') {
    const r = (await f.toggleFlag({ ...common, operation: 'status', flag: w.flag }, ctx.logger))
      .state;
    ctx.records.flagBefore ??= r;
    return {
      detail: `postgres backend${note}: global ${r.global}; tenants [${r.tenants.join(', ')}]`,
    };
  }
  if (operation === 'restore') {
    const r = await f.restoreFlag(
      { ...common, restoreState: ctx.records.flagBefore!, reason: w.reason ?? 'rollback' },
      ctx.logger,
    );
    return flagChanged(
      ctx,
      r,
      `flag ${w.flag}: global ${r.state.global}, tenants [${r.state.tenants.join(', ')}]`,
    );
  }
  const tenants = w.tenants ? w.tenants.split(',') : undefined;
  const r = await f.toggleFlag(
    {
      ...common,
      operation: operation as 'enable' | 'disable',
      flag: w.flag,
      tenants,
      scope: (w.scope as 'tenants' | 'global' | undefined) ?? (tenants ? 'tenants' : 'global'),
      plan: w.plan ? ctx.at(w.plan) : undefined,
      guard: { globalMustBe: (w['global-must-be'] as 'on' | 'off' | 'any' | undefined) ?? 'any' },
      reason: w.reason ?? `rehearsal of release ${ctx.plan.package}`,
    },
    ctx.logger,
  );
  if (step.id === 'enable') {
    ctx.records.flagBefore = r.previousState;
    ctx.result.flag = {
      name: w.flag,
      before: pick(r.previousState),
      canary: pick(r.state),
      after: pick(r.state),
    };
    return {
      detail: `postgres backend${note}: global ${r.previousState.global} → ${r.state.global}; tenants [${r.previousState.tenants.join(', ')}] → [${r.state.tenants.join(', ')}]`,
    };
  }
  if (step.id === 'flags')
    return flagChanged(
      ctx,
      r,
      `flag ${w.flag}: global ${r.state.global}, tenants [${r.state.tenants.join(', ')}]`,
    );
  if (ctx.result.flag) ctx.result.flag.after = pick(r.state);
  return { detail: `global ${r.previousState.global} → ${r.state.global}` };
};

function flagChanged(
  ctx: RehearsalContext,
  r: { previousState: FlagState; state: FlagState },
  rolledBack: string,
): StepOutcome {
  if (ctx.result.flag) ctx.result.flag.after = pick(r.state);
  ctx.result.rolledBack.push(rolledBack);
  return {
    detail: `global ${r.previousState.global} → ${r.state.global}; tenants [${r.previousState.tenants.join(', ')}] → [${r.state.tenants.join(', ')}]`,
  };
}

const smoke: Executor = async (ctx, step, leg) => {
  const target = ctx.options.smoke;
  if (!target)
    return { status: 'skipped', detail: 'skipped: no local smoke target (give --smoke-url)' };
  const s = await import('../smoke/index.js');
  const w = step.with;
  const r = await s.runSmokeChecks(
    {
      file: ctx.at(w.checks),
      variables: { env: w.env ?? 'rehearsal', ...target.variables, base_url: target.baseUrl },
      secrets: target.secrets,
      databaseUrl: ctx.databaseUrl,
      timeoutMs: ms(w.timeout),
    },
    ctx.logger,
  );
  const failures = r.results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`);
  legGate(ctx, leg).smoke = { passed: r.passed, failed: r.failed, failures };
  if (r.failed > 0)
    throw new Error(
      `${r.failed} of ${r.results.length} smoke checks failed: ${failures.join('; ')}`,
    );
  return { detail: `${r.passed} of ${r.results.length} passed against ${target.baseUrl}` };
};

/** The report's gate entry of a traffic leg (created by its first step that needs it). */
function legGate(ctx: RehearsalContext, leg?: ReleaseLeg): GateStep {
  const weight = leg?.weight ?? 0;
  let g = ctx.result.gates.find((x) => x.weight === weight);
  if (!g) {
    g = { weight, verdict: 'inconclusive', reason: '', replayFile: ctx.replayFile, metrics: [] };
    ctx.result.gates.push(g);
  }
  return g;
}

const canaryGate: Executor = async (ctx, step, leg) => {
  const g = await import('../gate/index.js');
  const w = step.with;
  const gate = legGate(ctx, leg);
  const quiet: Logger = {
    ...ctx.logger,
    info: (m) => (/^\[\d{4}-/.test(m) ? ctx.logger.debug(m) : ctx.logger.info(m)),
  };
  const r = await g
    .runGate(
      {
        criteria: ctx.at(w.criteria),
        mode: 'replay',
        replayFile: ctx.replayFile,
        variables: { service: w.service, tenants: w.tenants.split(',') },
        sleep: async () => {},
      },
      quiet,
    )
    .catch((e: unknown) => {
      gate.reason = `the gate could not judge: ${(e as Error).message}`;
      throw e;
    });
  Object.assign(gate, gateStep(r, gate.weight, ctx.replayFile));
  const windowNote = w.duration
    ? ` (plan window ${w.duration} at ${gate.weight}%; replayed ${r.window.start} → ${r.window.end})`
    : '';
  const onInconclusive = (w['on-inconclusive'] ?? 'fail') as 'fail' | 'pass' | 'neutral';
  if (!gateLetsGoOn(r.verdict, onInconclusive))
    throw new Error(`verdict ${r.verdict}: ${r.reason}${windowNote}`);
  if (r.verdict === 'inconclusive')
    return {
      detail: `verdict inconclusive: ${r.reason}${windowNote}; going on because gate.on-inconclusive is ${onInconclusive}`,
    };
  return { detail: `verdict pass: ${r.reason}${windowNote}` };
};

const release: Executor = async (ctx, step) => {
  if (step.command === 'start')
    return { status: 'skipped', detail: 'local rehearsal: no deployment record' };
  if (step.command === 'approval') {
    const by = ctx.options.approver;
    const env = ctx.release.promotionEnvironment;
    ctx.result.approval = {
      by: by ?? 'rehearsal auto-approval',
      at: ctx.iso(),
      auto: by === undefined,
    };
    const reviewers = ctx.plan.promotion.reviewers;
    return {
      detail: by
        ? `approved by ${by} (--approve); in the workflow a required reviewer of ${env} approves`
        : `auto-approved by the rehearsal (no --approve); in the workflow the run waits for a required reviewer of ${env}${reviewers.length ? ` (${reviewers.join(', ')})` : ''}`,
    };
  }
  return { detail: 'read the release records' };
};

/** Executors by action (`actions/<action>`). */
export const EXECUTORS: Record<ReleaseStep['action'], Executor> = {
  migrate,
  backfill,
  rollout,
  'flag-toggle': flagToggle,
  'canary-gate': canaryGate,
  smoke,
  release,
};

/** A value known only while the release runs (the records the rollback reads). */
export function runtime(ctx: RehearsalContext, expression: string): string {
  const r = ctx.records;
  const m = /^steps\.records\.outputs\.([\w-]+)$/.exec(expression);
  switch (m?.[1]) {
    case 'flag-previous-state':
      return r.flagBefore ? JSON.stringify(r.flagBefore) : '';
    case 'stable-previous-revision':
      return r.stablePreviousRevision ? String(r.stablePreviousRevision) : '';
    case 'canary-previous-revision':
      return r.canaryPreviousRevision ? String(r.canaryPreviousRevision) : '';
    case 'canary-deployed':
      return String(r.canaryDeployed);
  }
  return '';
}

/**
 * Whether a compiled step's condition holds: `always()` plus comparisons of the records
 * (`steps.records.outputs.<name> != ''`, `== 'true'`); a step without a condition runs.
 */
export function conditionHolds(ctx: RehearsalContext, condition: string | undefined): boolean {
  if (!condition) return true;
  const parts = condition.split('&&').map((p) => p.trim());
  return parts.every((p) => {
    if (p === 'always()') return true;
    const m = /^(steps\.records\.outputs\.[\w-]+) (==|!=) '([^']*)'$/.exec(p);
    if (!m) throw new Error(`the rehearsal cannot evaluate the condition '${p}'`);
    const v = runtime(ctx, m[1]);
    return m[2] === '==' ? v === m[3] : v !== m[3];
  });
}
