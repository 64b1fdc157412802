/**
 * Verify: the difference between source and target must be zero and every assertion must return
 * no rows (for an `idempotent: false` spec: the latest run completed, and the assertions).
 */
import { type Logger } from '../errors.js';
import {
  diffCounts,
  diffSample,
  lastRun,
  prepare,
  readOnly,
  runQuery,
  type BackfillOptions,
  type DiffCounts,
  type DiffRow,
  type Prepared,
  type QueryResult,
} from './prepare.js';

/** Result of {@link verifyBackfill}. */
export interface VerifyResult extends DiffCounts {
  name: string;
  /** True when nothing differs and every assertion returned zero rows. */
  verified: boolean;
  /** The first differing keys, before → after. */
  differences: DiffRow[];
  assertions: QueryResult[];
  durationMs: number;
}

/** Options of {@link verifyBackfill}. */
export interface VerifyOptions extends BackfillOptions {
  /** How many differing keys to report, default 10. */
  sampleSize?: number;
}

/**
 * Verify: recomputes the difference between source and target (must be zero for the mode) and
 * runs the spec's `verify` assertions (each must return zero rows), in one read-only snapshot.
 * The result names the first differing keys.
 * @throws ConfigError for a bad spec or an assertion query that fails
 */
export async function verifyBackfill(
  options: VerifyOptions,
  logger: Logger,
): Promise<VerifyResult> {
  const p = await prepare(options, 'verify');
  const started = Date.now();
  try {
    return await readOnly(p.client, async () => {
      if (!p.spec.idempotent) return verifyNonIdempotent(p, logger, started);
      const counts = await diffCounts(p);
      const differing = counts.toCreate + counts.toUpdate;
      const differences = differing ? await diffSample(p, options.sampleSize ?? 10) : [];
      const assertions: QueryResult[] = [];
      for (const q of p.spec.verify)
        assertions.push(await runQuery(p.client, q, 'verify assertion'));
      const verified = differing === 0 && assertions.every((a) => a.rows === 0);
      if (differing === 0)
        logger.info(`source and ${p.spec.table} agree on ${counts.sourceRows} row(s)`);
      else
        logger.error(
          `${differing} row(s) differ (${counts.toCreate} missing, ${counts.toUpdate} different); first keys: ${differences
            .map((d) => JSON.stringify(d.key))
            .join(', ')}`,
        );
      for (const a of assertions) {
        if (a.rows === 0) logger.info(`assertion ${a.name}: ok`);
        else
          logger.error(
            `assertion ${a.name}: ${a.rows} row(s); first: ${JSON.stringify(a.sample[0])}`,
            a.location,
          );
      }
      logger.info(`verify ${verified ? 'passed' : 'FAILED'}`);
      return {
        name: p.spec.name,
        ...counts,
        verified,
        differences,
        assertions,
        durationMs: Date.now() - started,
      };
    });
  } finally {
    await p.client.end().catch(() => {});
  }
}

/**
 * Verify of an `idempotent: false` spec: the source never equals the target after a write (it
 * reads what it writes), so instead of the difference the latest run of this spec must have
 * completed, and every assertion must return zero rows.
 */
async function verifyNonIdempotent(
  p: Prepared,
  logger: Logger,
  started: number,
): Promise<VerifyResult> {
  const run = await lastRun(p);
  const completed = run?.status === 'completed' && run.resumable === false;
  const sameSpec =
    run !== undefined &&
    (await p.client.query(`SELECT checksum FROM runbook.backfill_runs WHERE id = $1`, [run.id]))
      .rows[0]?.checksum === p.spec.checksum;
  const assertions: QueryResult[] = [];
  for (const q of p.spec.verify) assertions.push(await runQuery(p.client, q, 'verify assertion'));
  const verified = completed && sameSpec && assertions.every((a) => a.rows === 0);
  if (completed && sameSpec)
    logger.info(
      `run #${run!.id} completed: ${run!.rowsSeen} source row(s) walked once (idempotent: false, so the difference is not compared)`,
    );
  else
    logger.error(
      `no completed run of this spec (idempotent: false): ${run ? `latest run #${run.id} is ${run.status}${sameSpec ? '' : ' with another spec checksum'}` : 'never executed'}`,
    );
  for (const a of assertions) {
    if (a.rows === 0) logger.info(`assertion ${a.name}: ok`);
    else
      logger.error(
        `assertion ${a.name}: ${a.rows} row(s); first: ${JSON.stringify(a.sample[0])}`,
        a.location,
      );
  }
  logger.info(`verify ${verified ? 'passed' : 'FAILED'}`);
  const seen = run?.rowsSeen ?? 0;
  return {
    name: p.spec.name,
    sourceRows: seen,
    toCreate: 0,
    toUpdate: 0,
    unchanged: seen,
    skipped: 0,
    verified,
    differences: [],
    assertions,
    durationMs: Date.now() - started,
  };
}
