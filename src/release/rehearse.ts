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
import { relative, resolve } from 'node:path';
import type { Logger } from '../errors.js';
import { ConfigError } from '../errors.js';
import { parseDuration } from '../config/load.js';
import { runInfo } from '../runinfo.js';
import { loadPlan, missingPaths, reportPath, type LoadedPlan } from './index.js';
import type { ReleasePlan } from './index.js';

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
  /** `promoted`, or `rolled-back` after a failure (the failed step is in `failedStep`). */
  outcome: 'promoted' | 'rolled-back';
  failedStep?: string;
  failure?: string;
  timeline: TimelineEntry[];
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
}

class StepFailed extends Error {}

/**
 * Rehearses a release plan. Never throws for a failed step: a failure stops the release, runs
 * the rollback and is reported in the result (`outcome: 'rolled-back'`).
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
  const at = (p: string) => resolve(root, p);
  const recording = options.recording ?? 'healthy';
  const replayFile = options.replayFile
    ? resolve(options.replayFile)
    : replayFor(loaded, recording, at);

  const info = runInfo();
  const result: RehearsalResult = {
    package: plan.package,
    planFile,
    outcome: 'promoted',
    timeline: [],
    applied: [],
    backfills: [],
    gates: [],
    rolledBack: [],
    database: '',
    actor: info.actor,
    startedAt: iso(),
    finishedAt: '',
    reportFile: at(options.reportFile ?? reportPath(plan)),
    report: '',
  };

  // One timeline entry per step; a thrown error marks it failed and stops the release.
  const step = async <T>(
    job: string,
    name: string,
    fn: () => Promise<{ detail: string; value?: T; status?: 'success' | 'skipped' }>,
  ): Promise<T | undefined> => {
    const startedAt = iso();
    logger.info(`▶ ${job}: ${name}`);
    try {
      const r = await fn();
      const status = r.status ?? 'success';
      result.timeline.push({
        job,
        step: name,
        status,
        startedAt,
        finishedAt: iso(),
        detail: r.detail,
      });
      logger.info(`${status === 'skipped' ? '⏭' : '✔'} ${job}: ${name}: ${r.detail}`);
      return r.value;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      result.timeline.push({
        job,
        step: name,
        status: 'failure',
        startedAt,
        finishedAt: iso(),
        detail: message,
      });
      logger.error(`${job}: ${name}: ${message}`);
      result.failedStep ??= `${job}: ${name}`;
      result.failure ??= message;
      throw new StepFailed(message);
    }
  };
  const skip = (job: string, name: string, why: string) =>
    step(job, name, async () => ({ detail: why, status: 'skipped' }));

  // The database: the given one, or an embedded server for the rehearsal.
  let stopEmbedded: (() => Promise<void>) | undefined;
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    const { startEmbeddedPostgres } = await import('../db/embedded.js');
    const server = await startEmbeddedPostgres();
    databaseUrl = server.url;
    stopEmbedded = server.stop;
    result.database = `embedded PostgreSQL on 127.0.0.1:${server.port} (started for this rehearsal)`;
  } else {
    const { redactUrl } = await import('../db/connect.js');
    result.database = redactUrl(databaseUrl);
  }
  const sampleUsers = options.sampleUsers ?? (stopEmbedded ? 1000 : 0);
  const kube = options.kubeconfig
    ? { kubeconfigFile: options.kubeconfig, pollIntervalMs: options.pollIntervalMs }
    : undefined;
  const noKube = 'skipped: no kubeconfig (give --kubeconfig to run the Kubernetes steps)';
  let flagBefore: import('../flags/index.js').FlagState | undefined;
  let previousRevision = 0;
  /** Revision of the stable Deployment before promotion changed its images (0: unchanged). */
  let stablePreviousRevision = 0;

  try {
    try {
      await logger.group('preflight', () => preflight());
      await logger.group('migrate', () => migrate());
      await logger.group('deploy canary', () => deployCanary());
      await logger.group('backfill', () => backfill());
      await logger.group('flags on for canary tenants', () => flagsOn());
      for (const [i, s] of plan.traffic.steps.entries()) {
        await logger.group(`traffic ${s.weight}%`, () => traffic(i, s.weight, s.duration, s.smoke));
      }
      await logger.group('approve promotion', () => approve());
      await logger.group('promote', () => promote());
    } catch (e) {
      if (!(e instanceof StepFailed)) throw e;
      result.outcome = 'rolled-back';
      await logger.group('rollback', () => rollback());
    }
  } finally {
    result.finishedAt = iso();
    if (stopEmbedded) await stopEmbedded();
  }
  const { renderReport } = await import('./report.js');
  result.report = renderReport(result, plan);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  mkdirSync(dirname(result.reportFile), { recursive: true });
  writeFileSync(result.reportFile, result.report);
  logger.info(`report written to ${result.reportFile}`);
  return result;

  async function preflight(): Promise<void> {
    await step('preflight', 'plan valid', async () => ({
      detail: `${planFile}: package ${plan.package}, ${plan.traffic.steps.length} traffic steps (${plan.traffic.steps.map((s) => `${s.weight}%`).join(' → ')}), every referenced file present`,
    }));
    await step('preflight', 'required secrets', async () => ({
      status: 'skipped',
      detail: `local rehearsal: the workflow checks ${plan.secrets.join(', ') || 'no secrets'} are set`,
    }));
    if (!plan.migrations)
      return void (await skip('preflight', 'migration lint', 'the plan has no migrations'));
    const m = await engine('migrate', () => import('../migrate/index.js'));
    if (!m) return;
    const dir = at(plan.migrations.dir);
    await step('preflight', 'migration lint', async () => {
      const r = await m.lintMigrations(
        { dir, databaseUrl, failOn: plan.migrations!['fail-on'], logFindings: true },
        logger,
      );
      if (r.failed)
        throw new Error(
          `migration lint failed: ${r.findings.map((f) => `${f.file}:${f.line} ${f.rule}`).join('; ')}`,
        );
      return { detail: `${r.linted.length} file(s) linted, ${r.findings.length} finding(s)` };
    });
    await step('preflight', 'migrate plan', async () => {
      const r = await m.planMigrations(migrateOptions(m, dir), logger);
      return { detail: `${r.pending.length} pending: ${r.pending.join(', ') || 'none'}` };
    });
  }

  function migrateOptions(_m: unknown, dir: string) {
    const mig = plan.migrations!;
    return {
      databaseUrl: databaseUrl!,
      dir,
      historyTable: mig['history-table'],
      lockWaitMs: mig['lock-wait'] !== undefined ? mig['lock-wait'] * 1000 : undefined,
      lockTimeoutMs: mig['lock-timeout'] ? parseDuration(mig['lock-timeout']) : undefined,
      statementTimeoutMs: mig['statement-timeout']
        ? parseDuration(mig['statement-timeout'])
        : undefined,
      retries: mig.retries,
      applicationName: 'runbook-rehearse',
    };
  }

  async function migrate(): Promise<void> {
    if (!plan.migrations)
      return void (await skip('migrate', 'apply', 'the plan has no migrations'));
    const m = await engine('migrate', () => import('../migrate/index.js'));
    if (!m) return;
    await step('migrate', 'apply', async () => {
      const r = await m.applyMigrations(migrateOptions(m, at(plan.migrations!.dir)), logger);
      result.applied = r.applied;
      return {
        detail: `${r.applied.length} applied: ${r.applied.join(', ') || 'none (up to date)'}`,
      };
    });
  }

  async function deployCanary(): Promise<void> {
    if (!plan.deploy)
      return void (await skip('deploy canary', 'set image', 'the plan has no deploy section'));
    if (!kube)
      return void (await skip(
        'deploy canary',
        plan.deploy.manifests
          ? `apply ${plan.deploy.manifests}, set image and wait`
          : 'set image and wait',
        noKube,
      ));
    const k = await engine('rollout', () => import('../k8s/index.js'));
    if (!k) return;
    const d = plan.deploy;
    if (d.manifests) {
      const manifests = d.manifests;
      await step('deploy canary', `apply ${manifests}`, async () => {
        const r = await k.applyManifests(
          { ...kube, context: d.context, namespace: d.namespace, manifests: [at(manifests)] },
          logger,
        );
        return {
          detail: `server-side apply: ${r.objects.map((o) => `${o.kind}/${o.name} ${o.action}`).join(', ') || 'no objects'}`,
        };
      });
    }
    await step('deploy canary', 'set image', async () => {
      const r = await k.setImage(
        {
          ...kube,
          context: d.context,
          namespace: d.namespace,
          deployment: d.deployment,
          images: d.images,
          changeCause: d['change-cause'],
        },
        logger,
      );
      previousRevision = r.previousRevision;
      return {
        detail: `${d.deployment}: revision ${r.previousRevision} → ${r.revision} (${Object.entries(
          r.images,
        )
          .map(([c, i]) => `${c}=${i}`)
          .join(', ')})`,
      };
    });
    await step('deploy canary', 'wait', async () => {
      const r = await k.waitForRollout(
        {
          ...kube,
          context: d.context,
          namespace: d.namespace,
          deployment: d.deployment,
          timeoutMs: parseDuration(d.timeout),
        },
        logger,
      );
      return { detail: `revision ${r.revision} ready, ${r.replicas} replica(s)` };
    });
  }

  async function backfill(): Promise<void> {
    if (plan.backfills.length === 0)
      return void (await skip('backfill', 'analyze, execute, verify', 'the plan has no backfills'));
    const b = await engine('backfill', () => import('../backfill/index.js'));
    if (!b) return;
    if (sampleUsers > 0) {
      await step('backfill', 'sample data', async () => {
        const g = await b.generatePaket7Data(
          { databaseUrl: databaseUrl!, users: sampleUsers, replace: false },
          logger,
        );
        return {
          detail: `rehearsal data: ${g.users} users, ${g.organizations} organizations, ${g.subscriptions} subscriptions`,
        };
      });
    }
    for (const spec of plan.backfills) {
      const file = at(spec.spec);
      const common = { spec: file, databaseUrl: databaseUrl!, batchSize: spec['batch-size'] };
      const a = await step('backfill', `analyze ${spec.spec}`, async () => {
        const r = await b.analyzeBackfill(common, logger);
        if (spec['fail-on-checks'] && r.failedChecks.length) {
          throw new Error(
            `checks failed: ${r.failedChecks.map((c) => `${c.name} (${c.rows} rows)`).join(', ')}`,
          );
        }
        const findings = r.failedChecks.length
          ? `; checks with findings (warnings): ${r.failedChecks.map((c) => `${c.name} ${c.rows} row(s)`).join(', ')}`
          : '; every check empty';
        return {
          value: r,
          detail: `to create ${r.toCreate}, to update ${r.toUpdate}, unchanged ${r.unchanged}, total operations ${r.totalOperations}${findings}`,
        };
      });
      const x = await step('backfill', `execute ${spec.spec}`, async () => {
        const r = await b.executeBackfill(
          { ...common, maxBatches: spec['max-batches'], progressIntervalMs: 60_000 },
          logger,
        );
        return {
          value: r,
          detail: `run ${r.runId} ${r.status}: ${r.rowsWritten} rows written in ${r.batches} batch(es)`,
        };
      });
      const v = await step('backfill', `verify ${spec.spec}`, async () => {
        const r = await b.verifyBackfill(common, logger);
        if (!r.verified) {
          throw new Error(
            `not verified: ${r.toCreate + r.toUpdate} rows differ; failed assertions: ${
              r.assertions
                .filter((q) => q.rows > 0)
                .map((q) => q.name)
                .join(', ') || 'none'
            }`,
          );
        }
        return {
          value: r,
          detail: `verified: nothing differs, ${r.assertions.length} assertion(s) hold`,
        };
      });
      result.backfills.push({
        name: a!.name,
        toCreate: a!.toCreate,
        toUpdate: a!.toUpdate,
        unchanged: a!.unchanged,
        rowsWritten: x!.rowsWritten,
        verified: v!.verified,
      });
    }
  }

  async function flagsOn(): Promise<void> {
    const f = await engine('flags', () => import('../flags/index.js'));
    if (!f) return;
    const note =
      plan.flags.backend === 'postgres'
        ? ''
        : ` (the workflow uses the plan's ${plan.flags.backend} backend)`;
    await step(
      'flags',
      `${plan.flags.flag} on for ${plan.flags['canary-tenants'].join(', ')}`,
      async () => {
        const r = await f.toggleFlag(
          {
            backend: 'postgres',
            databaseUrl,
            operation: 'enable',
            flag: plan.flags.flag,
            tenants: plan.flags['canary-tenants'],
            scope: 'tenants',
            plan: plan.flags.plan ? at(plan.flags.plan) : undefined,
            guard: { globalMustBe: plan.flags['global-must-be'] },
            reason: `rehearsal of release ${plan.package}`,
          },
          logger,
        );
        flagBefore = r.previousState;
        result.flag = {
          name: plan.flags.flag,
          before: pick(r.previousState),
          canary: pick(r.state),
          after: pick(r.state),
        };
        return {
          detail: `postgres backend${note}: global ${r.previousState.global} → ${r.state.global}; tenants [${r.previousState.tenants.join(', ')}] → [${r.state.tenants.join(', ')}]`,
        };
      },
    );
  }

  async function traffic(
    i: number,
    weight: number,
    duration: string | undefined,
    smoke: boolean,
  ): Promise<void> {
    const job = `traffic ${weight}%`;
    if (!plan.deploy?.ingress)
      await skip(job, `set weight ${weight}%`, 'the plan has no canary ingress');
    else if (!kube) await skip(job, `set weight ${weight}%`, noKube);
    else {
      const k = await engine('rollout', () => import('../k8s/index.js'));
      if (k) {
        await step(job, `set weight ${weight}%`, async () => {
          const r = await k.setCanaryWeight(
            {
              ...kube,
              context: plan.deploy!.context,
              namespace: plan.deploy!.namespace,
              ingress: plan.deploy!.ingress!,
              weight,
            },
            logger,
          );
          return { detail: `ingress ${r.ingress}: ${r.previousWeight}% → ${r.weight}%` };
        });
      }
    }
    const gate: GateStep = { weight, verdict: 'inconclusive', reason: '', replayFile, metrics: [] };
    if (!plan.smoke || !smoke) {
      // nothing to run at this step
    } else if (!options.smoke) {
      await skip(job, 'smoke checks', 'skipped: no local smoke target (give --smoke-url)');
    } else {
      const s = await engine('smoke', () => import('../smoke/index.js'));
      if (s) {
        await step(job, 'smoke checks', async () => {
          const r = await s.runSmokeChecks(
            {
              file: at(plan.smoke!.checks),
              variables: {
                env: plan.smoke!.env ?? 'rehearsal',
                ...options.smoke!.variables,
                base_url: options.smoke!.baseUrl,
              },
              secrets: options.smoke!.secrets,
              databaseUrl,
              timeoutMs: plan.smoke!.timeout ? parseDuration(plan.smoke!.timeout) : undefined,
            },
            logger,
          );
          const failures = r.results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`);
          gate.smoke = { passed: r.passed, failed: r.failed, failures };
          if (r.failed > 0)
            throw new Error(
              `${r.failed} of ${r.results.length} smoke checks failed: ${failures.join('; ')}`,
            );
          return {
            detail: `${r.passed} of ${r.results.length} passed against ${options.smoke!.baseUrl}`,
          };
        });
      }
    }
    const g = await engine('canary-gate', () => import('../gate/index.js'));
    if (!g) return;
    result.gates.push(gate);
    await step(job, 'canary gate', async () => {
      const r = await g
        .runGate(
          {
            criteria: at(plan.gate.criteria),
            mode: 'replay',
            replayFile,
            variables: { service: plan.service, tenants: plan.flags['canary-tenants'] },
            sleep: async () => {},
          },
          quietMeasurements(logger),
        )
        .catch((e: unknown) => {
          gate.reason = `the gate could not judge: ${(e as Error).message}`;
          throw e;
        });
      gate.verdict = r.verdict;
      gate.reason = r.reason;
      gate.failedAt = r.failedAt;
      gate.metrics = r.metrics.map((m) => {
        const values = m.measurements
          .map((x) => x.value)
          .filter((v): v is number => typeof v === 'number');
        const last = [...m.measurements].reverse().find((x) => typeof x.value === 'number');
        return {
          name: m.name,
          condition: m.condition,
          unit: m.unit,
          dryRun: m.dryRun,
          status: m.status,
          last: last?.value ?? null,
          worst: worstValue(m.condition, values, last?.threshold),
          threshold: last?.threshold,
          successful: m.successful,
          failed: m.failed,
          reason: m.reason,
        };
      });
      const windowNote = duration
        ? ` (plan window ${duration} at ${weight}%; replayed ${r.window.start} → ${r.window.end})`
        : '';
      const onInconclusive = plan.gate['on-inconclusive'] ?? 'fail';
      if (r.verdict === 'inconclusive' && onInconclusive !== 'fail') {
        return {
          detail: `verdict inconclusive: ${r.reason}${windowNote}; going on because gate.on-inconclusive is ${onInconclusive}`,
        };
      }
      if (r.verdict !== 'pass') throw new Error(`verdict ${r.verdict}: ${r.reason}${windowNote}`);
      return { detail: `verdict pass: ${r.reason}${windowNote}` };
    });
    void i;
  }

  async function approve(): Promise<void> {
    const by = options.approver;
    const approvedAt = iso();
    result.approval = {
      by: by ?? 'rehearsal auto-approval',
      at: approvedAt,
      auto: by === undefined,
    };
    await step('approve promotion', `environment ${plan.promotion.environment}`, async () => ({
      detail: by
        ? `approved by ${by} (--approve); in the workflow a required reviewer of ${plan.promotion.environment} approves`
        : `auto-approved by the rehearsal (no --approve); in the workflow the run waits for a required reviewer of ${plan.promotion.environment}${plan.promotion.reviewers.length ? ` (${plan.promotion.reviewers.join(', ')})` : ''}`,
    }));
  }

  async function promote(): Promise<void> {
    const action = plan.promotion.action;
    if (action !== 'global-flag') {
      if (!plan.deploy?.ingress)
        await skip('promote', 'canary to 100%', 'the plan has no canary ingress');
      else if (!kube) await skip('promote', 'canary to 100%', noKube);
      else {
        const k = await engine('rollout', () => import('../k8s/index.js'));
        if (k) {
          await step('promote', 'canary to 100%', async () => {
            const d = plan.deploy!;
            const r = await k.promoteCanary(
              {
                ...kube,
                context: d.context,
                namespace: d.namespace,
                ingress: d.ingress!,
                deployment: d['stable-deployment'],
                images: d.images,
                changeCause: d['change-cause'],
                timeoutMs: parseDuration(d.timeout),
                onImageSet: (s) => void (stablePreviousRevision = s.previousRevision),
              },
              logger,
            );
            return {
              detail: `${d['stable-deployment'] ? `stable ${d['stable-deployment']} on the new images; ` : ''}ingress ${r.ingress}: canary off, the stable ingress carries 100%`,
            };
          });
        }
      }
    }
    if (action !== 'full-weight') {
      const f = await engine('flags', () => import('../flags/index.js'));
      if (!f) return;
      await step('promote', `${plan.flags.flag} on globally`, async () => {
        const r = await f.toggleFlag(
          {
            backend: 'postgres',
            databaseUrl,
            operation: 'enable',
            flag: plan.flags.flag,
            scope: 'global',
            guard: { globalMustBe: 'any' },
            reason: `release ${plan.package} promoted, approved by ${result.approval?.by}`,
          },
          logger,
        );
        if (result.flag) result.flag.after = pick(r.state);
        return { detail: `global ${r.previousState.global} → ${r.state.global}` };
      });
    }
  }

  async function rollback(): Promise<void> {
    const job = 'rollback';
    const attempt = async (
      name: string,
      fn: () => Promise<{ detail: string; status?: 'success' | 'skipped' }>,
    ) => {
      try {
        await step(job, name, fn);
      } catch (e) {
        if (!(e instanceof StepFailed)) throw e;
      }
    };
    if (flagBefore && plan.rollback.flags !== 'keep') {
      const f = await engine('flags', () => import('../flags/index.js'), false);
      if (f) {
        await attempt(`${plan.flags.flag} back to its previous state`, async () => {
          const r =
            plan.rollback.flags === 'restore'
              ? await f.restoreFlag(
                  {
                    backend: 'postgres',
                    databaseUrl,
                    restoreState: flagBefore!,
                    reason: `release ${plan.package} rolled back`,
                  },
                  logger,
                )
              : await f.toggleFlag(
                  {
                    backend: 'postgres',
                    databaseUrl,
                    operation: 'disable',
                    flag: plan.flags.flag,
                    tenants: plan.flags['canary-tenants'],
                    scope: 'tenants',
                    reason: `release ${plan.package} rolled back`,
                  },
                  logger,
                );
          if (result.flag) result.flag.after = pick(r.state);
          result.rolledBack.push(
            `flag ${plan.flags.flag}: global ${r.state.global}, tenants [${r.state.tenants.join(', ')}]`,
          );
          return {
            detail: `global ${r.previousState.global} → ${r.state.global}; tenants [${r.previousState.tenants.join(', ')}] → [${r.state.tenants.join(', ')}]`,
          };
        });
      }
    } else {
      await attempt('flags', async () => ({
        status: 'skipped',
        detail: flagBefore ? 'rollback.flags is keep' : 'the flag was not changed',
      }));
    }
    // A promotion that failed after moving the stable Deployment: put it back before the weight
    // goes to 0, or all traffic would go to the new images on the stable Deployment.
    if (stablePreviousRevision > 0 && plan.deploy?.['stable-deployment']) {
      if (plan.rollback.rollout !== 'undo') {
        await attempt('stable rollout undo', async () => ({
          status: 'skipped',
          detail: `rollback.rollout is keep: ${plan.deploy!['stable-deployment']} stays on the new images`,
        }));
      } else {
        const k = await engine('rollout', () => import('../k8s/index.js'), false);
        if (k) {
          await attempt('stable rollout undo', async () => {
            const d = plan.deploy!;
            const r = await k.undoRollout(
              {
                ...kube,
                context: d.context,
                namespace: d.namespace,
                deployment: d['stable-deployment']!,
                toRevision: stablePreviousRevision,
                timeoutMs: parseDuration(d.timeout),
              },
              logger,
            );
            result.rolledBack.push(
              `${d['stable-deployment']}: revision ${r.fromRevision} → ${r.revision} (template of ${r.toRevision})`,
            );
            return {
              detail: `${d['stable-deployment']}: back to the template of revision ${r.toRevision} (${Object.entries(
                r.images,
              )
                .map(([c, i]) => `${c}=${i}`)
                .join(', ')})`,
            };
          });
        }
      }
    }
    if (plan.deploy?.ingress && plan.rollback.traffic === 'zero') {
      if (!kube)
        await attempt('canary weight 0', async () => ({ status: 'skipped', detail: noKube }));
      else {
        const k = await engine('rollout', () => import('../k8s/index.js'), false);
        if (k) {
          await attempt('canary weight 0', async () => {
            const d = plan.deploy!;
            const r = await k.abortCanary(
              { ...kube, context: d.context, namespace: d.namespace, ingress: d.ingress! },
              logger,
            );
            result.rolledBack.push(`ingress ${r.ingress}: weight 0%`);
            return { detail: `ingress ${r.ingress}: ${r.previousWeight}% → 0%` };
          });
        }
      }
    }
    if (plan.deploy && plan.rollback.rollout === 'undo') {
      if (!kube) await attempt('rollout undo', async () => ({ status: 'skipped', detail: noKube }));
      else if (previousRevision === 0)
        await attempt('rollout undo', async () => ({
          status: 'skipped',
          detail: 'the canary image was not set',
        }));
      else {
        const k = await engine('rollout', () => import('../k8s/index.js'), false);
        if (k) {
          await attempt('rollout undo', async () => {
            const d = plan.deploy!;
            const r = await k.undoRollout(
              {
                ...kube,
                context: d.context,
                namespace: d.namespace,
                deployment: d.deployment,
                toRevision: previousRevision,
                timeoutMs: parseDuration(d.timeout),
              },
              logger,
            );
            result.rolledBack.push(
              `${d.deployment}: revision ${r.fromRevision} → ${r.revision} (template of ${r.toRevision})`,
            );
            return { detail: `${d.deployment}: back to the template of revision ${r.toRevision}` };
          });
        }
      }
    }
    const written = result.backfills.filter((x) => x.rowsWritten > 0);
    if (written.length) {
      await attempt('backfill', async () => ({
        status: 'skipped',
        detail: `kept: ${written.map((x) => `${x.name} ${x.rowsWritten} row(s)`).join(', ')} stay written (a backfill has no undo; it only fills the columns the migrations added)`,
      }));
    }
    await attempt('migrations', async () => ({
      status: 'skipped',
      detail: 'kept: migrations are additive (the rollback does not drop columns)',
    }));
  }

  /**
   * Loads an engine; when it cannot be loaded (not built yet, or broken) the step is skipped with
   * a clear line instead of failing the rehearsal.
   */
  async function engine<T>(
    name: string,
    load: () => Promise<T>,
    record = true,
  ): Promise<T | undefined> {
    try {
      return await load();
    } catch (e) {
      const why = `skipped: the ${name} engine is not available (${(e as Error).message.split('\n')[0]})`;
      if (record) await skip(name, name, why);
      else logger.warning(why);
      return undefined;
    }
  }
}

/** The gate logs one line per measurement; the rehearsal keeps those for `RUNBOOK_DEBUG`. */
function quietMeasurements(logger: Logger): Logger {
  return {
    ...logger,
    info: (m) => (/^\[\d{4}-/.test(m) ? logger.debug(m) : logger.info(m)),
  };
}

/**
 * The worst of a metric's measured values for its condition: the highest for `<` and `<=`, the
 * lowest for `>` and `>=`, the farthest from the threshold for `==` and the closest for `!=`
 * (the highest when there is no threshold). `null` without values.
 */
export function worstValue(condition: string, values: number[], threshold?: number): number | null {
  if (values.length === 0) return null;
  const op = /^\s*(<=|<|>=|>|==|!=)/.exec(condition)?.[1];
  if (op === '>' || op === '>=') return Math.min(...values);
  if (op === '==' && threshold !== undefined) {
    return values.reduce((w, v) => (Math.abs(v - threshold) > Math.abs(w - threshold) ? v : w));
  }
  if (op === '!=' && threshold !== undefined) {
    return values.reduce((w, v) => (Math.abs(v - threshold) < Math.abs(w - threshold) ? v : w));
  }
  return Math.max(...values);
}

function pick(s: { global: string; tenants: string[] }): { global: string; tenants: string[] } {
  return { global: s.global, tenants: [...s.tenants] };
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
