/**
 * Helpers for the workflow tests: reading `.github/workflows/*.yml` with the `yaml` package and
 * a small model of how GitHub Actions decides which jobs of a run execute.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

export const root = resolve(import.meta.dirname, '../..');
export const workflowDir = resolve(root, '.github/workflows');

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  'continue-on-error'?: unknown;
}
export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  environment?: string | { name: string; url?: string; deployment?: boolean };
  strategy?: { 'max-parallel'?: number; 'fail-fast'?: boolean; matrix?: unknown };
  'timeout-minutes'?: number | string;
  outputs?: Record<string, string>;
  steps?: Step[];
  'continue-on-error'?: unknown;
}
export interface Workflow {
  name?: string;
  on: any;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean; queue?: string };
  jobs: Record<string, Job>;
}

/** File names of every workflow. */
export function workflowFiles(): string[] {
  return readdirSync(workflowDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

export function readWorkflow(file: string): { text: string; wf: Workflow } {
  const text = readFileSync(resolve(workflowDir, file), 'utf8');
  return { text, wf: parse(text) as Workflow };
}

export function needsOf(job: Job): string[] {
  return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}

/** Every job `id` depends on, directly or through other jobs. */
export function ancestors(wf: Workflow, id: string): Set<string> {
  const out = new Set<string>();
  const visit = (j: string) => {
    for (const n of needsOf(wf.jobs[j])) {
      if (!out.has(n)) {
        out.add(n);
        visit(n);
      }
    }
  };
  visit(id);
  return out;
}

/** A job's conclusion as the `needs` context reports it, plus `waiting` (held by a reviewer). */
export type JobResult = 'success' | 'failure' | 'cancelled' | 'skipped' | 'waiting';

/** What happens in a simulated run. */
export interface Scenario {
  /** Jobs in which a step fails. */
  failing?: string[];
  /** Jobs that run past their `timeout-minutes`: GitHub cancels them (conclusion `cancelled`). */
  timedOut?: string[];
  /** The operator cancels the run while this job runs: it is cancelled, and so is the run. */
  cancelDuring?: string;
  /** Job outputs (missing outputs are '' as on GitHub). */
  outputs?: Record<string, Record<string, string>>;
  /** Protection rules by environment name: required reviewers hold every job that names it. */
  reviewers?: string[];
  /** Review decisions by environment name (default: nobody reviews, the job keeps waiting). */
  reviews?: Record<string, 'approved' | 'rejected'>;
  /** `inputs.environment` and the promotion environment the compiled release names. */
  environment?: string;
  promotionEnvironment?: string;
  /**
   * "Re-run failed jobs": the previous attempt's results. Jobs that succeeded keep their result
   * and outputs (they are not re-run); failed or cancelled jobs and every job that depends on one
   * run again in attempt `attempt`.
   */
  previous?: Record<string, JobResult>;
  /** Run attempt (GITHUB_RUN_ATTEMPT) of this simulation (default 1). */
  attempt?: number;
}

/**
 * Which jobs run, and with what result, in a scenario. Follows GitHub's documented job-level
 * status functions: a job runs when its `if` (default `success()`) is true; `success()` is true
 * when every ancestor succeeded and the run is not cancelled, `failure()` when some ancestor
 * failed, `cancelled()` when the run was cancelled, `always()` always. A cancelled run skips
 * every later job whose condition is not true through `always()` or `cancelled()`. A job that
 * names an environment with required reviewers waits until they approve (a rejection fails it).
 * `needs.<job>.result`, `needs.<job>.outputs.<name>` and `contains(needs.*.result, '<r>')` read
 * the simulated results.
 */
export function simulate(
  wf: Workflow,
  scenario: Scenario | string[] = {},
  outputs: Record<string, Record<string, string>> = {},
): Record<string, JobResult> {
  const sc: Scenario = Array.isArray(scenario) ? { failing: scenario, outputs } : scenario;
  const out = sc.outputs ?? outputs;
  const result: Record<string, JobResult> = {};
  let runCancelled = false;
  const order = topological(wf);
  const rerun = new Set<string>();
  if (sc.previous) {
    for (const id of order) {
      const prev = sc.previous[id];
      if (
        prev === 'failure' ||
        prev === 'cancelled' ||
        needsOf(wf.jobs[id]).some((n) => rerun.has(n))
      )
        rerun.add(id);
    }
  }
  for (const id of order) {
    const job = wf.jobs[id];
    if (sc.previous && !rerun.has(id)) {
      result[id] = sc.previous[id] ?? 'skipped';
      continue;
    }
    const anc = [...ancestors(wf, id)];
    if (anc.some((a) => result[a] === 'waiting')) {
      result[id] = 'waiting';
      continue;
    }
    const ctx = {
      success: !runCancelled && anc.every((a) => result[a] === 'success'),
      failure: anc.some((a) => result[a] === 'failure'),
      cancelled: runCancelled,
    };
    const cond = job.if ?? 'success()';
    const runs = evaluate(cond, ctx, (path) => {
      const star = /^needs\.\*\.result$/.exec(path);
      if (star) return needsOf(job).map((n) => result[n]);
      const m = /^needs\.([\w-]+)\.(result|outputs\.([\w-]+))$/.exec(path);
      if (!m) throw new Error(`cannot evaluate '${path}' in '${cond}'`);
      if (!needsOf(job).includes(m[1])) throw new Error(`${id} reads ${m[1]} without needing it`);
      if (m[2] === 'result') return result[m[1]];
      return result[m[1]] === 'success' || result[m[1]] === 'failure'
        ? (out[m[1]]?.[m[3]] ?? '')
        : '';
    });
    if (!runs) {
      result[id] = 'skipped';
      continue;
    }
    const env = environmentName(job, sc);
    if (env && (sc.reviewers ?? []).includes(env)) {
      const review = sc.reviews?.[env];
      if (!review) {
        result[id] = 'waiting';
        continue;
      }
      if (review === 'rejected') {
        result[id] = 'failure';
        continue;
      }
    }
    const attempt = sc.attempt ?? 1;
    const stale = attempt > 1 && rerun.has(id) && hasGuard(job);
    if (sc.cancelDuring === id) {
      result[id] = 'cancelled';
      runCancelled = true;
    } else if ((sc.timedOut ?? []).includes(id)) result[id] = 'cancelled';
    else if ((sc.failing ?? []).includes(id) || stale) result[id] = 'failure';
    else result[id] = 'success';
  }
  return result;
}

/** The environment a job names, resolved against the scenario ('' when none). */
export function environmentName(job: Job, sc: Scenario): string {
  const raw = typeof job.environment === 'string' ? job.environment : job.environment?.name;
  if (!raw) return '';
  if (raw.includes('inputs.environment')) return sc.environment ?? 'production';
  if (raw.includes('promotionEnvironment'))
    return sc.promotionEnvironment ?? 'production-promotion';
  return raw;
}

/** Whether the job starts with the release action's re-run guard (`command: guard`). */
export function hasGuard(job: Job): boolean {
  return (job.steps ?? []).some((s) => s.id === 'guard' && s.with?.command === 'guard');
}

/**
 * The steps of one job that execute, in order, and the step that failed. A step runs when its
 * `if` is true: `success()` (the default) while no step before failed, `failure()` after one
 * did, `always()` always. `lookup` answers every other value the conditions read
 * (`fromJSON(...)...`, `matrix.leg...`, `steps.<id>.outputs...`). The release action's guard
 * fails when `attempt` is not the attempt that compiled the release (`compiledAttempt`).
 */
export function simulateSteps(
  job: Job,
  o: {
    attempt: number;
    compiledAttempt: number;
    lookup: (path: string) => unknown;
    failing?: string[];
  },
): { ran: string[]; failed?: string } {
  const ran: string[] = [];
  let failed: string | undefined;
  (job.steps ?? []).forEach((s, i) => {
    const id = s.id ?? `#${i}`;
    const cond = s.if ?? 'success()';
    const ok = evaluate(
      cond,
      { success: failed === undefined, failure: failed !== undefined, cancelled: false },
      o.lookup,
    );
    if (!ok) return;
    ran.push(id);
    const guardFails = s.with?.command === 'guard' && o.attempt !== o.compiledAttempt;
    if (guardFails || (o.failing ?? []).includes(id)) failed ??= id;
  });
  return { ran, failed };
}

function topological(wf: Workflow): string[] {
  const done: string[] = [];
  const visit = (id: string) => {
    if (done.includes(id)) return;
    needsOf(wf.jobs[id]).forEach(visit);
    done.push(id);
  };
  Object.keys(wf.jobs).forEach(visit);
  return done;
}

/** Evaluates the subset of the expression language the `if`s here use. */
function evaluate(
  expr: string,
  ctx: { success: boolean; failure: boolean; cancelled: boolean },
  lookup: (path: string) => unknown,
): boolean {
  const body = expr
    .trim()
    .replace(/^\$\{\{/, '')
    .replace(/\}\}$/, '')
    .trim();
  // Implicit success() unless the condition uses a status function (GitHub's rule).
  const usesStatus = /\b(success|failure|always|cancelled)\(\)/.test(body);
  const values: unknown[] = [];
  const js = body
    .replace(/'([^']*)'/g, (_m, s: string) => JSON.stringify(s))
    .replace(/\bsuccess\(\)/g, String(ctx.success))
    .replace(/\bfailure\(\)/g, String(ctx.failure))
    .replace(/\balways\(\)/g, 'true')
    .replace(/\bcancelled\(\)/g, String(ctx.cancelled))
    .replace(
      /\b(?:fromJSON\([\w.-]+\)|needs|matrix|steps)(?:\.(?:[\w-]+|\*))+/g,
      (p) => `__v[${values.push(lookup(p)) - 1}]`,
    )
    .replace(/\bcontains\(/g, '__contains(')
    .replace(/==/g, '===')
    .replace(/!===/g, '!==');
  if (/\b(github|inputs|vars|env)\./.test(js.replace(/"[^"]*"/g, '""'))) {
    throw new Error(`unsupported condition: ${expr}`);
  }
  const contains = (a: unknown, b: unknown) =>
    Array.isArray(a) ? a.includes(b) : String(a ?? '').includes(String(b));
  const value = Boolean(
    new Function('__v', '__contains', `return (${js});`)(
      values.map((v) => (v === undefined || v === null ? '' : v)),
      contains,
    ),
  );
  return usesStatus ? value : value && ctx.success;
}

/** The permissions a job's steps need, derived from what they do. */
export function neededPermissions(job: Job): Record<string, 'read' | 'write'> {
  const need: Record<string, 'read' | 'write'> = {};
  const add = (scope: string, level: 'read' | 'write') => {
    if (need[scope] !== 'write') need[scope] = level;
  };
  for (const step of job.steps ?? []) {
    const uses = step.uses ?? '';
    const run = step.run ?? '';
    const script = String(step.with?.script ?? '');
    if (uses.startsWith('actions/checkout@')) add('contents', 'read');
    // The release action: protection rules and approvals are read with `actions: read`, the
    // deployment record is written with `deployments: write`.
    const command = ourAction(uses) === 'release' ? String(step.with?.command ?? '') : '';
    if (command === 'plan' && step.with?.token) add('actions', 'read');
    if (command === 'approval') add('actions', 'read');
    if (command === 'start' || (command === 'report' && step.with?.token))
      add('deployments', 'write');
    if (/gh api --method POST "repos\/\$GITHUB_REPOSITORY\/deployments/.test(run))
      add('deployments', 'write');
    if (/gh api "repos\/\$GITHUB_REPOSITORY\/actions\/runs\/[^"]*\/approvals"/.test(run))
      add('actions', 'read');
    if (/issues\.(createComment|updateComment)/.test(script)) add('pull-requests', 'write');
    if (/issues\.listComments/.test(script)) add('pull-requests', 'read');
    if (/gh release create|git push/.test(run)) add('contents', 'write');
    if (/npm publish --provenance/.test(run)) add('id-token', 'write');
  }
  return need;
}

/** An action's interface as its `actions/<name>/action.yml` declares it. */
export interface ActionContract {
  inputs: Record<string, { required?: boolean; default?: unknown }>;
  outputs: string[];
}

/** The names of the actions in this repository (folders of `actions/` with an action.yml). */
export function actionNames(): string[] {
  return readdirSync(resolve(root, 'actions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(resolve(root, 'actions', d.name, 'action.yml')))
    .map((d) => d.name)
    .sort();
}

/**
 * Reads `actions/<name>/action.yml`: its inputs (with `required` and `default`) and the names
 * of its outputs. Throws when the file does not exist, so a reference to a removed action fails.
 */
export function actionContract(name: string): ActionContract {
  const meta = parse(readFileSync(resolve(root, 'actions', name, 'action.yml'), 'utf8')) as {
    inputs?: ActionContract['inputs'];
    outputs?: Record<string, unknown>;
  };
  return { inputs: meta.inputs ?? {}, outputs: Object.keys(meta.outputs ?? {}) };
}

/**
 * Our action a `uses:` names, if any: `./.runbook-actions/actions/<name>` (release.yml: a checkout
 * of runbook-actions at the workflow's own commit) or `runbook-actions/runbook-actions/actions/<name>@ref`.
 */
export function ourAction(uses: string | undefined): string | undefined {
  return (
    /^\.\/\.runbook-actions\/actions\/([\w-]+)$/.exec(uses ?? '')?.[1] ??
    /^runbook-actions\/runbook-actions\/actions\/([\w-]+)@/.exec(uses ?? '')?.[1]
  );
}

/**
 * What is wrong with one step's use of an action: inputs it passes that the action does not
 * declare, and required inputs (without a default) it leaves out.
 */
export function inputProblems(contract: ActionContract, given: string[]): string[] {
  const problems: string[] = [];
  for (const input of given) {
    if (!(input in contract.inputs)) problems.push(`unknown input '${input}'`);
  }
  for (const [name, spec] of Object.entries(contract.inputs)) {
    if (spec.required && spec.default === undefined && !given.includes(name)) {
      problems.push(`required input '${name}' missing`);
    }
  }
  return problems;
}
