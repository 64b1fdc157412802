/**
 * The compiled release: a release plan turned, once, into the ordered jobs of the reusable
 * workflow (`.github/workflows/release.yml`), each a list of steps (which action and command,
 * its resolved inputs, the secrets it reads, its condition), plus the rollback steps.
 *
 * The workflow's preflight job compiles the plan with the `release` action (`command: plan`) and
 * hands each job its steps as a JSON output; `runbook plan` prints the same release, and
 * `runbook rehearse` executes it step by step. A drift test (test/workflows/drift.test.ts) checks
 * that release.yml holds every compiled step, in order, with the same inputs.
 *
 * Adding a step kind: add one entry to the job's list below (and its executor in
 * `src/release/steps.ts` for the rehearsal); release.yml then needs the step with the same id.
 */
import { ConfigError } from '../errors.js';
import { parseDuration } from '../config/load.js';
import type { LoadedPlan } from './load.js';
import { reportPath } from './load.js';
import type { ReleasePlan } from './schema.js';

/** Version of the compiled-release JSON; a job that reads another version refuses it. */
export const RELEASE_FORMAT = 1;
/** Version of runbook-actions that compiles (kept equal to package.json by a test). */
export const RUNBOOK_VERSION = '0.1.0';
/** GitHub's limit for one job on GitHub-hosted runners, minutes. */
export const GITHUB_HOSTED_JOB_LIMIT_MINUTES = 360;

/** The actions a compiled step can use (folders of `actions/`). */
export type StepAction =
  'migrate' | 'backfill' | 'rollout' | 'flag-toggle' | 'canary-gate' | 'smoke' | 'release';

/** One step of a compiled job. */
export interface ReleaseStep {
  /** Step id in the workflow job (also its `id:`), e.g. `apply`, `set-image`. */
  id: string;
  /** What the step does, in the runbook's words. */
  name: string;
  /** The action the step runs (`actions/<action>`). */
  action: StepAction;
  /** The action's `command` (or `operation` for flag-toggle), written literally in the workflow. */
  command?: string;
  /** Resolved inputs from the plan (strings, as action inputs are). */
  with: Record<string, string>;
  /** Inputs read from secrets: input name → secret name (`secrets.<NAME>` in the workflow). */
  secrets: Record<string, string>;
  /**
   * Inputs that come from what earlier jobs recorded (the rollback reads them from the release
   * records): input name → output name of the `records` step.
   */
  from?: Record<string, string>;
  /**
   * The step's condition as written in the workflow (`if:`); absent when the step runs whenever
   * the step before it succeeded.
   */
  if?: string;
  /** Rollback steps: what this step undoes, for the outline. */
  undoes?: string;
}

/** One leg of a matrix job (a backfill spec, a traffic step). */
export interface ReleaseLeg {
  /** 1-based position. */
  index: number;
  /** What the leg is (e.g. `1%`, a spec path). */
  name: string;
  /** Traffic legs: the canary weight, percent. */
  weight?: number;
  /** Inputs of each step of the leg by step id (the workflow reads `matrix.leg.<id>.<input>`). */
  steps: ReleaseStep[];
}

/** Job ids of the reusable workflow, in run order. */
export const JOB_IDS = [
  'preflight',
  'migrate',
  'deploy-canary',
  'backfill',
  'flags',
  'traffic',
  'promotion',
  'promote',
  'rollback',
  'report',
] as const;
/** One of {@link JOB_IDS}. */
export type JobId = (typeof JOB_IDS)[number];

/** One job of the compiled release. */
export interface ReleaseJob {
  id: JobId;
  /** Readable name (the workflow job's `name:`). */
  name: string;
  /** Job `timeout-minutes`, computed from the plan's durations. */
  timeoutMinutes: number;
  /** Steps of a plain job; empty for a matrix job. */
  steps: ReleaseStep[];
  /** Matrix jobs (backfill, traffic): one leg per entry, run one at a time in order. */
  legs?: ReleaseLeg[];
}

