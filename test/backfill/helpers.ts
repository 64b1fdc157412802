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
 * The seed's rule, written independently of the spec's source (GROUP BY max instead of
 * DISTINCT ON; jsonb_typeof instead of a regex): for every user, the highest limit among the
 * active subscriptions of the user and of the user's organizations; 5 when there is none.
 * Returns md5 over `user_id:limit` of all users, and the same over user_stats.
 */
export async function limitChecksums(
  url: string,
): Promise<{ expected: string; actual: string; users: number }> {
  return withClient(url, async (c) => {
    const expected = await c.query(`
      WITH lim AS (
        SELECT s.reference_id,
               CASE WHEN s.plan = 'pro' THEN 20
                    WHEN s.plan = 'team' THEN coalesce(s.seats, 1) * 40
                    WHEN s.plan = 'enterprise' THEN coalesce(
                      CASE WHEN jsonb_typeof(s.metadata -> 'usageLimit') = 'number'
                           THEN (s.metadata ->> 'usageLimit')::numeric END, 100)
                    ELSE 5 END AS l
          FROM subscription s WHERE s.status = 'active'),
      cover AS (
        SELECT u.id AS user_id, lim.l FROM "user" u JOIN lim ON lim.reference_id = u.id
        UNION ALL
        SELECT m.user_id, lim.l FROM member m JOIN lim ON lim.reference_id = m.organization_id),
      best AS (SELECT user_id, max(l) AS l FROM cover GROUP BY user_id)
      SELECT count(*) AS n,
             md5(string_agg(u.id || ':' || round(coalesce(b.l, 5), 2)::text, ',' ORDER BY u.id)) AS h
        FROM "user" u LEFT JOIN best b ON b.user_id = u.id
       WHERE b.user_id IS NOT NULL OR EXISTS (SELECT 1 FROM user_stats us WHERE us.user_id = u.id)`);
    const actual = await c.query(
      `SELECT md5(string_agg(user_id || ':' || current_usage_limit::text, ',' ORDER BY user_id)) AS h FROM user_stats`,
    );
    return {
      expected: expected.rows[0].h,
      actual: actual.rows[0].h,
      users: Number(expected.rows[0].n),
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
