/**
 * The rehearsal: a release plan run end to end on this machine, through the same engines as the
 * actions, in the order of the reusable workflow's jobs (`.github/workflows/release.yml`):
 *
 *   preflight → migrate → deploy-canary → backfill → flags → traffic steps (set weight, smoke,
 *   canary gate) → promotion (approval) → promote, or on any failure → rollback; then the report.
 *
 * Local stand-ins: an embedded PostgreSQL (or a given database) for the database and for the
 * `postgres` flag backend; the gate replays a recorded measurements file instead of querying a
 * live provider; Kubernetes steps run only with a kubeconfig and are skipped with a line
 * otherwise; the smoke checks run only when a base URL is given; the approval is `approve`
 * (the local user) or an explicit auto-approval line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Logger } from '../errors.js';
import { ConfigError } from '../errors.js';
import { runInfo } from '../runinfo.js';
import {
  compileRelease,
  jobOf,
  type CompiledRelease,
  type JobId,
  type ReleaseJob,
  type ReleaseLeg,
  type ReleaseStep,
} from './compile.js';
import { conditionHolds, EXECUTORS, type RehearsalContext, type StepOutcome } from './executors.js';
import { loadPlan, missingPaths, reportPath, type LoadedPlan } from './load.js';
import { renderReport, worstValue } from './report.js';

export { worstValue };
import type { ReleasePlan } from './schema.js';

/** Which recorded canary the gate replays. */
export type Recording = 'healthy' | 'regression';

/** Options of {@link rehearse}. */
export interface RehearseOptions {
  /** Path of the release plan, or a plan already loaded with `loadPlan`. */
  plan: string | LoadedPlan;
  /** Repository root the plan's paths are relative to (default the working directory). */
  root?: string;
  /**
   * PostgreSQL URL of the application database (secret; never logged). When absent an embedded
   * PostgreSQL is started for the rehearsal and stopped afterwards.
   */
  databaseUrl?: string;
  /**
   * Sample users to generate (the Paket 7 data shape) before the backfill, so it has rows to
   * work on. Default 1000 on an embedded database, 0 on a given one (real data is never touched).
   */
  sampleUsers?: number;
  /** Recording the gate replays (default `healthy`); ignored when `replayFile` is set. */
  recording?: Recording;
  /** A measurements file to replay instead of the plan's recordings. */
  replayFile?: string;
  /**
   * Who approves the promotion: a name (e.g. the local user for `--approve`), or undefined for
   * the rehearsal's auto-approval (written as such in the report).
   */
  approver?: string;
  /** kubeconfig file; without it the Kubernetes steps are skipped with a line. */
  kubeconfig?: string;
  /** Time between two Kubernetes status reads, milliseconds (default 2000). */
  pollIntervalMs?: number;
  /** Smoke target: when absent the smoke checks are skipped with a line. */
  smoke?: { baseUrl: string; secrets?: Record<string, string>; variables?: Record<string, string> };
  /** Where the Markdown report goes (default the plan's `report.path`), relative to `root`. */
  reportFile?: string;
  /** Clock (default `Date.now`), for the timeline. */
  now?: () => number;
}

/** One line of the timeline. */
export interface TimelineEntry {
  /** Workflow job the step belongs to (`preflight`, `migrate`, `traffic 5%` ...). */
  job: string;
  /** What the step did. */
  step: string;
  status: 'success' | 'failure' | 'skipped';
  /** RFC 3339 times. */
  startedAt: string;
  finishedAt: string;
  /** Findings: what changed, what was measured, why it was skipped. */
  detail: string;
}

/** The gate at one traffic step. */
export interface GateStep {
  weight: number;
  verdict: 'pass' | 'fail' | 'inconclusive';
  reason: string;
  failedAt?: string;
  replayFile: string;
  /** Per metric: condition, last value, threshold, status, counts. */
  metrics: {
    name: string;
    condition: string;
    unit: string;
    dryRun: boolean;
    status: string;
    last: number | null;
    worst: number | null;
    threshold?: number;
    successful: number;
    failed: number;
    reason?: string;
  }[];
  smoke?: { passed: number; failed: number; failures: string[] };
}