/** The compiled release. */
export interface CompiledRelease {
  format: typeof RELEASE_FORMAT;
  /** runbook-actions version that compiled it. */
  compiler: string;
  package: string;
  title?: string;
  /** Plan file, relative to the repository root. */
  planFile: string;
  environment: string;
  promotionEnvironment: string;
  service: string;
  /** Every secret the release reads (the plan's `secrets` plus what its steps need). */
  secrets: string[];
  /** Where the report goes. */
  reportPath: string;
  /** Workflow run attempt that compiled it (GITHUB_RUN_ATTEMPT; 0 outside a workflow). */
  attempt: number;
  /** What `gate.on-inconclusive` does. */
  onInconclusive: 'fail' | 'pass' | 'neutral';
  jobs: ReleaseJob[];
}

/** Options of {@link compileRelease}. */
export interface CompileOptions {
  /** Plan file path as given (relative to the repository root), for the release and errors. */
  planFile?: string;
  /** Run attempt compiling (default GITHUB_RUN_ATTEMPT, else 0). */
  attempt?: number;
}

const str = (v: string | number | boolean | undefined): string | undefined =>
  v === undefined ? undefined : String(v);

function inputs(o: Record<string, string | number | boolean | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    const s = str(v);
    if (s !== undefined && s !== '') out[k] = s;
  }
  return out;
}

const DB = { 'database-url': 'DATABASE_URL', 'ca-cert': 'DATABASE_CA_CERT' };
const KUBE = { kubeconfig: 'KUBECONFIG' };

function flagSecrets(plan: ReleasePlan): Record<string, string> {
  const b = plan.flags.backend;
  if (b === 'postgres') return { ...DB };
  if (b === 'launchdarkly') return { token: 'FLAG_TOKEN' };
  return { 'base-url': 'FLAG_BASE_URL', token: 'FLAG_TOKEN' };
}

function gateSecrets(plan: ReleasePlan): Record<string, string> {
  switch (plan.gate.provider) {
    case 'prometheus':
      return { 'prometheus-url': 'PROMETHEUS_URL', 'prometheus-token': 'PROMETHEUS_TOKEN' };
    case 'datadog':
      return { 'datadog-api-key': 'DATADOG_API_KEY', 'datadog-app-key': 'DATADOG_APP_KEY' };
    case 'grafana':
      return { 'grafana-url': 'GRAFANA_URL', 'grafana-token': 'GRAFANA_TOKEN' };
  }
}

/** Secrets that must be set for the plan to run (optional ones such as CA certificates excluded). */
const OPTIONAL_SECRETS = new Set(['DATABASE_CA_CERT', 'PROMETHEUS_TOKEN', 'SMOKE_SECRETS']);

const minutes = (ms: number) => Math.ceil(ms / 60_000);

/**
 * Compiles a loaded plan into the release the workflow, `runbook plan` and `runbook rehearse` run.
 * @throws ConfigError (with the plan's file and line) when a job would exceed GitHub's 6-hour
 *   limit for GitHub-hosted runners ({@link GITHUB_HOSTED_JOB_LIMIT_MINUTES}), naming the fix
 */
