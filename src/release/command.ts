/**
 * The `release` action's commands as one module (the action's `main.ts` only reads inputs and
 * writes outputs): `plan` (compile and check, in preflight), `guard` (re-run and traffic-order
 * guard, first step of every later job), `record` / `records` (what a job did, for the rollback
 * and the report), and the checks of `approval`.
 */
import { relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { compileRelease, workflowOutputs, type CompiledRelease } from './compile.js';
import { loadPlan, missingPaths } from './load.js';
import {
  checkAttempt,
  checkPreviousLeg,
  readRecords,
  readRelease,
  RECORDS_DIR,
} from './records.js';
import type { RunApproval } from '../github/environments.js';

/** Every secret the reusable workflow declares (on.workflow_call.secrets). */
export const WORKFLOW_SECRETS = [
  'DATABASE_URL',
  'DATABASE_CA_CERT',
  'KUBECONFIG',
  'FLAG_TOKEN',
  'FLAG_BASE_URL',
  'PROMETHEUS_URL',
  'PROMETHEUS_TOKEN',
  'DATADOG_API_KEY',
  'DATADOG_APP_KEY',
  'GRAFANA_URL',
  'GRAFANA_TOKEN',
  'SMOKE_SECRETS',
] as const;

/** Options of {@link planCommand}. */
export interface PlanCommandOptions {
  /** Plan path relative to `root` (input `plan`). */
  plan: string;
  /** The workflow's `environment` input; must be the plan's. */
  environment: string;
  /** Repository root (the workspace). */
  root: string;
  /** Secret values by name, as the step's environment holds them (never logged). */
  secrets: Record<string, string | undefined>;
  attempt: number;
}

/**
 * Compiles the plan for the workflow and checks, before anything runs: the environment input,
 * every file the plan names, every secret the compiled release needs, and that no compiled value
 * contains a secret's value (the runner would silently drop that job output).
 * @returns the release and the job outputs (JSON values) preflight sets
 * @throws ConfigError with the plan's file and line (the first problem; all missing files are
 *   listed in its message)
 */
export function planCommand(o: PlanCommandOptions): {
  release: CompiledRelease;
  outputs: Record<string, unknown>;
} {
  const file = resolve(o.root, o.plan);
  const loaded = loadPlan(file, 'plan');
  if (loaded.value.environment !== o.environment) {
    throw new ConfigError(
      `environment: the workflow's environment input is '${o.environment}' but the plan releases to '${loaded.value.environment}'`,
      loaded.locate(['environment']),
      'environment',
    );
  }
  const missing = missingPaths(loaded, o.root);
  if (missing.length) {
    const first = missing[0];
    throw new ConfigError(
      missing.map((m) => m.message.replace(/^.*?: /, '')).join('; '),
      first.location,
      'plan',
    );
  }
  const release = compileRelease(loaded, {
    planFile: relative(o.root, file),
    attempt: o.attempt,
  });
  const unset = release.secrets.filter((n) => !o.secrets[n]);
  if (unset.length) {
    throw new ConfigError(
      `secrets not set: ${unset.join(', ')} (the release needs them; set them on the environment '${release.environment}' or pass them to the workflow)`,
      loaded.locate(['secrets']) ?? loaded.locate([]),
      'plan',
    );
  }
  const outputs = workflowOutputs(release);
  const text = JSON.stringify({ release, outputs });
  for (const [name, value] of Object.entries(o.secrets)) {
    if (value && value.length >= 4 && text.includes(value)) {
      throw new ConfigError(
        `a plan value equals the secret ${name}: the runner would drop every job output that holds it. Keep secret values out of the plan (e.g. pass smoke.base-url through a variable)`,
        loaded.locate([]),
        'plan',
      );
    }
  }
  return { release, outputs };
}

/**
 * The guard at the start of every job after preflight.
 * @param leg - traffic leg (1-based); the previous leg's record must be in `dir`
 * @throws ConfigError for version skew, a re-run attempt or a traffic step out of order
 */
export function guardCommand(o: {
  release: string;
  job: string;
  attempt: number;
  leg?: number;
  dir?: string;
}): CompiledRelease {
  const release = readRelease(o.release);
  checkAttempt(release, o.attempt, o.job);
  if (o.job === 'traffic' && o.leg)
    checkPreviousLeg(release, readRecords(o.dir ?? RECORDS_DIR), o.leg, o.attempt);
  return release;
}

/**
 * Who approved the promotion environment in this run, from the run's review history.
 * @throws ConfigError when the environment was rejected, or nobody approved it (no required
 *   reviewers, or an administrator bypassed them)
 */
export function approvalCommand(
  release: CompiledRelease,
  approvals: RunApproval[],
): { by: string; comment: string } {
  const env = release.promotionEnvironment;
  const mine = approvals.filter((a) => a.environments.includes(env));
  const rejected = mine.find((a) => a.state === 'rejected');
  if (rejected) {
    throw new ConfigError(
      `promotion of ${release.package} to ${release.environment} was rejected by ${rejected.user}${rejected.comment ? `: ${rejected.comment}` : ''}`,
    );
  }
  const approved = mine.find((a) => a.state === 'approved');
  if (!approved) {
    throw new ConfigError(
      `no approval of environment '${env}' in this run: add required reviewers to it (Settings → Environments → ${env}) and do not bypass them, so promotion waits for a person`,
    );
  }
  return { by: approved.user, comment: approved.comment };
}
