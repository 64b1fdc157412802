/**
 * The release report of a workflow run, built from the release records the jobs uploaded and
 * the jobs' results (`toJSON(needs)` in the report job), then rendered by the same
 * {@link renderReport} as `runbook rehearse`: one renderer for the job summary and the file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readMeasurements } from '../gate/measurements.js';
import type { CompiledRelease, ReleaseStep } from './compile.js';
import type { JobRecord } from './records.js';
import type { GateStep, RehearsalResult, TimelineEntry } from './rehearse.js';
import { gateStep } from './report.js';

/** A job as the `needs` context shows it. */
export interface NeedsJob {
  result: 'success' | 'failure' | 'cancelled' | 'skipped' | string;
  outputs?: Record<string, string>;
}

/** Options of {@link workflowReport}. */
export interface WorkflowReportOptions {
  release: CompiledRelease;
  /** `toJSON(needs)` of the report job, parsed. */
  needs: Record<string, NeedsJob>;
  records: JobRecord[];
  /** Directory holding the records and the gates' measurement files (`gate-<leg>.json`). */
  dir: string;
  actor: string;
  runUrl?: string;
  now?: () => Date;
}

const status = (outcome: string | undefined): TimelineEntry['status'] =>
  outcome === 'success' ? 'success' : outcome === 'failure' ? 'failure' : 'skipped';

function json<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function detail(step: ReleaseStep, outputs: Record<string, string> = {}): string {
  const shown = Object.entries(outputs)
    .filter(([k, v]) => v !== '' && !['previous-state', 'state', 'results'].includes(k))
    .map(([k, v]) => `${k} ${v.length > 80 ? `${v.slice(0, 77)}…` : v}`);
  return shown.join(', ') || step.name;
}

/** Builds the report's data from a workflow run. */
export function workflowReport(o: WorkflowReportOptions): RehearsalResult {
  const { release, needs, records } = o;
  const now = (o.now ?? (() => new Date()))()
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const timeline: TimelineEntry[] = [];
  const gates: GateStep[] = [];
  const rec = (job: string, leg?: number) =>
    records.find((r) => r.job === job && (leg === undefined || r.leg === leg));
  let failedStep: string | undefined;
  const push = (e: TimelineEntry) => {
    timeline.push(e);
    if (e.status === 'failure') failedStep ??= `${e.job}: ${e.step}`;
  };
  for (const job of release.jobs) {
    if (job.id === 'report') continue;
    const result = needs[job.id]?.result ?? 'skipped';
    const units = job.legs
      ? job.legs.map((l) => ({ leg: l.index, name: `${job.name} ${l.name}`, steps: l.steps }))
      : [{ leg: undefined, name: job.name, steps: job.steps }];
    for (const u of units) {
      const r = rec(job.id, u.leg);
      if (!r) {
        if (result === 'skipped' || (job.legs && result === 'success')) continue;
        push({
          job: u.name,
          step: '(job)',
          status: result === 'success' ? 'success' : 'failure',
          startedAt: '',
          finishedAt: '',
          detail: `job ${result}${result === 'cancelled' ? ' (cancelled or timed out)' : ''}; no record`,
        });
        continue;
      }
      for (const s of u.steps) {
        const ctx = r.steps[s.id];
        push({
          job: u.name,
          step: s.name,
          status: status(ctx?.outcome),
          startedAt: r.startedAt ?? '',
          finishedAt: r.finishedAt,
          detail: ctx ? detail(s, ctx.outputs) : 'did not run',
        });
      }
      if (job.id === 'traffic' && r.steps.gate) {
        const file = join(o.dir, `gate-${u.leg}.json`);
        const weight = job.legs?.[(u.leg ?? 1) - 1]?.weight ?? 0;
        const g: GateStep = existsSync(file)
          ? gateStep(readMeasurements(file, 'measurements-file'), weight, file)
          : {
              weight,
              verdict: (r.steps.gate.outputs?.verdict as GateStep['verdict']) || 'inconclusive',
              reason: r.steps.gate.outputs?.reason ?? 'no measurements recorded',
              replayFile: '',
              metrics: [],
            };
        const sm = r.steps.smoke?.outputs;
        if (sm?.passed !== undefined)
          g.smoke = { passed: Number(sm.passed), failed: Number(sm.failed ?? 0), failures: [] };
        gates.push(g);
      }
    }
  }
  const backfills = records
    .filter((r) => r.job === 'backfill')
    .map((r) => {
      const a = r.steps.analyze?.outputs ?? {};
      return {
        name: release.jobs.find((j) => j.id === 'backfill')?.legs?.[(r.leg ?? 1) - 1]?.name ?? '',
        toCreate: Number(a['to-create'] ?? 0),
        toUpdate: Number(a['to-update'] ?? 0),
        unchanged: Number(a.unchanged ?? 0),
        rowsWritten: Number(r.steps.execute?.outputs?.['rows-written'] ?? 0),
        verified: r.steps.verify?.outputs?.verified === 'true',
      };
    });
  type State = { global: string; tenants: string[] };
  const flags = rec('flags');
  const before = json<State>(
    flags?.steps.enable?.outputs?.['previous-state'] || flags?.steps.before?.outputs?.state,
  );
  const canary = json<State>(flags?.steps.enable?.outputs?.state);
  const after =
    json<State>(rec('rollback')?.steps.flags?.outputs?.state) ??
    json<State>(rec('promote')?.steps['flag-global']?.outputs?.state) ??
    canary;
  const approval = rec('promotion')?.steps.approval?.outputs;
  const rollback = rec('rollback');
  const rolledBack = rollback
    ? (release.jobs.find((j) => j.id === 'rollback')?.steps ?? [])
        .filter((s) => s.undoes && rollback.steps[s.id]?.outcome === 'success')
        .map((s) => s.name)
    : [];
  const outcome: RehearsalResult['outcome'] =
    needs.promote?.result === 'success'
      ? 'promoted'
      : needs.rollback?.result && needs.rollback.result !== 'skipped'
        ? 'rolled-back'
        : 'stopped';
  const firstFailedJob = release.jobs.find((j) =>
    ['failure', 'cancelled'].includes(needs[j.id]?.result ?? ''),
  );
  return {
    package: release.package,
    planFile: release.planFile,
    outcome,
    failedStep:
      failedStep ??
      (firstFailedJob ? `${firstFailedJob.name} (${needs[firstFailedJob.id].result})` : undefined),
    timeline,
    executed: records.flatMap((r) =>
      Object.keys(r.steps).map((step) => ({
        job: r.job as RehearsalResult['executed'][number]['job'],
        leg: r.leg,
        step,
      })),
    ),
    applied: json<string[]>(rec('migrate')?.steps.apply?.outputs?.applied) ?? [],
    backfills,
    flag: before
      ? {
          name: release.jobs.find((j) => j.id === 'flags')?.steps[0]?.with.flag ?? '',
          before,
          canary,
          after: after ?? before,
        }
      : undefined,
    gates,
    approval: approval?.['approved-by']
      ? { by: approval['approved-by'], at: approval['approved-at'] ?? '', auto: false }
      : undefined,
    rolledBack,
    database: 'the DATABASE_URL secret of the release environment',
    actor: o.actor,
    startedAt: rec('preflight')?.startedAt ?? '',
    finishedAt: now,
    reportFile: release.reportPath,
    report: '',
    via: 'workflow',
    runUrl: o.runUrl,
  };
}