export function compileRelease(loaded: LoadedPlan, options: CompileOptions = {}): CompiledRelease {
  const plan = loaded.value;
  const attempt = options.attempt ?? Number(process.env.GITHUB_RUN_ATTEMPT ?? 0);
  const flagCommon = inputs({
    backend: plan.flags.backend,
    flag: plan.flags.flag,
    environment: plan.flags.environment,
    project: plan.flags.project,
  });
  const kube = (o: Record<string, string | number | undefined>) =>
    inputs({ context: plan.deploy?.context, namespace: plan.deploy?.namespace, ...o });
  const deployTimeoutMs = plan.deploy ? parseDuration(plan.deploy.timeout) : 0;

  // preflight: the plan step (compile, checks) runs before these.
  const preflight: ReleaseStep[] = [];
  if (plan.migrations) {
    const m = plan.migrations;
    preflight.push({
      id: 'lint',
      name: `lint migrations in ${m.dir}`,
      action: 'migrate',
      command: 'lint',
      with: inputs({ dir: m.dir, 'fail-on': m['fail-on'] }),
      secrets: { ...DB },
    });
    preflight.push({
      id: 'migrate-plan',
      name: 'pending migrations',
      action: 'migrate',
      command: 'plan',
      with: inputs({ dir: m.dir, 'history-table': m['history-table'] }),
      secrets: { ...DB },
    });
  }
  preflight.push({
    id: 'start',
    name: `deployment record for ${plan.environment} (in_progress)`,
    action: 'release',
    command: 'start',
    with: {},
    secrets: {},
  });

  const migrate: ReleaseStep[] = [];
  if (plan.migrations) {
    const m = plan.migrations;
    migrate.push({
      id: 'apply',
      name: `apply migrations in ${m.dir}`,
      action: 'migrate',
      command: 'apply',
      with: inputs({
        dir: m.dir,
        'history-table': m['history-table'],
        'lock-wait': m['lock-wait'] !== undefined ? `${m['lock-wait']}s` : undefined,
        'lock-timeout': m['lock-timeout'],
        'statement-timeout': m['statement-timeout'],
        retries: m.retries,
      }),
      secrets: { ...DB },
    });
  }

  const deploy: ReleaseStep[] = [];
  if (plan.deploy) {
    const d = plan.deploy;
    if (d.manifests)
      deploy.push({
        id: 'apply-manifests',
        name: `apply ${d.manifests}`,
        action: 'rollout',
        command: 'apply',
        with: kube({ manifests: d.manifests }),
        secrets: { ...KUBE },
      });
    deploy.push({
      id: 'set-image',
      name: `canary ${d.deployment} on ${Object.values(d.images).join(', ')}`,
      action: 'rollout',
      command: 'set-image',
      with: kube({
        deployment: d.deployment,
        images: Object.entries(d.images)
          .map(([c, i]) => `${c}=${i}`)
          .join(','),
        'change-cause': d['change-cause'],
      }),
      secrets: { ...KUBE },
    });
    deploy.push({
      id: 'wait',
      name: `wait until ${d.deployment} is ready`,
      action: 'rollout',
      command: 'wait',
      with: kube({ deployment: d.deployment, timeout: d.timeout }),
      secrets: { ...KUBE },
    });
  }

  const backfillLegs: ReleaseLeg[] = plan.backfills.map((b, i) => {
    const common = { spec: b.spec };
    return {
      index: i + 1,
      name: b.spec,
      steps: [
        {
          id: 'analyze',
          name: `analyze ${b.spec}`,
          action: 'backfill',
          command: 'analyze',
          with: inputs({ ...common, 'fail-on-checks': b['fail-on-checks'] }),
          secrets: { ...DB },
        },
        {
          id: 'execute',
          name: `execute ${b.spec}`,
          action: 'backfill',
          command: 'execute',
          with: inputs({
            ...common,
            'batch-size': b['batch-size'],
            'max-batches': b['max-batches'],
          }),
          secrets: { ...DB },
        },
        {
          id: 'verify',
          name: `verify ${b.spec}`,
          action: 'backfill',
          command: 'verify',
          with: inputs(common),
          secrets: { ...DB },
        },
      ],
    };
  });

  const tenants = plan.flags['canary-tenants'].join(',');
  const flags: ReleaseStep[] = [
    {
      id: 'before',
      name: `${plan.flags.flag}: state before the canary`,
      action: 'flag-toggle',
      command: 'status',
      with: { ...flagCommon },
      secrets: flagSecrets(plan),
    },
    {
      id: 'enable',
      name: `${plan.flags.flag} on for ${plan.flags['canary-tenants'].join(', ')} (global stays ${plan.flags['global-must-be']})`,
      action: 'flag-toggle',
      command: 'enable',
      with: inputs({
        ...flagCommon,
        tenants,
        scope: 'tenants',
        plan: plan.flags.plan,
        'global-must-be': plan.flags['global-must-be'],
        reason: `release ${plan.package} canary`,
      }),
      secrets: flagSecrets(plan),
    },
  ];

  const gateIntervalMs = plan.gate.interval ? parseDuration(plan.gate.interval) : 60_000;
  const smokeTimeoutMs = plan.smoke?.timeout ? parseDuration(plan.smoke.timeout) : 5 * 60_000;
  let trafficMs = 0;
  const trafficLegs: ReleaseLeg[] = plan.traffic.steps.map((s, i) => {
    const steps: ReleaseStep[] = [];
    if (plan.deploy?.ingress)
      steps.push({
        id: 'set-weight',
        name: `canary weight ${s.weight}%`,
        action: 'rollout',
        command: 'set-weight',
        with: kube({ ingress: plan.deploy.ingress, weights: s.weight }),
        secrets: { ...KUBE },
      });
    if (plan.smoke && s.smoke)
      steps.push({
        id: 'smoke',
        name: `smoke checks at ${s.weight}%`,
        action: 'smoke',
        with: inputs({
          checks: plan.smoke.checks,
          'base-url': plan.smoke['base-url'],
          env: plan.smoke.env,
          timeout: plan.smoke.timeout,
        }),
        secrets: { secrets: 'SMOKE_SECRETS', ...DB },
      });
    steps.push({
      id: 'gate',
      name: `canary gate at ${s.weight}%${s.duration ? ` for ${s.duration}` : ''}`,
      action: 'canary-gate',
      with: inputs({
        criteria: plan.gate.criteria,
        mode: 'live',
        provider: plan.gate.provider,
        service: plan.service,
        env: plan.environment,
        tenants,
        duration: s.duration,
        interval: plan.gate.interval,
        'on-inconclusive': plan.gate['on-inconclusive'] ?? 'fail',
        'measurements-file': `.release-records/gate-${i + 1}.json`,
      }),
      secrets: gateSecrets(plan),
    });
    // The leg's own time: the analysis window (gate default 30m), smoke checks, a rollout margin.
    const legMs =
      (s.duration ? parseDuration(s.duration) : 30 * 60_000) +
      gateIntervalMs * 2 +
      (plan.smoke && s.smoke ? smokeTimeoutMs : 0) +
      10 * 60_000;
    const legMinutes = minutes(legMs);
    if (legMinutes > GITHUB_HOSTED_JOB_LIMIT_MINUTES) {
      throw new ConfigError(
        `traffic.steps.${i}.duration: the traffic job at ${s.weight}% would need ${legMinutes} minutes, above GitHub's ${GITHUB_HOSTED_JOB_LIMIT_MINUTES}-minute job limit for GitHub-hosted runners; split it into several steps of the same weight, each at most ${GITHUB_HOSTED_JOB_LIMIT_MINUTES - 20}m`,
        loaded.locate(['traffic', 'steps', i, 'duration']),
        'plan',
      );
    }
    trafficMs = Math.max(trafficMs, legMs);
    return { index: i + 1, name: `${s.weight}%`, weight: s.weight, steps };
  });

  const promote: ReleaseStep[] = [];
  const action = plan.promotion.action;
  if (action !== 'global-flag' && plan.deploy?.ingress) {
    promote.push({
      id: 'promote',
      name: `${plan.deploy['stable-deployment']} on the new images, canary ingress off (100% stable)`,
      action: 'rollout',
      command: 'promote',
      with: kube({
        deployment: plan.deploy['stable-deployment'],
        images: Object.entries(plan.deploy.images)
          .map(([c, i]) => `${c}=${i}`)
          .join(','),
        ingress: plan.deploy.ingress,
        'change-cause': plan.deploy['change-cause'],
        timeout: plan.deploy.timeout,
      }),
      secrets: { ...KUBE },
    });
  }
  if (action !== 'full-weight') {
    promote.push({
      id: 'flag-global',
      name: `${plan.flags.flag} on globally`,
      action: 'flag-toggle',
      command: 'enable',
      // No `plan:` (its canary guard, global must stay off, would refuse this write).
      with: inputs({
        ...flagCommon,
        scope: 'global',
        'global-must-be': 'any',
        reason: `release ${plan.package} promoted`,
      }),
      secrets: flagSecrets(plan),
    });
  }

  const rollback: ReleaseStep[] = [
    {
      id: 'records',
      name: 'read what the release changed (release records)',
      action: 'release',
      command: 'records',
      with: {},
      secrets: {},
      if: 'always()',
    },
  ];
  if (plan.rollback.flags !== 'keep') {
    rollback.push({
      id: 'flags',
      name: `${plan.flags.flag} back to its state before the release`,
      action: 'flag-toggle',
      command: plan.rollback.flags === 'disable' ? 'disable' : 'restore',
      with: inputs({
        ...flagCommon,
        tenants,
        'global-must-be': 'any',
        reason: `release ${plan.package} rolled back`,
      }),
      secrets: flagSecrets(plan),
      from: { 'restore-state': 'flag-previous-state' },
      if: "always() && steps.records.outputs.flag-previous-state != ''",
      undoes: `${plan.flags.flag} for the canary tenants (and globally after a promotion)`,
    });
  }
  if (plan.deploy && plan.rollback.rollout === 'undo' && plan.deploy['stable-deployment']) {
    rollback.push({
      id: 'stable-undo',
      name: `${plan.deploy['stable-deployment']} back to its revision before promotion`,
      action: 'rollout',
      command: 'undo',
      with: kube({ deployment: plan.deploy['stable-deployment'], timeout: plan.deploy.timeout }),
      secrets: { ...KUBE },
      from: { 'to-revision': 'stable-previous-revision' },
      if: "always() && steps.records.outputs.stable-previous-revision != ''",
      undoes: `a promotion that moved ${plan.deploy['stable-deployment']} to the new images`,
    });
  }
  if (plan.deploy?.ingress && plan.rollback.traffic === 'zero') {
    rollback.push({
      id: 'weight-zero',
      name: `canary weight 0 on ${plan.deploy.ingress}`,
      action: 'rollout',
      command: 'set-weight',
      with: kube({ ingress: plan.deploy.ingress, weights: 0 }),
      secrets: { ...KUBE },
      if: "always() && steps.records.outputs.canary-deployed == 'true'",
      undoes: 'the traffic steps',
    });
  }
  if (plan.deploy && plan.rollback.rollout === 'undo') {
    rollback.push({
      id: 'undo',
      name: `${plan.deploy.deployment} back to its revision before the canary`,
      action: 'rollout',
      command: 'undo',
      with: kube({ deployment: plan.deploy.deployment, timeout: plan.deploy.timeout }),
      secrets: { ...KUBE },
      from: { 'to-revision': 'canary-previous-revision' },
      if: "always() && steps.records.outputs.canary-previous-revision != ''",
      undoes: `the canary image on ${plan.deploy.deployment}`,
    });
  }

  const lockWaitMs = (plan.migrations?.['lock-wait'] ?? 60) * 1000;
  const statementMs = plan.migrations?.['statement-timeout']
    ? parseDuration(plan.migrations['statement-timeout'])
    : 0;
  const jobs: ReleaseJob[] = [
    { id: 'preflight', name: 'preflight', timeoutMinutes: 15, steps: preflight },
    {
      id: 'migrate',
      name: 'migrate',
      timeoutMinutes: Math.min(
        GITHUB_HOSTED_JOB_LIMIT_MINUTES,
        Math.max(30, minutes(lockWaitMs + statementMs * ((plan.migrations?.retries ?? 3) + 1))),
      ),
      steps: migrate,
    },
    {
      id: 'deploy-canary',
      name: 'deploy canary',
      timeoutMinutes: minutes(deployTimeoutMs + 10 * 60_000),
      steps: deploy,
    },
    { id: 'backfill', name: 'backfill', timeoutMinutes: 120, steps: [], legs: backfillLegs },
    { id: 'flags', name: 'flags on for canary tenants', timeoutMinutes: 10, steps: flags },
    {
      id: 'traffic',
      name: 'traffic',
      timeoutMinutes: minutes(trafficMs),
      steps: [],
      legs: trafficLegs,
    },
    {
      id: 'promotion',
      name: 'approve promotion',
      timeoutMinutes: 10,
      steps: [
        {
          id: 'approval',
          name: `approval by a required reviewer of ${plan.promotion.environment}`,
          action: 'release',
          command: 'approval',
          with: {},
          secrets: {},
        },
      ],
    },
    {
      id: 'promote',
      name: 'promote',
      timeoutMinutes: minutes(deployTimeoutMs + 15 * 60_000),
      steps: promote,
    },
    {
      id: 'rollback',
      name: 'rollback',
      // Two undos, each waiting up to deploy.timeout, plus the flag restore and weight 0.
      timeoutMinutes: minutes(2 * deployTimeoutMs + 15 * 60_000),
      steps: rollback,
    },
    {
      id: 'report',
      name: 'report',
      timeoutMinutes: 10,
      steps: [
        {
          id: 'report',
          name: 'release report and deployment status',
          action: 'release',
          command: 'report',
          with: {},
          secrets: {},
        },
      ],
    },
  ];
  for (const j of jobs) {
    if (j.timeoutMinutes > GITHUB_HOSTED_JOB_LIMIT_MINUTES) {
      throw new ConfigError(
        `deploy.timeout: the ${j.id} job would need ${j.timeoutMinutes} minutes, above GitHub's ${GITHUB_HOSTED_JOB_LIMIT_MINUTES}-minute job limit for GitHub-hosted runners; lower deploy.timeout`,
        loaded.locate(['deploy', 'timeout']),
        'plan',
      );
    }
  }

  const secrets = new Set<string>(plan.secrets);
  for (const s of allSteps({ jobs } as CompiledRelease)) {
    for (const name of Object.values(s.step.secrets)) {
      if (!OPTIONAL_SECRETS.has(name)) secrets.add(name);
    }
  }
  return {
    format: RELEASE_FORMAT,
    compiler: RUNBOOK_VERSION,
    package: plan.package,
    title: plan.title,
    planFile: options.planFile ?? loaded.file,
    environment: plan.environment,
    promotionEnvironment: plan.promotion.environment,
    service: plan.service,
    secrets: [...secrets].sort(),
    reportPath: reportPath(plan),
    attempt,
    onInconclusive: plan.gate['on-inconclusive'] ?? 'fail',
    jobs,
  };
}

