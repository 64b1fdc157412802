/**
 * Release records: what each job of the reusable workflow did, written by the `release` action
 * (`command: record`) at the end of every job and uploaded as an artifact
 * (`release-record-<job>[-<leg>]`). They carry state between jobs instead of job outputs (the
 * runner drops a job output that contains a secret's value, silently): the flag's previous
 * state and the revisions the rollback goes back to, each traffic leg's verdict that the next
 * leg requires, and the step outcomes the report renders.
 *
 * Also here: reading a compiled release in a job (version skew is refused naming both
 * versions), the re-run guard, and the traffic-order guard.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { redactCredentials, redactSecrets } from '../redact.js';
import { RELEASE_FORMAT, RUNBOOK_VERSION, type CompiledRelease } from './compile.js';

/** Directory the records are written to and downloaded into (relative to the workspace). */
export const RECORDS_DIR = '.release-records';

/** One step as the `steps` context shows it (`toJSON(steps)`). */
export interface StepContext {
  outcome?: string;
  conclusion?: string;
  outputs?: Record<string, string>;
}

/** What one job (or one leg of a matrix job) did. */
export interface JobRecord {
  job: string;
  /** Matrix leg index (1-based), for backfill and traffic. */
  leg?: number;
  /** Run attempt that wrote the record (GITHUB_RUN_ATTEMPT). */
  attempt: number;
  /** RFC 3339 times. */
  startedAt?: string;
  finishedAt: string;
  /** The job's steps by id: outcome, conclusion and outputs. */
  steps: Record<string, StepContext>;
}

/** The file name of a record. */
export function recordFile(job: string, leg?: number): string {
  return `${job}${leg ? `-${leg}` : ''}.json`;
}

/**
 * Writes a job record into `dir`, redacted: every form of each given secret value and every
 * credential recognised by shape (src/redact.ts) is replaced before the file is written.
 * @param steps - the `steps` context as JSON text (`toJSON(steps)`) or object
 * @returns the file written
 * @throws ConfigError (input `steps`) when `steps` is not JSON
 */
export function writeRecord(
  dir: string,
  record: Omit<JobRecord, 'steps'> & { steps: string | Record<string, StepContext> },
  secrets: readonly string[] = [],
): string {
  let steps: Record<string, StepContext>;
  try {
    steps = typeof record.steps === 'string' ? JSON.parse(record.steps || '{}') : record.steps;
  } catch (e) {
    throw new ConfigError(`not JSON: ${(e as Error).message}`, undefined, 'steps');
  }
  const text = redactCredentials(
    redactSecrets(JSON.stringify({ ...record, steps }, null, 2), secrets),
  );
  mkdirSync(dir, { recursive: true });
  const file = join(dir, recordFile(record.job, record.leg));
  writeFileSync(file, text + '\n');
  return file;
}

/** Every record in `dir` (none when it does not exist), sorted by job order of appearance and leg. */
export function readRecords(dir: string): JobRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('gate-'));
  } catch {
    return [];
  }
  const out: JobRecord[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(readFileSync(join(dir, n), 'utf8')) as JobRecord;
      if (r && typeof r.job === 'string' && r.steps) out.push(r);
    } catch {
      /* not a record */
    }
  }
  return out.sort((a, b) => a.job.localeCompare(b.job) || (a.leg ?? 0) - (b.leg ?? 0));
}

const out = (r: JobRecord | undefined, step: string, name: string): string =>
  r?.steps[step]?.outputs?.[name] ?? '';

/**
 * What the rollback needs from the records: the flag's state before the release, the stable
 * Deployment's revision before a promotion moved it, the canary's revision before its image was
 * set, and whether the canary was touched at all. Values are '' when the job did not get there.
 */
