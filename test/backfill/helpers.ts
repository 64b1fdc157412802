/**
 * Helpers for the backfill tests: the Paket 7 schema applied straight from the two fixed
 * migration files (no migrate engine), table checksums, and an independent computation of the
 * usage-limit rule.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { withClient } from '../support/postgres.js';

export const root = resolve(import.meta.dirname, '../..');
export const exampleSpec = join(root, 'examples/paket7/backfills/usage-limits.yml');

/** Applies the base schema and the usage-limit columns to the database at `url`. */
export async function applyPaket7Schema(url: string): Promise<void> {
  await withClient(url, async (c) => {
    for (const f of [
      '20250101000000_base_schema.sql',
      '20251201090000_user_stats_usage_limits.sql',
    ]) {
      await c.query(readFileSync(join(root, 'examples/paket7/migrations', f), 'utf8'));
    }
  });
}

/** md5 of every row of every table in the public and runbook schemas, ordered: one string. */
export async function databaseChecksum(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const tables = await c.query(
      `SELECT format('%I.%I', table_schema, table_name) AS t FROM information_schema.tables
        WHERE table_schema IN ('public', 'runbook') AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    const out: Record<string, string> = {};
    for (const { t } of tables.rows) {
      const r = await c.query(
        `SELECT count(*) AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${t} x`,
      );
      out[t] = `${r.rows[0].n}:${r.rows[0].h}`;
    }
    return out;
  });
}

/**
 * The seed's rule, written independently of the spec's source (a window ranking instead of
 * DISTINCT ON; jsonb_typeof instead of a regex; the user subscription joined through "user"
 * instead of EXISTS): for every user, the active subscription with the highest limit among the
 * user's own and the user's organizations' (ties: the latest period end, NULLs last, then the
 * lowest subscription id) gives `current_usage_limit`, `usage_limit_set_by`
 * (`subscription:<id>`), `billing_period_start` and `billing_period_end`, and the row was
 * written, so `usage_limit_updated_at` is set. A user with user_stats but no active subscription
 * keeps the migration's defaults: limit 5, no setter, no period, never written.
 *
 * Every column of every user_stats row the spec writes is rendered as one line
 * `user_id|limit|set_by|period_start|period_end|written`; returns md5 over the expected lines and
 * over the same rendering of user_stats, the number of expected rows, and the first differing
 * line of each side (for a readable failure).
 */
export async function limitChecksums(url: string): Promise<{
  expected: string;
  actual: string;
  users: number;
  firstDifference?: { expected?: string; actual?: string };
}> {
  return withClient(url, async (c) => {
    // Both renderings use the same expression per column so that only values can differ.
    const line = (id: string, l: string, by: string, ps: string, pe: string, w: string) =>
      `${id} || '|' || round(${l}, 2)::text || '|' || coalesce(${by}, '-') || '|' ||
       coalesce(extract(epoch FROM ${ps})::text, '-') || '|' ||
       coalesce(extract(epoch FROM ${pe})::text, '-') || '|' || (${w})::text`;
    const expected = await c.query(`
      WITH lim AS (
        SELECT s.id, s.reference_id, s.period_start, s.period_end,
               CASE WHEN s.plan = 'pro' THEN 20
                    WHEN s.plan = 'team' THEN coalesce(s.seats, 1) * 40
                    WHEN s.plan = 'enterprise' THEN coalesce(
                      CASE WHEN jsonb_typeof(s.metadata -> 'usageLimit') = 'number'
                           THEN (s.metadata ->> 'usageLimit')::numeric END, 100)
                    ELSE 5 END AS l
          FROM subscription s WHERE s.status = 'active'),
      cover AS (
        SELECT u.id AS user_id, lim.* FROM "user" u JOIN lim ON lim.reference_id = u.id
        UNION ALL
        SELECT m.user_id, lim.* FROM member m JOIN lim ON lim.reference_id = m.organization_id),
      ranked AS (
        SELECT cover.*, row_number() OVER (
                 PARTITION BY user_id
                 ORDER BY round(l, 2) DESC, period_end DESC NULLS LAST, id ASC) AS r
          FROM cover),
      best AS (SELECT * FROM ranked WHERE r = 1),
      rows AS (
        SELECT ${line(
          'u.id',
          'coalesce(b.l, 5)',
          "'subscription:' || b.id",
          'b.period_start',
          'b.period_end',
          'b.user_id IS NOT NULL',
        )} AS line, u.id
          FROM "user" u LEFT JOIN best b ON b.user_id = u.id
         WHERE b.user_id IS NOT NULL OR EXISTS (SELECT 1 FROM user_stats us WHERE us.user_id = u.id))
      SELECT count(*) AS n, md5(string_agg(line, ',' ORDER BY id)) AS h,
             array_agg(line ORDER BY id) AS lines
        FROM rows`);
    const actual = await c.query(`
      SELECT md5(string_agg(line, ',' ORDER BY id)) AS h, array_agg(line ORDER BY id) AS lines
        FROM (SELECT ${line(
          'us.user_id',
          'us.current_usage_limit',
          'us.usage_limit_set_by',
          'us.billing_period_start',
          'us.billing_period_end',
          'us.usage_limit_updated_at IS NOT NULL',
        )} AS line, us.user_id AS id FROM user_stats us) x`);
    const e: string[] = expected.rows[0].lines ?? [];
    const a: string[] = actual.rows[0].lines ?? [];
    const i = e.findIndex((l, j) => l !== a[j]);
    const at = i >= 0 ? i : e.length !== a.length ? Math.min(e.length, a.length) : -1;
    return {
      expected: expected.rows[0].h,
      actual: actual.rows[0].h,
      users: Number(expected.rows[0].n),
      firstDifference: at >= 0 ? { expected: e[at], actual: a[at] } : undefined,
    };
  });
}

/** Writes `text` as a spec file in `dir` and returns its path. */
export function writeSpec(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The example spec's text with `replace` applied (for broken-spec tests). */
export function exampleText(): string {
  return readFileSync(exampleSpec, 'utf8');
}