/** Every step of a release in run order, with its job and leg. */
export function allSteps(
  release: Pick<CompiledRelease, 'jobs'>,
): { job: ReleaseJob; leg?: ReleaseLeg; step: ReleaseStep }[] {
  return release.jobs.flatMap((job) =>
    job.legs
      ? job.legs.flatMap((leg) => leg.steps.map((step) => ({ job, leg, step })))
      : job.steps.map((step) => ({ job, step })),
  );
}

/** The job `id` of a release. @throws Error when the release has no such job */
export function jobOf(release: Pick<CompiledRelease, 'jobs'>, id: JobId): ReleaseJob {
  const j = release.jobs.find((x) => x.id === id);
  if (!j) throw new Error(`the compiled release has no job '${id}'`);
  return j;
}

/**
 * What the workflow's preflight job outputs: one JSON value per job. Plain jobs get a map of
 * step id → inputs (`fromJSON(needs.preflight.outputs.migrate).apply.dir`), matrix jobs a list
 * of legs, each with its steps' inputs by id (`matrix.leg.gate.duration`), and `timeouts` the
 * job timeouts in minutes.
 */
export function workflowOutputs(release: CompiledRelease): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byId = (steps: ReleaseStep[]) =>
    Object.fromEntries(steps.map((s) => [s.id, s.with])) as Record<string, unknown>;
  for (const j of release.jobs) {
    out[j.id] = j.legs
      ? j.legs.map((l) => ({
          index: l.index,
          name: l.name,
          ...(l.weight !== undefined ? { weight: l.weight } : {}),
          ...byId(l.steps),
        }))
      : byId(j.steps);
  }
  out.timeouts = Object.fromEntries(release.jobs.map((j) => [j.id, j.timeoutMinutes]));
  return out;
}
