/**
 * Invalid indexes left by an interrupted `CREATE INDEX CONCURRENTLY` (PostgreSQL docs,
 * "CREATE INDEX" → "Building Indexes Concurrently": a failed or cancelled build leaves an
 * index marked invalid that is still maintained on every write but never used; drop it and
 * build again). `status` lists them; `apply` drops the one a pending statement would build
 * again, named or not, and says why it leaves any other.
 */
import pg from 'pg';
import { ident } from '../db/connect.js';
import type { Logger } from '../errors.js';
import { loadParser, type Statement } from './parser.js';

/** An index with `pg_index.indisvalid = false`. */
export interface InvalidIndex {
  schema: string;
  name: string;
  /** The indexed table, schema-qualified. */
  table: string;
  /** `pg_get_indexdef` of the index. */
  definition: string;
  /** Set while a `CREATE INDEX` is still building it (`pg_stat_progress_create_index`). */
  buildingPid?: number;
}

const LIST = `SELECT n.nspname AS schema, ci.relname AS name, tn.nspname || '.' || ct.relname AS "table",
       pg_get_indexdef(i.indexrelid) AS definition, p.pid AS building_pid
  FROM pg_index i
  JOIN pg_class ci ON ci.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = ci.relnamespace
  JOIN pg_class ct ON ct.oid = i.indrelid
  JOIN pg_namespace tn ON tn.oid = ct.relnamespace
  LEFT JOIN pg_stat_progress_create_index p ON p.index_relid = i.indexrelid OR (p.relid = i.indrelid AND p.index_relid = 0)
 WHERE NOT i.indisvalid
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`;

function rowOf(r: Record<string, unknown>): InvalidIndex {
  return {
    schema: String(r.schema),
    name: String(r.name),
    table: String(r.table),
    definition: String(r.definition),
    buildingPid:
      r.building_pid === null || r.building_pid === undefined ? undefined : Number(r.building_pid),
  };
}

/** Every invalid index in the database (all schemas but the system ones), by name. */
export async function listInvalidIndexes(client: pg.Client): Promise<InvalidIndex[]> {
  const r = await client.query(`${LIST} ORDER BY 1, 2`);
  return r.rows.map(rowOf);
}

type Obj = Record<string, unknown>;

/** Drops position and spelling details so two IndexStmt nodes compare by meaning. */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (node && typeof node === 'object') {
    const out: Obj = {};
    for (const [k, v] of Object.entries(node as Obj)) {
      if (k === 'location' || k === 'stmt_location' || k === 'stmt_len') continue;
      out[k] = normalise(v);
    }
    return out;
  }
  return node;
}

/** The parts of an IndexStmt that define what the index is (not its name, table or how it is built). */
function shape(n: Obj): string {
  const { idxname: _n, concurrent: _c, if_not_exists: _e, relation: _r, ...rest } = n;
  void _n;
  void _c;
  void _e;
  void _r;
  const r = normalise(rest) as Obj;
  r.accessMethod = r.accessMethod ?? 'btree';
  return JSON.stringify(r, Object.keys(r).sort());
}

function relationOf(s: Statement): string {
  const rel = s.node.relation as { schemaname?: string; relname?: string } | undefined;
  return rel?.schemaname ? `${rel.schemaname}.${rel.relname}` : String(rel?.relname ?? '');
}

/**
 * Before (and after a failure of) a `CREATE INDEX CONCURRENTLY`: drops the invalid index an
 * interrupted build of this same statement left behind, so the run builds it again instead of
 * `IF NOT EXISTS` skipping it or a second copy being built. A named statement matches by name;
 * an unnamed one by definition (the same columns, expressions, method and predicate as
 * `pg_get_indexdef` reports) on the same table. An invalid index another session is still
 * building is never dropped; an invalid index on the table that does not match is left and
 * reported.
 * @returns what was dropped (schema-qualified names)
 */
export async function dropInvalidIndexFor(
  client: pg.Client,
  s: Statement,
  logger: Logger,
): Promise<string[]> {
  if (s.kind !== 'IndexStmt' || !s.node.concurrent) return [];
  const table = relationOf(s);
  const r = await client
    .query(`${LIST} AND i.indrelid = to_regclass($1)`, [ident(table)])
    .catch(() => ({ rows: [] as Obj[] }));
  if (!r.rows.length) return [];
  const lib = await loadParser();
  const wanted = shape(s.node);
  const name = s.node.idxname ? String(s.node.idxname) : undefined;
  const dropped: string[] = [];
  for (const idx of r.rows.map(rowOf)) {
    const qualifiedName = `${idx.schema}.${idx.name}`;
    let same: boolean;
    if (name) same = idx.name === name;
    else {
      try {
        const parsed = lib.parseSync(idx.definition).stmts?.[0]?.stmt as
          { IndexStmt?: Obj } | undefined;
        same = !!parsed?.IndexStmt && shape(parsed.IndexStmt) === wanted;
      } catch {
        same = false;
      }
    }
    if (!same) {
      if (!name) {
        logger.warning(
          `invalid index ${qualifiedName} on ${idx.table} is left in place: its definition (${idx.definition}) is not the one this statement builds; drop it by hand if nothing is building it`,
        );
      }
      continue;
    }
    if (idx.buildingPid !== undefined) {
      logger.warning(
        `invalid index ${qualifiedName} is not dropped: backend pid ${idx.buildingPid} is still building it`,
      );
      continue;
    }
    logger.warning(
      `dropping invalid index ${qualifiedName} (${idx.definition}) left by a failed or interrupted CREATE INDEX CONCURRENTLY; building it again`,
    );
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${ident(qualifiedName)}`);
    dropped.push(qualifiedName);
  }
  return dropped;
}
