/**
 * Checks of a spec that need the database but write nothing: whether the source reads the
 * columns it writes (a non-idempotent backfill: every rerun would apply it again), and whether
 * the batch write with its `set-on-write` expressions and the `verify` queries plan at all, so
 * a syntax or type error surfaces at analyze instead of after execute wrote everything.
 *
 * The read set comes from the planner: `EXPLAIN (VERBOSE, FORMAT JSON)` names every scan of the
 * target table with its alias and qualifies every column it outputs or filters on (PostgreSQL
 * "EXPLAIN"), so aliases, views inlined by the rewriter and CTEs are resolved by PostgreSQL
 * itself.
 */
import type pg from 'pg';
import { ident } from '../db/connect.js';
import { ConfigError } from '../errors.js';
import type { BackfillSpec } from './spec.js';
import type { BackfillSql } from './sql.js';

interface PlanNode {
  'Relation Name'?: string;
  Schema?: string;
  Alias?: string;
  Plans?: PlanNode[];
  [k: string]: unknown;
}

/**
 * The written columns (target columns and `set-on-write` columns) that the source reads from
 * the target table; empty for an idempotent source.
 */
export async function columnsReadFromTarget(
  client: pg.Client,
  spec: BackfillSpec,
): Promise<string[]> {
  // Wrapped, so the plan has more than one range table entry and VERBOSE qualifies columns.
  const r = await client.query(
    `EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM (${spec.source}) AS __source`,
  );
  const plan = (r.rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
  const [schema, table] = spec.table.includes('.')
    ? spec.table.split('.')
    : [undefined, spec.table];
  const aliases = new Set<string>();
  const texts: string[] = [];
  const walk = (n: PlanNode) => {
    if (n['Relation Name'] === table && (!schema || n.Schema === schema) && n.Alias) {
      aliases.add(n.Alias);
    }
    for (const [k, v] of Object.entries(n)) {
      if (k === 'Plans') continue;
      if (typeof v === 'string') texts.push(v);
      else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') texts.push(x);
    }
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(plan);
  if (!aliases.size) return [];
  const written = [...spec.columns, ...Object.keys(spec.setOnWrite)];
  const all = texts.join('\n');
  const quote = (x: string) => (/^[a-z_][a-z0-9_$]*$/.test(x) ? x : `"${x.replace(/"/g, '""')}"`);
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return written.filter((c) =>
    [...aliases].some((a) =>
      new RegExp(`(^|[^A-Za-z0-9_$".])${esc(quote(a))}\\.${esc(quote(c))}($|[^A-Za-z0-9_$"])`).test(
        all,
      ),
    ),
  );
}

/**
 * Refuses a source that reads the columns it writes unless the spec says `idempotent: false`.
 * @throws ConfigError located at `source`
 */
export async function checkIdempotence(client: pg.Client, spec: BackfillSpec): Promise<void> {
  if (!spec.idempotent) return;
  const read = await columnsReadFromTarget(client, spec);
  if (read.length) {
    throw new ConfigError(
      `the source reads ${read.map((c) => `${spec.table}.${c}`).join(', ')}, which the backfill writes: every rerun (or resumed batch) would apply it again and verify could never pass. Compute the value from columns the backfill does not write, or declare 'idempotent: false' if applying it once per run is intended`,
      spec.locate(['source']),
    );
  }
}

/**
 * Plans, without running them, the batch write (with its `set-on-write` expressions) and every
 * `verify` query.
 * @throws ConfigError at the `set-on-write` entry, the source or the verify query that fails
 */
export async function checkStatements(
  client: pg.Client,
  spec: BackfillSpec,
  sql: BackfillSql,
): Promise<void> {
  for (const [col, expr] of Object.entries(spec.setOnWrite)) {
    try {
      await client.query(
        `EXPLAIN UPDATE ${ident(spec.table)} SET ${ident(col)} = (${expr}) WHERE false`,
      );
    } catch (e) {
      throw new ConfigError(
        `set-on-write '${col}: ${expr}' fails: ${(e as Error).message}`,
        spec.locate(['target', 'set-on-write', col]),
      );
    }
  }
  try {
    const params = spec.key.map(() => null);
    await client.query(`EXPLAIN ${sql.batch(true, true)}`, [...params, ...params]);
  } catch (e) {
    const hasSow = Object.keys(spec.setOnWrite).length > 0;
    throw new ConfigError(
      `the batch write does not plan: ${(e as Error).message}${hasSow ? ' (check set-on-write and the source columns’ types)' : ''}`,
      spec.locate(hasSow ? ['target', 'set-on-write'] : ['source']),
    );
  }
  for (const q of spec.verify) {
    try {
      await client.query(`EXPLAIN ${q.sql.trim().replace(/;\s*$/, '')}`);
    } catch (e) {
      throw new ConfigError(
        `verify assertion '${q.name}' fails to plan: ${(e as Error).message}`,
        q.location,
      );
    }
  }
}