export function rollbackInputs(records: JobRecord[]): Record<string, string> {
  const find = (job: string) => records.find((r) => r.job === job);
  const flags = find('flags');
  const canary = find('deploy-canary');
  const setImage = canary?.steps['set-image'];
  return {
    'flag-previous-state':
      out(flags, 'enable', 'previous-state') || out(flags, 'before', 'state') || '',
    'stable-previous-revision': out(find('promote'), 'promote', 'previous-revision'),
    'canary-previous-revision': out(canary, 'set-image', 'previous-revision'),
    'canary-deployed':
      setImage && setImage.outcome !== 'skipped' && setImage.outcome !== undefined
        ? 'true'
        : 'false',
  };
}

/**
 * Reads the compiled release a job was handed (preflight's `release` output).
 * @throws ConfigError (input `release`) when it is not a compiled release, or was compiled in
 *   another format than this action reads (version skew between the workflow and the actions),
 *   naming both versions
 */
export function readRelease(json: string): CompiledRelease {
  let r: Partial<CompiledRelease>;
  try {
    r = JSON.parse(json) as Partial<CompiledRelease>;
  } catch {
    throw new ConfigError(
      "not a compiled release (preflight's release output is empty or not JSON; did preflight succeed?)",
      undefined,
      'release',
    );
  }
  if (r?.format !== RELEASE_FORMAT || !Array.isArray(r.jobs)) {
    throw new ConfigError(
      `compiled release format ${String(r?.format)} (runbook-actions ${String(r?.compiler)}) cannot be read by runbook-actions ${RUNBOOK_VERSION}, which reads format ${RELEASE_FORMAT}: call the workflow and its actions at the same ref`,
      undefined,
      'release',
    );
  }
  return r as CompiledRelease;
}

/**
 * The re-run guard: a job acts only in the run attempt that compiled the release. "Re-run
 * failed jobs" reuses preflight's outputs from the first attempt; acting on them would move
 * traffic on a rolled-back release or promote images that were never canaried.
 * @throws ConfigError naming both attempts and what to do instead
 */
export function checkAttempt(release: CompiledRelease, attempt: number, job: string): void {
  if (release.attempt !== attempt) {
    throw new ConfigError(
      `${job}: this is attempt ${attempt} of the run, but the release was compiled in attempt ${release.attempt}; a re-run would act on stale outputs (a rollback may already have run). Start a new run of the release workflow instead of re-running jobs.`,
    );
  }
}

/**
 * The traffic-order guard: leg `leg` moves traffic only when leg `leg - 1` of the same attempt
 * recorded a verdict that lets the release go on (pass, or inconclusive when `on-inconclusive`
 * is pass or neutral). The first leg needs no predecessor.
 * @throws ConfigError naming the missing or failing verdict
 */
export function checkPreviousLeg(
  release: CompiledRelease,
  records: JobRecord[],
  leg: number,
  attempt: number,
): void {
  if (leg <= 1) return;
  const prev = records.find((r) => r.job === 'traffic' && r.leg === leg - 1);
  const legs = release.jobs.find((j) => j.id === 'traffic')?.legs ?? [];
  const name = legs[leg - 2]?.name ?? `step ${leg - 1}`;
  if (!prev || prev.attempt !== attempt) {
    throw new ConfigError(
      `traffic step ${leg} refuses to move traffic: no recorded verdict of traffic step ${leg - 1} (${name}) in this attempt; traffic steps run strictly in order`,
    );
  }
  const gate = prev.steps.gate;
  const verdict = gate?.outputs?.verdict ?? '';
  if (!gateLetsGoOn(verdict, release.onInconclusive) || gate?.outcome !== 'success') {
    throw new ConfigError(
      `traffic step ${leg} refuses to move traffic: traffic step ${leg - 1} (${name}) recorded verdict '${verdict || 'none'}'`,
    );
  }
}

/**
 * Whether a canary-gate verdict lets the release go on to the next step: `pass`, or
 * `inconclusive` when `on-inconclusive` is `pass` or `neutral` (the canary-gate action's rule).
 */
export function gateLetsGoOn(
  verdict: string,
  onInconclusive: 'fail' | 'pass' | 'neutral',
): boolean {
  return verdict === 'pass' || (verdict === 'inconclusive' && onInconclusive !== 'fail');
}
