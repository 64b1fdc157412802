/**
 * SQL text for one backfill spec: the source restricted to a keyset range, the difference
 * between source and target (computed with `IS DISTINCT FROM`, so unchanged rows are never
 * rewritten), the batch write for each mode, and the keyset batch boundaries.
 *
 * Source columns are cast to the target columns' types before comparing, so a source value
 * that the target would round (e.g. `33.333` into `numeric(12,2)`) does not count as a
 * difference forever.
 */
import { ident } from '../db/connect.js';
import type { BackfillSpec, TargetColumns } from './spec.js';

/** A key as stored in the checkpoint: each key column's value as text, in key order. */
export type KeyValue = string[];

/** Builds the statements of one spec. `types` comes from `validateSpecAgainstDatabase`. */
export class BackfillSql {
  constructor(
    readonly spec: BackfillSpec,
    readonly target: TargetColumns,
  ) {}

  private t(col: string): string {
    return this.target.types[col];
  }

  /** `s."a", s."b"` (raw source key expressions). */
  private keyList(alias: string): string {
    return this.spec.key.map((k) => `${alias}.${ident(k)}`).join(', ');
  }

  /** Parameter placeholders for a key, cast to the key types, starting at `$first`. */
  private keyParams(first: number): string {
    return this.spec.key.map((k, i) => `$${first + i}::${this.t(k)}`).join(', ');
  }

  private tuple(list: string): string {
    return this.spec.key.length > 1 ? `(${list})` : list;
  }

  /**
   * The WHERE clause of a keyset range `(lo, hi]` on the raw source key; either end may be open.
   * Parameters: lo's key values from `$first`, then hi's.
   */
  range(lo: boolean, hi: boolean, first = 1): { where: string; next: number } {
    const parts: string[] = [];
    let n = first;
    if (lo) {
      parts.push(`${this.tuple(this.keyList('s'))} > ${this.tuple(this.keyParams(n))}`);
      n += this.spec.key.length;
    }
    if (hi) {
      parts.push(`${this.tuple(this.keyList('s'))} <= ${this.tuple(this.keyParams(n))}`);
      n += this.spec.key.length;
    }
    return { where: parts.length ? parts.join(' AND ') : 'true', next: n };
  }

  /** The source restricted by `where`, with key and target columns cast to the target types. */
  source(where: string): string {
    const cols = [...this.spec.key, ...this.spec.columns]
      .map((c) => `CAST(s.${ident(c)} AS ${this.t(c)}) AS ${ident(c)}`)
      .join(', ');
    return `SELECT ${cols} FROM (${this.spec.source}) AS s WHERE ${where}`;
  }

  private distinct(a: string, b: string): string {
    const l = this.spec.columns.map((c) => `${a}.${ident(c)}`).join(', ');
    const r = this.spec.columns.map((c) => `${b}.${ident(c)}`).join(', ');
    return this.spec.columns.length > 1
      ? `ROW(${l}) IS DISTINCT FROM ROW(${r})`
      : `${l} IS DISTINCT FROM ${r}`;
  }

  private joinOn(a: string, b: string): string {
    return this.spec.key.map((k) => `${a}.${ident(k)} = ${b}.${ident(k)}`).join(' AND ');
  }

  /** Source LEFT JOIN target; `t.__present` is NULL when the target row is missing. */
  private diffFrom(where: string): string {
    const tcols = [...this.spec.key, ...this.spec.columns].map(ident).join(', ');
    return `(${this.source(where)}) AS s
      LEFT JOIN (SELECT true AS __present, ${tcols} FROM ${ident(this.spec.table)}) AS t
        ON ${this.joinOn('t', 's')}`;
  }

  /** Counts: to_create, to_update, unchanged, source_rows over the whole source. */
  diffCounts(): string {
    const d = this.distinct('t', 's');
    return `SELECT count(*) FILTER (WHERE t.__present IS NULL) AS to_create,
                   count(*) FILTER (WHERE t.__present AND ${d}) AS to_update,
                   count(*) FILTER (WHERE t.__present AND NOT (${d})) AS unchanged,
                   count(*) AS source_rows
              FROM ${this.diffFrom('true')}`;
  }

  /**
   * The first `$1` differing rows that this mode writes, in key order, with before (target) and
   * after (source): missing and differing rows for `upsert`, differing rows for `update`,
   * missing rows for `insert`. The mode's filter comes before the LIMIT, so the sample is full
   * even when rows the mode skips come first.
   */
  diffSample(): string {
    const d = this.distinct('t', 's');
    const writes =
      this.spec.mode === 'update'
        ? `t.__present AND ${d}`
        : this.spec.mode === 'insert'
          ? 't.__present IS NULL'
          : `t.__present IS NULL OR ${d}`;
    // json (not jsonb) keeps the spec's column order for the report.
    const obj = (a: string) =>
      `json_build_object(${this.spec.columns.map((c) => `'${c}', ${a}.${ident(c)}`).join(', ')})`;
    const key = `jsonb_build_array(${this.spec.key.map((k) => `s.${ident(k)}::text`).join(', ')})`;
    return `SELECT ${key} AS key, t.__present IS NOT NULL AS present,
                   CASE WHEN t.__present THEN ${obj('t')} END AS before, ${obj('s')} AS after
              FROM ${this.diffFrom('true')}
             WHERE ${writes}
             ORDER BY ${this.keyList('s')}
             LIMIT $1`;
  }

