/**
 * Analyze: read-only counts of rows to create, update and leave unchanged, duplicate and NULL
 * keys, the spec's anomaly checks and an estimate; on the source alone while the target table or
 * columns do not exist yet.
 */
import { type Logger } from '../errors.js';
import { ident } from '../db/connect.js';
import { formatMs } from '../report/markdown.js';
import { type BackfillSpec } from './spec.js';
import {
  diffCounts,
  lastRun,
  num,
  prepare,
  readOnly,
  runQuery,
  type BackfillOptions,
  type DiffCounts,
  type Prepared,
  type QueryResult,
  type RunSummary,
} from './prepare.js';

/** Result of {@link analyzeBackfill}. */
export interface AnalyzeResult extends DiffCounts {
  name: string;
  mode: BackfillSpec['mode'];
  table: string;
  /** `toCreate + toUpdate`. */
  totalOperations: number;
  /** Source rows with a NULL in a key column (execute refuses to run while there are any). */
  nullKeys: number;
  /** Source keys that appear more than once (the batch write would fail on them). */
  duplicateKeys: { key: string[]; copies: number }[];
  checks: QueryResult[];
  /** Checks that returned rows. */
  failedChecks: QueryResult[];
  batchSize: number;
  /** Number of batches at the batch size. */
  batches: number;
  /** What batch-size counts: source `rows`, or `keys` of the spec's `batch-keys` query. */
  batchUnit: 'rows' | 'keys';
  /** Rough duration estimate for `execute`, milliseconds (from the time the source takes to read). */
  estimatedMs: number;
  /** The latest recorded run of this backfill, when the checkpoint table exists and has one. */
  lastRun?: RunSummary;
  /**
   * What of the target does not exist yet (`table t`, `column c`): analyze ran on the source
   * alone, and `toCreate`/`toUpdate` are upper bounds (every source row whose key is missing or
   * present, as nothing can be compared yet).
   */
  missingTarget: string[];
  /** Time analyze took, milliseconds. */
  durationMs: number;
}

export async function analyzeWith(
  p: Prepared,
  options: BackfillOptions,
  logger: Logger,
): Promise<AnalyzeResult> {
  const started = Date.now();
  return readOnly(p.client, async () => {
    const t0 = Date.now();
    const sourceOnly = p.missingTarget.length > 0;
    const counts = sourceOnly ? await sourceOnlyCounts(p) : await diffCounts(p);
    const readMs = Date.now() - t0;
    const dups = await p.client.query(p.sql.duplicateKeys());
    const nullKeys = await countNullKeys(p);
    const checks: QueryResult[] = [];
    for (const q of p.spec.checks) {
      if (!sourceOnly) checks.push(await runQuery(p.client, q, 'check'));
      else {
        // A check may read the columns the migration has not added yet.
        await p.client.query('SAVEPOINT check_query');
        try {
          checks.push(await runQuery(p.client, q, 'check'));
          await p.client.query('RELEASE SAVEPOINT check_query');
        } catch (e) {
          await p.client.query('ROLLBACK TO SAVEPOINT check_query');
          checks.push({
            name: q.name,
            description: q.description,
            rows: 0,
            sample: [],
            location: q.location,
            skipped: (e as Error).message,
          });
        }
      }
    }
    const totalOperations = counts.toCreate + counts.toUpdate;
    const batchKeys = p.spec.batchKeys
      ? num(
          (await p.client.query(`SELECT count(*) AS n FROM (${p.spec.batchKeys}) AS k`)).rows[0].n,
        )
      : counts.sourceRows;
    const batches = Math.max(1, Math.ceil(batchKeys / p.batchSize));
    // Execute reads the source once more for its boundaries (unless batch-keys gives them
    // cheaply), reads it again batch by batch and writes the differences; ~50k written rows/s
    // is what keyset upserts reach on a small server.
    const reads = p.spec.batchKeys ? 1.5 : 2.5;
    const estimatedMs = Math.round(
      readMs * reads + (totalOperations / 50_000) * 1000 + (batches - 1) * p.spec.pauseMs,
    );
    const result: AnalyzeResult = {
      name: p.spec.name,
      mode: p.spec.mode,
      table: p.spec.table,
      ...counts,
      totalOperations,
      nullKeys,
      duplicateKeys: dups.rows.map((r) => ({ key: r.key, copies: num(r.copies) })),
      checks,
      failedChecks: checks.filter((c) => c.rows > 0),
      batchSize: p.batchSize,
      batches,
      batchUnit: p.spec.batchKeys ? 'keys' : 'rows',
      lastRun: await lastRun(p),
      missingTarget: p.missingTarget,
      estimatedMs,
      durationMs: Date.now() - started,
    };
    logAnalysis(result, logger, options.failOnChecks ?? false, p.spec);
    return result;
  });
}

/**
 * Counts when the target table or columns do not exist yet: source rows, and how many of their
 * keys are missing from / present in the target (all missing when the table does not exist).
 */
