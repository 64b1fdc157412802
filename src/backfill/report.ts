/**
 * Markdown reports of backfill results for job summaries and the CLI.
 */
import { formatMs, heading, table } from '../report/markdown.js';
import { describeDiff } from './engine.js';
import type { AnalyzeResult, DiffRow, DryRunResult, QueryResult, VerifyResult } from './engine.js';
import { BackfillConnectionError, type BackfillBatchError, type ExecuteResult } from './execute.js';
import type { KubernetesExecuteResult } from './kubernetes.js';

function queries(title: string, list: QueryResult[]): string {
  if (!list.length) return '';
  return (
    heading(title, 3) +
    table(
      ['Name', 'Rows', 'Result', 'First row'],
      list.map((q) => [
        q.name,
        q.rows,
        q.rows === 0 ? '✅ none' : '⚠️ found',
        q.sample[0] ? JSON.stringify(q.sample[0]) : '',
      ]),
    )
  );
}

function diffs(title: string, rows: DiffRow[]): string {
  if (!rows.length) return '';
  return (
    heading(title, 3) +
    table(
      ['Key', 'Change (before → after)'],
      rows.map((d) => [d.key.join(', '), describeDiff(d).join('\n')]),
    )
  );
}

/** The analyze (or dry-run) table: rows to create, update, unchanged, checks, estimate. */
export function analyzeMarkdown(r: AnalyzeResult | DryRunResult): string {
  const dry = 'firstBatch' in r;
  let md =
    heading(`Backfill ${r.name}: ${dry ? 'dry-run' : 'analyze'}`) +
    table(
      ['Measure', 'Value'],
      [
        ['Mode / target', `${r.mode} into \`${r.table}\``],
        ...(r.missingTarget.length
          ? [
              [
                'Target',
                `⚠️ ${r.missingTarget.join(', ')} not there yet: analyzed the source alone; counts below are upper bounds`,
              ],
            ]
          : []),
        ['Source rows', r.sourceRows],
        ['New rows to create', r.toCreate],
        ['Existing rows to update', r.toUpdate],
        ['Unchanged rows', r.unchanged],
        ...(r.skipped ? [['Differing rows this mode skips', r.skipped]] : []),
        ['**Total database operations planned**', `**${r.totalOperations}**`],
        [
          'Batches',
          `${r.batches} × up to ${r.batchSize} ${r.batchUnit === 'keys' ? 'batch keys' : 'rows'}`,
        ],
        ['Estimated duration', formatMs(r.estimatedMs)],
        ...(r.lastRun
          ? [
              [
                'Last run',
                `#${r.lastRun.id} ${r.lastRun.status}, ${r.lastRun.batches} batches${r.lastRun.resumable ? ' (the next execute resumes it)' : ''}`,
              ],
            ]
          : []),
        ...(r.nullKeys
          ? [['Source rows with a NULL key', `⚠️ ${r.nullKeys} (execute refuses to run)`]]
          : []),
        ...(r.duplicateKeys.length
          ? [['Duplicate source keys', `⚠️ ${r.duplicateKeys.length}+ (execute would fail)`]]
          : []),
      ],
    );
  md += queries('Anomaly checks', r.checks);
  if (dry) {
    const d = r as DryRunResult;
    md += diffs('First differences (before → after)', d.sample);
    md += `\nFirst batch, executed and rolled back: ${d.firstBatch.seen} rows read, ${d.firstBatch.inserted} would be inserted, ${d.firstBatch.updated} updated, in ${formatMs(d.firstBatch.durationMs)}.\n`;
  }
  return md;
}