  /**
   * `n`: source rows with a NULL in any key column. No keyset range `(lo, hi]` holds such a row
   * (`NULL > x` is never true), so execute could never write it.
   */
  nullKeys(): string {
    const anyNull = this.spec.key.map((k) => `s.${ident(k)} IS NULL`).join(' OR ');
    return `SELECT count(*) AS n FROM (${this.spec.source}) AS s WHERE ${anyNull}`;
  }

  /** Keys that the source yields more than once (the backfill would be ambiguous). */
  duplicateKeys(): string {
    const key = `jsonb_build_array(${this.spec.key.map((k) => `s.${ident(k)}::text`).join(', ')})`;
    return `SELECT ${key} AS key, count(*) AS copies
              FROM (${this.spec.source}) AS s
             GROUP BY ${this.keyList('s')} HAVING count(*) > 1
             ORDER BY ${this.keyList('s')} LIMIT 10`;
  }

  /**
   * Every `$1`-th key after the optional lower bound (and the last one), with its row number and
   * the number of keys: the keyset batch boundaries. Keys come from the spec's `batch-keys`
   * query when it has one (a cheap index scan), else from the source itself. Boundaries only
   * cut the key space into ranges `(lo, hi]` and a final open range, so every source row is
   * covered whatever keys this query returns.
   */
  boundaries(lo: boolean, hi = false): string {
    // Parameters: $1 the granule; the lower bound's key values from $2, then the upper bound's.
    const w = this.range(lo, hi, 2).where;
    const keys = this.spec.key.map((k, i) => `${ident(k)}::text AS k${i}`).join(', ');
    const from = this.spec.batchKeys ?? this.spec.source;
    return `SELECT ${keys}, rn, total FROM (
              SELECT ${this.keyList('s')},
                     row_number() OVER (ORDER BY ${this.keyList('s')}) AS rn,
                     count(*) OVER () AS total
                FROM (${from}) AS s WHERE ${w}) AS x
             WHERE rn % $1 = 0 OR rn = total
             ORDER BY rn`;
  }

  /**
   * The partition bounds: the keys at the 1/n, 2/n, … (n-1)/n quantiles of the batch keys (or
   * the source's keys), so partitions hold equal numbers of keys whatever the key distribution.
   * Parameter `$1`: n. Returns `k0…` per bound and `total`.
   */
  partitionBounds(): string {
    const keys = this.spec.key.map((k, i) => `${ident(k)}::text AS k${i}`).join(', ');
    const from = this.spec.batchKeys ?? this.spec.source;
    return `SELECT ${keys}, rn, total FROM (
              SELECT ${this.keyList('s')},
                     row_number() OVER (ORDER BY ${this.keyList('s')}) AS rn,
                     count(*) OVER () AS total
                FROM (${from}) AS s) AS x
             WHERE rn % greatest(1, ceil(total::numeric / $1)::bigint) = 0 AND rn < total
             ORDER BY rn`;
  }

  private setOnWriteCols(): string[] {
    return Object.keys(this.spec.setOnWrite);
  }

  /**
   * One batch: writes the differing rows of the source range `(lo, hi]` and returns `seen`,
   * `inserted`, `updated`. Parameters as {@link range}.
   */
  batch(lo: boolean, hi: boolean): string {
    const { where } = this.range(lo, hi);
    const src = this.source(where);
    const table = ident(this.spec.table);
    const sow = this.setOnWriteCols();
    const sowExpr = (c: string) => `(${this.spec.setOnWrite[c]})`;
    const keyCols = this.spec.key.map(ident).join(', ');
    const all = [...this.spec.key, ...this.spec.columns];
    const insertCols = [...all, ...sow].map(ident).join(', ');
    const insertVals = [...all.map((c) => `src.${ident(c)}`), ...sow.map(sowExpr)].join(', ');
    const counts = `SELECT (SELECT count(*) FROM src) AS seen,
                           count(*) FILTER (WHERE w.inserted) AS inserted,
                           count(*) FILTER (WHERE NOT w.inserted) AS updated FROM w`;
    if (this.spec.mode === 'update') {
      const sets = [
        ...this.spec.columns.map((c) => `${ident(c)} = src.${ident(c)}`),
        ...sow.map((c) => `${ident(c)} = ${sowExpr(c)}`),
      ].join(', ');
      return `WITH src AS MATERIALIZED (${src}),
               w AS (UPDATE ${table} AS t SET ${sets} FROM src
                      WHERE ${this.joinOn('t', 'src')} AND ${this.distinct('t', 'src')}
                      RETURNING false AS inserted)
              ${counts}`;
    }
    if (this.spec.mode === 'insert') {
      return `WITH src AS MATERIALIZED (${src}),
               w AS (INSERT INTO ${table} (${insertCols}) SELECT ${insertVals} FROM src
                      ON CONFLICT (${keyCols}) DO NOTHING RETURNING true AS inserted)
              ${counts}`;
    }
    const sets = [
      ...this.spec.columns.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`),
      ...sow.map((c) => `${ident(c)} = ${sowExpr(c)}`),
    ].join(', ');
    return `WITH src AS MATERIALIZED (${src}),
             w AS (INSERT INTO ${table} AS t (${insertCols}) SELECT ${insertVals} FROM src
                    ON CONFLICT (${keyCols}) DO UPDATE SET ${sets}
                    WHERE ${this.distinct('t', 'EXCLUDED')}
                    RETURNING (t.xmax = 0) AS inserted)
            ${counts}`;
  }

  /** Flattens optional lo/hi keys into query parameters in {@link range} order. */
  static params(lo: KeyValue | null, hi: KeyValue | null): string[] {
    return [...(lo ?? []), ...(hi ?? [])];
  }
}