/** What {@link rehearse} did. */
export interface RehearsalResult {
  package: string;
  planFile: string;
  /**
   * `promoted`, `rolled-back` after a failure (the failed step is in `failedStep`), or `stopped`
   * when the release stopped before anything was deployed (a workflow run whose preflight failed).
   */
  outcome: 'promoted' | 'rolled-back' | 'stopped';
  failedStep?: string;
  failure?: string;
  timeline: TimelineEntry[];
  /** The compiled steps in the order they ran (rollback steps included), for the drift test. */
  executed: { job: JobId; leg?: number; step: string }[];
  /** Migration versions applied. */
  applied: string[];
  backfills: {
    name: string;
    toCreate: number;
    toUpdate: number;
    unchanged: number;
    rowsWritten: number;
    verified: boolean;
  }[];
  flag?: {
    name: string;
    before: { global: string; tenants: string[] };
    canary?: { global: string; tenants: string[] };
    after: { global: string; tenants: string[] };
  };
  gates: GateStep[];
  approval?: { by: string; at: string; auto: boolean };
  rolledBack: string[];
  database: string;
  actor: string;
  startedAt: string;
  finishedAt: string;
  /** Absolute path of the report written. */
  reportFile: string;
  /** The report's Markdown. */
  report: string;
  /** Who ran it: `runbook rehearse` (default) or the release workflow (its report job). */
  via?: 'rehearsal' | 'workflow';
  /** The workflow run, when `via` is `workflow`. */
  runUrl?: string;
}

class StepFailed extends Error {}

/** Job names in the timeline, as the workflow shows them. */
const JOB_LABEL: Partial<Record<JobId, string>> = {
  'deploy-canary': 'deploy canary',
  promotion: 'approve promotion',
};

/** The timeline's name of a compiled step (the runbook's words; stable for reports and tests). */
function label(release: CompiledRelease, step: ReleaseStep, leg?: ReleaseLeg): string {
  const w = step.with;
  const flag = w.flag ?? '';
  switch (step.id) {
    case 'lint':
      return 'migration lint';
    case 'migrate-plan':
      return 'migrate plan';
    case 'start':
      return 'deployment record';
    case 'apply':
      return 'apply';
    case 'apply-manifests':
      return `apply ${w.manifests}`;
    case 'set-image':
      return 'set image';
    case 'wait':
      return 'wait';
    case 'analyze':
    case 'execute':
    case 'verify':
      return `${step.id} ${leg?.name ?? w.spec}`;
    case 'before':
      return `${flag} state before the canary`;
    case 'enable':
      return `${flag} on for ${w.tenants.split(',').join(', ')}`;
    case 'set-weight':
      return `set weight ${w.weights}%`;
    case 'smoke':
      return 'smoke checks';
    case 'gate':
      return 'canary gate';
    case 'approval':
      return `environment ${release.promotionEnvironment}`;
    case 'promote':
      return 'canary to 100%';
    case 'flag-global':
      return `${flag} on globally`;
    case 'flags':
      return `${flag} back to its previous state`;
    case 'stable-undo':
      return 'stable rollout undo';
    case 'weight-zero':
      return 'canary weight 0';
    case 'undo':
      return 'rollout undo';
  }
  return step.name;
}

/** Why a rollback step whose condition does not hold did not run. */
const NOT_NEEDED: Record<string, string> = {
  flags: 'the flag was not changed',
  'stable-undo': 'promotion did not change the stable Deployment',
  'weight-zero': 'the canary was not deployed',
  undo: 'the canary image was not set',
};

/**
 * Rehearses a release plan: compiles it (as `runbook plan` and the workflow's preflight do) and
 * runs the compiled jobs and steps in order through {@link EXECUTORS}. Never throws for a failed
 * step: a failure stops the release, runs the compiled rollback and is reported in the result
 * (`outcome: 'rolled-back'`).
 * @throws ConfigError when the plan is invalid or a file it names is missing (before anything runs)
 */