/** The execute report. */
export function executeMarkdown(r: ExecuteResult): string {
  return (
    heading(`Backfill ${r.name}: execute (run #${r.runId}, ${r.status})`) +
    (r.resumed
      ? r.partitions.length > 1
        ? `Resumed: every unfinished partition continued after its checkpoint.\n\n`
        : `Resumed after key \`${JSON.stringify(r.resumedFrom)}\`.\n\n`
      : '') +
    table(
      ['Measure', 'Value'],
      [
        ['Batches', r.batches],
        ['Source rows walked', r.rowsSeen],
        ['Rows created', r.inserted],
        ['Rows updated', r.updated],
        ['Rows unchanged', r.unchanged],
        ['Throughput', `${r.rowsPerSecond} rows/s`],
        [
          'Batch duration (median / longest)',
          `${formatMs(r.medianBatchMs)} / ${formatMs(r.longestBatchMs)}`,
        ],
        ['Duration', formatMs(r.durationMs)],
        ['Last key', r.lastKey ? `\`${JSON.stringify(r.lastKey)}\`` : ''],
      ],
    ) +
    (r.partitions.length > 1
      ? `\n### Partitions\n\n` +
        table(
          ['#', 'Status', 'Batches', 'Rows walked', 'Written', 'Last key'],
          r.partitions.map((x) => [
            x.idx,
            x.status,
            x.batches,
            x.rowsSeen,
            x.inserted + x.updated,
            x.lastKey ? `\`${JSON.stringify(x.lastKey)}\`` : '',
          ]),
        )
      : '') +
    (r.pauses.length
      ? `\n### Pauses\n\n` +
        table(
          ['Why', 'Times', 'Total', 'Longest because'],
          r.pauses.map((x) => [x.kind, x.count, formatMs(x.totalMs), x.worst]),
        )
      : '\nNo health pauses.\n')
  );
}

/** The report of an execute run as a Kubernetes Indexed Job: the Job and each index. */
export function kubernetesMarkdown(name: string, r: KubernetesExecuteResult): string {
  return (
    heading(`Backfill ${name}: execute as Kubernetes Job ${r.job} (${r.status})`) +
    table(
      ['Measure', 'Value'],
      [
        ['Namespace', r.namespace],
        ['Completed indexes', r.completedIndexes || 'none'],
        ['Failed indexes', r.failedIndexes || 'none'],
        ['Duration', formatMs(r.durationMs)],
      ],
    ) +
    `\n### Indexes (one per partition)\n\n` +
    table(
      ['Index', 'Phase', 'Pods', 'Last line'],
      r.indexes.map((x) => [x.index, x.phase, x.attempts, x.lastLine ?? '']),
    ) +
    (r.status === 'Complete'
      ? ''
      : `\nThe checkpoint keeps every committed batch: re-run the step to resume.\n`)
  );
}

/**
 * The execute report when a batch fails ({@link BackfillBatchError}): which batch and key range,
 * the SQLSTATE, and the engine's account of what is committed and where the next execute
 * resumes (earlier batches stay committed and checkpointed).
 */
export function executeFailureMarkdown(
  name: string,
  e: BackfillBatchError | BackfillConnectionError,
): string {
  const key = (k: unknown) => (k === null ? '(open)' : `\`${JSON.stringify(k)}\``);
  if (e instanceof BackfillConnectionError) {
    return (
      heading(`Backfill ${name}: connection lost`) +
      table(
        ['Measure', 'Value'],
        [
          ['Batch key range', `after ${key(e.range.after)} up to ${key(e.range.upTo)}`],
          ['Resume with', `\`${e.resumeCommand}\``],
        ],
      ) +
      `\n${e.message}\n`
    );
  }
  return (
    heading(`Backfill ${name}: execute failed`) +
    table(
      ['Measure', 'Value'],
      [
        ['Failed batch key range', `after ${key(e.range.after)} up to ${key(e.range.upTo)}`],
        ['SQLSTATE', `\`${e.sqlState}\``],
        ['Spec', `${e.location?.file ?? ''}${e.location?.line ? `:${e.location.line}` : ''}`],
      ],
    ) +
    `\n${e.message}\n\nFix the data or the spec, then run \`execute\` again: it resumes from the checkpoint.\n`
  );
}

/** The verify report: the difference (must be zero), first differing keys, assertions. */
export function verifyMarkdown(r: VerifyResult): string {
  return (
    heading(`Backfill ${r.name}: verify ${r.verified ? '✅ passed' : '❌ failed'}`) +
    table(
      ['Measure', 'Value'],
      [
        ['Source rows', r.sourceRows],
        ['Missing in target', r.toCreate],
        ['Different in target', r.toUpdate],
        ['Equal', r.unchanged],
      ],
    ) +
    diffs('First differing keys (target → source)', r.differences) +
    queries('Assertions', r.assertions)
  );
}
