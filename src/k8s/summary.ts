/**
 * Markdown for the job summary and the CLI: what a rollout command changed.
 */
import { code, formatMs, heading, table } from '../report/markdown.js';
import type { ApplyResult } from './apply.js';
import type { CanaryResult, PromoteResult } from './canary.js';
import type { JobResult } from './job.js';
import type { ImageMap, SetImageResult, UndoResult, WaitResult } from './rollout.js';

function imageRows(before: ImageMap, after: ImageMap): string[][] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return names.map((n) => [
    n,
    before[n] ?? '',
    after[n] ?? '',
    before[n] === after[n] ? 'unchanged' : 'changed',
  ]);
}

/** Summary of {@link setImage} (and the wait that may follow). */
export function setImageSummary(r: SetImageResult, wait?: WaitResult): string {
  return (
    heading(`Rollout: set image on deployment/${r.deployment} (${r.namespace})`) +
    table(['Container', 'Previous image', 'New image', ''], imageRows(r.previousImages, r.images)) +
    '\n' +
    table(
      ['Previous revision', 'Revision', 'Change cause', 'Rolled out'],
      [
        [
          r.previousRevision,
          r.revision || 'pending',
          r.changeCause ?? '',
          wait ? `yes, in ${formatMs(wait.durationMs)}` : 'not waited',
        ],
      ],
    )
  );
}

/** Summary of {@link waitForRollout}. */
export function waitSummary(r: WaitResult): string {
  return (
    heading(`Rollout: deployment/${r.deployment} (${r.namespace}) rolled out`) +
    table(
      ['Revision', 'Replicas', 'Images', 'Waited'],
      [
        [
          r.revision,
          r.replicas,
          Object.entries(r.images)
            .map(([k, v]) => `${k}=${v}`)
            .join(', '),
          formatMs(r.durationMs),
        ],
      ],
    )
  );
}

/** Summary of {@link undoRollout}. */
export function undoSummary(r: UndoResult): string {
  if (r.skipped) {
    return (
      heading(`Rollout: undo deployment/${r.deployment} (${r.namespace})`) +
      `Skipped: the current template already matches revision ${r.toRevision}.\n`
    );
  }
  return (
    heading(`Rollout: undo deployment/${r.deployment} (${r.namespace})`) +
    `Rolled back from revision ${r.fromRevision} to the template of revision ${r.toRevision} (now revision ${r.revision}).\n\n` +
    table(
      ['Container', 'Image before undo', 'Image after undo', ''],
      imageRows(r.previousImages, r.images),
    )
  );
}

/** Summary of the canary commands. */
export function canarySummary(command: string, r: CanaryResult | PromoteResult): string {
  let out = heading(
    `Rollout: ${command} canary ${r.resource ?? `ingress/${r.ingress}`} (${r.namespace})`,
  );
  out += table(
    ['Step', 'Canary weight', 'Set at'],
    r.steps.map((s, i) => [i + 1, `${s.weight}%`, s.at]),
  );
  out += `\nWeight ${r.previousWeight}% → ${r.weight}%; canary ${r.enabled ? 'on' : 'off (stable carries 100%)'}.\n`;
  const p = r as PromoteResult;
  if (p.setImage) out += '\n' + setImageSummary(p.setImage, p.wait);
  return out;
}

/** Summary of {@link applyManifests}. */
export function applySummary(r: ApplyResult): string {
  return (
    heading(
      `Rollout: server-side apply${r.dryRun ? ' (dry run)' : ''}, field manager ${r.fieldManager}`,
    ) +
    table(
      ['Object', 'Namespace', 'Result', 'File'],
      r.objects.map((o) => [
        `${o.kind}/${o.name}`,
        o.namespace ?? '',
        o.action,
        `${o.location.file}:${o.location.line}`,
      ]),
    )
  );
}

/** Summary of {@link runJob}, for a completed or a failed Job. */
export function jobSummary(r: JobResult): string {
  return (
    heading(
      `Rollout: job/${r.name} (${r.namespace}) ${r.status === 'Complete' ? 'completed' : r.status === 'Failed' ? 'failed' : 'timed out'}`,
    ) +
    table(
      ['Status', 'Reason', 'Succeeded pods', 'Failed pods', 'Duration'],
      [
        [
          r.status,
          [r.reason, r.message].filter(Boolean).join(': '),
          r.succeededPods,
          r.failedPods,
          formatMs(r.durationMs),
        ],
      ],
    ) +
    (r.logs.length
      ? `\nLast ${r.logs.length} log lines:\n\n` + code(r.logs.join('\n'), 'text')
      : '')
  );
}

/** Summary of a failed rollout (ProgressDeadlineExceeded, timeout). */
export function failureSummary(title: string, message: string): string {
  return heading(`Rollout: ${title} failed`) + `${message}\n`;
}

/**
 * Summary of a canary command that failed part-way ({@link CanaryStepError}): the weight the
 * canary is at now, the steps that were done, and how to undo (abort: weight 0).
 * @param undo the undo instruction, e.g. the action step or the CLI command line
 */
export function canaryFailureSummary(
  command: string,
  message: string,
  r: CanaryResult,
  undo: string,
): string {
  return (
    heading(`Rollout: ${command} canary ${r.resource} (${r.namespace}) failed`) +
    `${message}\n\n` +
    `**The canary is at ${r.weight}%** (it was at ${r.previousWeight}% before this step).\n\n` +
    (r.steps.length
      ? table(
          ['Step', 'Canary weight', 'Set at'],
          r.steps.map((s, i) => [i + 1, `${s.weight}%`, s.at]),
        ) + '\n'
      : 'No weight was changed.\n\n') +
    `To send all traffic back to the stable Service: ${undo}\n`
  );
}