export async function rehearse(options: RehearseOptions, logger: Logger): Promise<RehearsalResult> {
  const root = resolve(options.root ?? process.cwd());
  const now = options.now ?? Date.now;
  const iso = () => new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const planFile = relative(
    root,
    resolve(typeof options.plan === 'string' ? options.plan : options.plan.file),
  );
  const loaded = typeof options.plan === 'string' ? loadPlan(options.plan, 'plan') : options.plan;
  const plan = loaded.value;
  const missing = missingPaths(loaded, root);
  if (missing.length) throw missing[0];
  const release = compileRelease(loaded, { planFile, attempt: 0 });
  const at = (p: string) => resolve(root, p);
  const replayFile = options.replayFile
    ? resolve(options.replayFile)
    : replayFor(loaded, options.recording ?? 'healthy', at);

  const result: RehearsalResult = {
    package: plan.package,
    planFile,
    outcome: 'promoted',
    timeline: [],
    executed: [],
    applied: [],
    backfills: [],
    gates: [],
    rolledBack: [],
    database: '',
    actor: runInfo().actor,
    startedAt: iso(),
    finishedAt: '',
    reportFile: at(options.reportFile ?? reportPath(plan)),
    report: '',
  };
  const db = await database(options.databaseUrl, result);
  const ctx: RehearsalContext = {
    plan,
    release,
    options,
    result,
    logger,
    at,
    databaseUrl: db.url,
    kube: options.kubeconfig
      ? { kubeconfigFile: options.kubeconfig, pollIntervalMs: options.pollIntervalMs }
      : undefined,
    replayFile,
    iso,
    records: { canaryPreviousRevision: 0, stablePreviousRevision: 0, canaryDeployed: false },
  };
  const sampleUsers = options.sampleUsers ?? (db.stop ? 1000 : 0);

  try {
    try {
      for (const job of release.jobs) {
        if (job.id === 'rollback' || job.id === 'report') continue;
        await logger.group(job.name, () => runJob(ctx, job, sampleUsers));
      }
    } catch (e) {
      if (!(e instanceof StepFailed)) throw e;
      result.outcome = 'rolled-back';
      await logger.group('rollback', () => runJob(ctx, jobOf(release, 'rollback'), 0));
    }
  } finally {
    result.finishedAt = iso();
    if (db.stop) await db.stop();
  }
  result.report = renderReport(result, plan);
  mkdirSync(dirname(result.reportFile), { recursive: true });
  writeFileSync(result.reportFile, result.report);
  logger.info(`report written to ${result.reportFile}`);
  return result;
}

/** The given database, or an embedded PostgreSQL started for the rehearsal. */
async function database(
  url: string | undefined,
  result: RehearsalResult,
): Promise<{ url: string; stop?: () => Promise<void> }> {
  if (url) {
    const { redactUrl } = await import('../db/connect.js');
    result.database = redactUrl(url);
    return { url };
  }
  const { startEmbeddedPostgres } = await import('../db/embedded.js');
  const server = await startEmbeddedPostgres();
  result.database = `embedded PostgreSQL on 127.0.0.1:${server.port} (started for this rehearsal)`;
  return { url: server.url, stop: server.stop };
}

/** Runs one timeline entry; a thrown error marks it failed and throws {@link StepFailed}. */
async function track(
  ctx: RehearsalContext,
  job: string,
  name: string,
  fn: () => Promise<StepOutcome>,
): Promise<void> {
  const startedAt = ctx.iso();
  ctx.logger.info(`▶ ${job}: ${name}`);
  try {
    const r = await fn();
    const status = r.status ?? 'success';
    ctx.result.timeline.push({
      job,
      step: name,
      status,
      startedAt,
      finishedAt: ctx.iso(),
      detail: r.detail,
    });
    ctx.logger.info(`${status === 'skipped' ? '⏭' : '✔'} ${job}: ${name}: ${r.detail}`);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    ctx.result.timeline.push({
      job,
      step: name,
      status: 'failure',
      startedAt,
      finishedAt: ctx.iso(),
      detail: message,
    });
    ctx.logger.error(`${job}: ${name}: ${message}`);
    ctx.result.failedStep ??= `${job}: ${name}`;
    ctx.result.failure ??= message;
    throw new StepFailed(message);
  }
}

