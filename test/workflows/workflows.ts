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
  outputs?: Record<string, string>;
  steps?: Step[];
  'continue-on-error'?: unknown;
}
export interface Workflow {
  name?: string;
  on: any;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
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

export type JobResult = 'success' | 'failure' | 'skipped';

/**
 * Which jobs run, and with what result, when the jobs in `failing` fail and every other job
 * that runs succeeds. Follows GitHub's documented job-level status functions: a job runs when
 * its `if` (default `success()`) is true; `success()` is true when no ancestor failed or was
 * skipped, `failure()` when some ancestor failed, `always()` always, `cancelled()` never here.
 * `needs.<job>.result` and `needs.<job>.outputs.<name>` are read from the simulated results
 * and `outputs` (missing outputs are '' as on GitHub).
 */
export function simulate(
  wf: Workflow,
  failing: string[],
  outputs: Record<string, Record<string, string>> = {},
): Record<string, JobResult> {
  const result: Record<string, JobResult> = {};
  const order = topological(wf);
  for (const id of order) {
    const job = wf.jobs[id];
    const anc = [...ancestors(wf, id)];
    const ctx = {
      success: anc.every((a) => result[a] === 'success'),
      failure: anc.some((a) => result[a] === 'failure'),
    };
    const cond = job.if ?? 'success()';
    const runs = evaluate(cond, ctx, (path) => {
      const m = /^needs\.([\w-]+)\.(result|outputs\.([\w-]+))$/.exec(path);
      if (!m) throw new Error(`cannot evaluate '${path}' in '${cond}'`);
      if (!needsOf(job).includes(m[1])) throw new Error(`${id} reads ${m[1]} without needing it`);
      if (m[2] === 'result') return result[m[1]];
      return result[m[1]] === 'success' ? (outputs[m[1]]?.[m[3]] ?? '') : '';
    });
    result[id] = !runs ? 'skipped' : failing.includes(id) ? 'failure' : 'success';
  }
  return result;
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

/** Evaluates the small subset of the expression language job-level `if`s here use. */
function evaluate(
  expr: string,
  ctx: { success: boolean; failure: boolean },
  lookup: (path: string) => string,
): boolean {
  const body = expr
    .trim()
    .replace(/^\$\{\{/, '')
    .replace(/\}\}$/, '')
    .trim();
  // Implicit success() unless the condition uses a status function (GitHub's rule).
  const usesStatus = /\b(success|failure|always|cancelled)\(\)/.test(body);
  const js = body
    .replace(/'([^']*)'/g, (_m, s: string) => JSON.stringify(s))
    .replace(/\bsuccess\(\)/g, String(ctx.success))
    .replace(/\bfailure\(\)/g, String(ctx.failure))
    .replace(/\balways\(\)/g, 'true')
    .replace(/\bcancelled\(\)/g, 'false')
    .replace(/\bneeds\.[\w-]+\.(?:result|outputs\.[\w-]+)/g, (p) => JSON.stringify(lookup(p)))
    .replace(/==/g, '===')
    .replace(/!===/g, '!==');
  if (/[A-Za-z_$][\w$]*\s*\(|\b(github|inputs|vars|env)\./.test(js.replace(/"[^"]*"/g, '""'))) {
    throw new Error(`unsupported job condition: ${expr}`);
  }
  const value = Boolean(new Function(`return (${js});`)());
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

/** Our action a `uses:` names (`runbook-actions/runbook-actions/actions/<name>@ref`), if any. */
export function ourAction(uses: string | undefined): string | undefined {
  return /^runbook-actions\/runbook-actions\/actions\/([\w-]+)@/.exec(uses ?? '')?.[1];
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
