/**
 * Dry-run: analyze, a sample of the differences, and the first batch executed in a transaction
 * that is rolled back.
 */
import { type Logger } from '../errors.js';
import { formatMs } from '../report/markdown.js';
import { BackfillSql, type KeyValue } from './sql.js';
import { analyzeWith, type AnalyzeResult } from './analyze.js';
import {
  describeDiff,
  diffSample,
  keyOf,
  num,
  prepare,
  readOnly,
  type BackfillOptions,
  type DiffRow,
} from './prepare.js';

/** Result of {@link dryRunBackfill}. */
export interface DryRunResult extends AnalyzeResult {
  /** The first differing rows in key order, before → after. */
  sample: DiffRow[];
  /** What the first batch would have written; it ran and was rolled back. */
  firstBatch: { seen: number; inserted: number; updated: number; durationMs: number };
}

/** Options of {@link dryRunBackfill}. */
export interface DryRunOptions extends BackfillOptions {
  /** How many differing rows to show, default 10. */
  sampleSize?: number;
}

/**
 * Dry-run: analyze, a sample of the differences (before → after), and the first batch executed
 * inside a transaction that is rolled back, so a statement that fails would fail here.
 * Leaves every table unchanged (it never creates the checkpoint table).
 * @throws ConfigError for a bad spec; the database error when the first batch fails
 */
export async function dryRunBackfill(
  options: DryRunOptions,
  logger: Logger,
): Promise<DryRunResult> {
  const p = await prepare(options, 'dry-run');
  try {
    const analysis = await analyzeWith(p, options, logger);
    const sample = await readOnly(p.client, () => diffSample(p, options.sampleSize ?? 10));
    if (sample.length) {
      logger.info(`First ${sample.length} difference(s), before → after:`);
      for (const d of sample) {
        logger.info(`  ${JSON.stringify(d.key)}: ${describeDiff(d).join('; ')}`);
      }
    }
    const bounds = await p.client.query(p.sql.boundaries(false), [p.batchSize]);
    const hi: KeyValue | null = bounds.rows.length
      ? keyOf(bounds.rows[0], p.spec.key.length)
      : null;
    await p.client.query('BEGIN');
    let firstBatch: DryRunResult['firstBatch'];
    try {
      await p.client.query(`SET LOCAL lock_timeout = ${Math.round(p.spec.lockTimeoutMs)}`);
      const t0 = Date.now();
      const r = (
        await p.client.query(p.sql.batch(false, hi !== null), BackfillSql.params(null, hi))
      ).rows[0];
      firstBatch = {
        seen: num(r.seen),
        inserted: num(r.inserted),
        updated: num(r.updated),
        durationMs: Date.now() - t0,
      };
    } finally {
      await p.client.query('ROLLBACK');
    }
    logger.info(
      `First batch (rolled back): ${firstBatch.seen} source rows, would insert ${firstBatch.inserted} and update ${firstBatch.updated}, took ${formatMs(firstBatch.durationMs)}`,
    );
    const estimatedMs = Math.round(
      analysis.batches * Math.max(1, firstBatch.durationMs) +
        (analysis.batches - 1) * p.spec.pauseMs,
    );
    return { ...analysis, estimatedMs, sample, firstBatch };
  } finally {
    await p.client.end().catch(() => {});
  }
}