/**
 * Runs a compiled job: its steps (or each leg's) in order through the executors. Rollback steps
 * all run, whatever failed before them, when their condition holds.
 */
async function runJob(ctx: RehearsalContext, job: ReleaseJob, sampleUsers: number): Promise<void> {
  const name = JOB_LABEL[job.id] ?? job.id;
  const { plan, result } = ctx;
  if (job.id === 'preflight') {
    await track(ctx, name, 'plan valid', async () => ({
      detail: `${result.planFile}: package ${plan.package}, ${plan.traffic.steps.length} traffic steps (${plan.traffic.steps.map((s) => `${s.weight}%`).join(' → ')}), every referenced file present; compiled into ${ctx.release.jobs.length} jobs`,
    }));
    await track(ctx, name, 'required secrets', async () => ({
      status: 'skipped',
      detail: `local rehearsal: the workflow checks ${ctx.release.secrets.join(', ') || 'no secrets'} are set`,
    }));
  }
  if (job.id === 'backfill' && job.legs?.length && sampleUsers > 0) {
    await track(ctx, name, 'sample data', async () => {
      const b = await import('../backfill/index.js');
      const g = await b.generatePaket7Data(
        { databaseUrl: ctx.databaseUrl, users: sampleUsers, replace: false },
        ctx.logger,
      );
      return {
        detail: `rehearsal data: ${g.users} users, ${g.organizations} organizations, ${g.subscriptions} subscriptions`,
      };
    });
  }
  const units = job.legs
    ? job.legs.map((leg) => ({ leg, name: job.id === 'traffic' ? `traffic ${leg.name}` : name }))
    : [{ leg: undefined, name }];
  for (const u of units) {
    for (const step of u.leg ? u.leg.steps : job.steps) {
      result.executed.push({ job: job.id, leg: u.leg?.index, step: step.id });
      if (job.id === 'rollback') {
        await rollbackStep(ctx, u.name, step);
        continue;
      }
      await track(ctx, u.name, label(ctx.release, step, u.leg), () =>
        EXECUTORS[step.action](ctx, step, u.leg),
      );
    }
  }
  if (job.id === 'rollback') await kept(ctx);
  if (job.steps.length === 0 && !job.legs?.length)
    await track(ctx, name, job.id, async () => ({
      status: 'skipped',
      detail: `the plan has nothing for ${job.id}`,
    }));
}

/** One rollback step: skipped when its condition does not hold, never stopping the rollback. */
async function rollbackStep(ctx: RehearsalContext, job: string, step: ReleaseStep): Promise<void> {
  if (step.id === 'records') return;
  const name = label(ctx.release, step);
  try {
    if (!conditionHolds(ctx, step.if)) {
      await track(ctx, job, name, async () => ({
        status: 'skipped',
        detail: NOT_NEEDED[step.id] ?? 'not needed',
      }));
      return;
    }
    await track(ctx, job, name, () => EXECUTORS[step.action](ctx, step));
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
  }
}

/** What the rollback keeps: backfilled rows and migrations (additive). */
async function kept(ctx: RehearsalContext): Promise<void> {
  const written = ctx.result.backfills.filter((x) => x.rowsWritten > 0);
  if (written.length) {
    await track(ctx, 'rollback', 'backfill', async () => ({
      status: 'skipped',
      detail: `kept: ${written.map((x) => `${x.name} ${x.rowsWritten} row(s)`).join(', ')} stay written (a backfill has no undo; it only fills the columns the migrations added)`,
    }));
  }
  await track(ctx, 'rollback', 'migrations', async () => ({
    status: 'skipped',
    detail: 'kept: migrations are additive (the rollback does not drop columns)',
  }));
}

function replayFor(loaded: LoadedPlan, recording: Recording, at: (p: string) => string): string {
  const plan: ReleasePlan = loaded.value;
  const file = plan.gate.recordings?.[recording];
  if (!file) {
    throw new ConfigError(
      `gate.recordings.${recording}: the plan names no ${recording} recording to replay`,
      loaded.locate(['gate']),
      'plan',
    );
  }
  return at(file);
}