async function sourceOnlyCounts(p: Prepared): Promise<DiffCounts> {
  const { spec } = p;
  const tableMissing = p.missingTarget.some((m) => m.startsWith('table '));
  const keys = spec.key.map((k) => `t.${ident(k)}`).join(', ');
  const join = spec.key.map((k) => `t.${ident(k)} = s.${ident(k)}`).join(' AND ');
  const r = (
    await p.client.query(
      tableMissing
        ? `SELECT count(*) AS n, 0 AS present FROM (${spec.source}) AS s`
        : `SELECT count(*) AS n, count(t.__p) AS present FROM (${spec.source}) AS s
             LEFT JOIN (SELECT true AS __p, ${keys} FROM ${ident(spec.table)} AS t) AS t ON ${join}`,
    )
  ).rows[0];
  const n = num(r.n);
  const present = num(r.present);
  const missing = n - present;
  return {
    sourceRows: n,
    toCreate: spec.mode === 'update' ? 0 : missing,
    toUpdate: spec.mode === 'insert' ? 0 : present,
    unchanged: 0,
    skipped: spec.mode === 'update' ? missing : spec.mode === 'insert' ? present : 0,
  };
}

export async function countNullKeys(p: Prepared): Promise<number> {
  return num((await p.client.query(p.sql.nullKeys())).rows[0].n);
}

export function nullKeyMessage(n: number, spec: BackfillSpec): string {
  return `${n} source row(s) have a NULL key (${spec.key.join(', ')}); keyset batches can never reach them, so execute refuses to run: filter them out of the source (e.g. an inner JOIN or WHERE ${spec.key[0]} IS NOT NULL) or report them as a check`;
}

function batchUnit(r: AnalyzeResult): string {
  return r.batchUnit === 'keys' ? 'batch keys' : 'rows';
}

function logAnalysis(
  r: AnalyzeResult,
  logger: Logger,
  asErrors: boolean,
  spec: BackfillSpec,
): void {
  const line = (label: string, value: number) => logger.info(`  ${label.padEnd(40)} ${value}`);
  logger.info(`Backfill '${r.name}' (${r.mode} into ${r.table}):`);
  if (r.missingTarget.length) {
    logger.warning(
      `${r.missingTarget.join(', ')} of ${r.table} do(es) not exist yet: analyzed the source alone; rows to create/update are upper bounds (run the migration that adds them before dry-run and execute)`,
      spec.locate(['target']),
    );
  }
  line('source rows:', r.sourceRows);
  line(`new ${r.table} rows to create:`, r.toCreate);
  line(`existing ${r.table} rows to update:`, r.toUpdate);
  line('unchanged rows:', r.unchanged);
  if (r.skipped) line('differing rows this mode skips:', r.skipped);
  line('total database operations planned:', r.totalOperations);
  logger.info(
    `  ${r.batches} batch(es) of up to ${r.batchSize} ${batchUnit(r)}; estimated duration ${formatMs(r.estimatedMs)}`,
  );
  if (r.lastRun) {
    const l = r.lastRun;
    logger.info(
      `  last run: #${l.id} ${l.status} after ${l.batches} batch(es), ${l.partitions > 1 ? `${l.unfinishedPartitions} of ${l.partitions} partitions unfinished` : `last key ${JSON.stringify(l.lastKey)}`}${l.resumable ? ' — the next execute resumes it' : ''}`,
    );
    if (l.dead) {
      logger.warning(
        `run #${l.id} is marked running but its last heartbeat is ${Math.round(l.heartbeatAgeS)} s old (stale after ${Math.round(spec.staleAfterMs / 1000)} s): the process running it is dead or hung; the next execute takes over and resumes it`,
      );
    }
  }
  if (r.nullKeys) logger.warning(nullKeyMessage(r.nullKeys, spec), spec.locate(['source']));
  if (r.duplicateKeys.length) {
    logger.warning(
      `the source yields duplicate keys (first: ${JSON.stringify(r.duplicateKeys[0].key)} ×${r.duplicateKeys[0].copies}); execute would fail`,
    );
  }
  for (const c of r.checks) {
    if (c.skipped)
      logger.info(`  check ${c.name}: not run before the target exists (${c.skipped})`);
    else if (c.rows === 0) logger.info(`  check ${c.name}: ok (0 rows)`);
    else
      (asErrors ? logger.error : logger.warning)(
        `check ${c.name}: ${c.rows} row(s)${c.description ? ` — ${c.description}` : ''}; first: ${JSON.stringify(c.sample[0])}`,
        c.location,
      );
  }
}

/**
 * Analyze: read-only counts of rows to create, update and leave unchanged, duplicate source keys,
 * the spec's anomaly checks and an estimated duration. Runs in one READ ONLY transaction.
 * @throws ConfigError for a bad spec (file and line), URL, or a failing check query
 */
export async function analyzeBackfill(
  options: BackfillOptions,
  logger: Logger,
): Promise<AnalyzeResult> {
  const p = await prepare(options, 'analyze', { allowMissingTarget: true });
  try {
    return await analyzeWith(p, options, logger);
  } finally {
    await p.client.end().catch(() => {});
  }
}
