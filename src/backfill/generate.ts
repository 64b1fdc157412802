/**
 * A data generator for the Paket 7 base schema (`examples/paket7/migrations`): users,
 * organizations, memberships, subscriptions and user_stats in the proportions the seed
 * describes (user and organization subscriptions, some subscribers without user_stats, a few
 * orphaned subscriptions whose reference id matches nothing), at any size.
 *
 * Rows are generated server-side with `generate_series` and a hash of the row number, so the
 * same options always produce the same data, and a million users take seconds.
 */
import type pg from 'pg';
import { connect } from '../db/connect.js';
import { ConfigError, type Logger } from '../errors.js';
import { formatMs } from '../report/markdown.js';

/** Options of {@link generatePaket7Data}. */
export interface GenerateOptions {
  databaseUrl: string;
  caCert?: string;
  /** Number of users. */
  users: number;
  /**
   * `realistic` (default): ~30% of users subscribe themselves, one org per 25 users with ~35% of
   * users as members, 60% of orgs subscribe, ~80% of subscriptions active, 3% of users without
   * user_stats, 0.2% orphaned subscriptions. `all-subscribed`: every user has one active paid
   * subscription and there are no organizations (the benchmark's shape: every target row changes).
   */
  profile?: 'realistic' | 'all-subscribed';
  /** Delete existing rows of the five tables first. Without it, a non-empty `user` table is refused. */
  replace?: boolean;
}

/** Row counts written by {@link generatePaket7Data}. */
export interface GenerateResult {
  users: number;
  organizations: number;
  members: number;
  subscriptions: number;
  userStats: number;
  orphanedSubscriptions: number;
  durationMs: number;
}

/** `[0, 1)` from the row number `i` and a salt: deterministic pseudo-random. */
const r = (expr: string, salt: string) =>
  `((hashtext('${salt}:' || (${expr})::text)::bigint + 2147483648) % 1000000 / 1000000.0)`;

/**
 * Fills the Paket 7 tables. Does not touch the usage-limit columns, so every user_stats row has
 * the migration's defaults (limit 5, no billing period) — the state right before the backfill.
 * @throws ConfigError when `users` is not a positive integer or the tables already hold data
 *   (without `replace`)
 */
export async function generatePaket7Data(
  options: GenerateOptions,
  logger: Logger,
): Promise<GenerateResult> {
  const n = options.users;
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`must be a positive integer, got ${n}`, undefined, 'users');
  const all = options.profile === 'all-subscribed';
  const client = await connect(options.databaseUrl, {
    caCert: options.caCert,
    applicationName: 'runbook-generate',
  });
  const started = Date.now();
  try {
    const existing = await client.query('SELECT EXISTS (SELECT 1 FROM "user") AS any');
    if (existing.rows[0].any) {
      if (!options.replace) {
        throw new ConfigError(
          'the "user" table already has rows; pass replace to regenerate',
          undefined,
          'users',
        );
      }
      await client.query('TRUNCATE user_stats, subscription, member, organization, "user"');
    }
    const orgs = all ? 0 : Math.max(1, Math.floor(n / 25));
    await client.query('BEGIN');
    await step(
      client,
      logger,
      'users',
      `
      INSERT INTO "user" (id, email, name, created_at)
      SELECT 'u' || lpad(i::text, 9, '0'), 'user' || i || '@example.com', 'User ' || i,
             timestamptz '2025-01-01' + (i % 600) * interval '1 day'
        FROM generate_series(1, ${n}) AS i`,
    );
    if (orgs > 0) {
      await step(
        client,
        logger,
        'organizations',
        `
        INSERT INTO organization (id, name, slug)
        SELECT 'o' || lpad(j::text, 7, '0'), 'Organization ' || j, 'org-' || j
          FROM generate_series(1, ${orgs}) AS j`,
      );
      await step(
        client,
        logger,
        'members',
        `
        INSERT INTO member (organization_id, user_id, role)
        SELECT 'o' || lpad((1 + (${r('i', 'org')} * ${orgs})::int % ${orgs})::text, 7, '0'),
               'u' || lpad(i::text, 9, '0'),
               CASE WHEN ${r('i', 'role')} < 0.1 THEN 'owner' WHEN ${r('i', 'role')} < 0.3 THEN 'admin' ELSE 'member' END
          FROM generate_series(1, ${n}) AS i
         WHERE ${r('i', 'member')} < 0.35
        UNION ALL
        SELECT 'o' || lpad((1 + (${r('i', 'org2')} * ${orgs})::int % ${orgs})::text, 7, '0'),
               'u' || lpad(i::text, 9, '0'), 'member'
          FROM generate_series(1, ${n}) AS i
         WHERE ${r('i', 'member')} < 0.02
        ON CONFLICT DO NOTHING`,
      );
    }
    const userShare = all ? 1 : 0.3;
    await step(
      client,
      logger,
      'user subscriptions',
      `
      INSERT INTO subscription (id, plan, reference_id, status, seats, period_start, period_end, metadata)
      SELECT 'sub_u' || lpad(i::text, 9, '0'), plan, 'u' || lpad(i::text, 9, '0'), status,
             CASE WHEN plan = 'team' THEN 1 + (${r('i', 'seats')} * 10)::int END,
             start, start + interval '1 month',
             CASE WHEN plan = 'enterprise' AND ${r('i', 'meta')} < 0.5
                  THEN jsonb_build_object('usageLimit', 250 + (i % 5) * 50) ELSE '{}'::jsonb END
        FROM (SELECT i,
                     CASE WHEN ${r('i', 'plan')} < 0.6 THEN 'pro' WHEN ${r('i', 'plan')} < 0.85 THEN 'team'
                          WHEN ${r('i', 'plan')} < ${all ? 1 : 0.95} THEN 'enterprise' ELSE 'starter' END AS plan,
                     CASE WHEN ${all ? 'true' : `${r('i', 'status')} < 0.8`} THEN 'active'
                          WHEN ${r('i', 'status')} < 0.9 THEN 'canceled'
                          WHEN ${r('i', 'status')} < 0.95 THEN 'past_due' ELSE 'trialing' END AS status,
                     timestamptz '2026-11-01' + (i % 28) * interval '1 day' AS start
                FROM generate_series(1, ${n}) AS i
               WHERE ${r('i', 'usub')} < ${userShare}) AS x`,
    );
    if (orgs > 0) {
      await step(
        client,
        logger,
        'organization subscriptions',
        `
        INSERT INTO subscription (id, plan, reference_id, status, seats, period_start, period_end, metadata)
        SELECT 'sub_o' || lpad(j::text, 7, '0'), plan, 'o' || lpad(j::text, 7, '0'),
               CASE WHEN ${r('j', 'ostatus')} < 0.85 THEN 'active' ELSE 'canceled' END,
               2 + (${r('j', 'oseats')} * 48)::int,
               start, start + interval '1 month',
               CASE WHEN plan = 'enterprise' AND ${r('j', 'ometa')} < 0.5
                    THEN jsonb_build_object('usageLimit', 1000) ELSE '{}'::jsonb END
          FROM (SELECT j, CASE WHEN ${r('j', 'oplan')} < 0.7 THEN 'team' ELSE 'enterprise' END AS plan,
                       timestamptz '2026-11-01' + (j % 28) * interval '1 day' AS start
                  FROM generate_series(1, ${orgs}) AS j
                 WHERE ${r('j', 'osub')} < 0.6) AS x`,
      );
    }
    const orphans = all ? 0 : Math.max(1, Math.floor(n / 500));
    if (orphans > 0) {
      await step(
        client,
        logger,
        'orphaned subscriptions',
        `
        INSERT INTO subscription (id, plan, reference_id, status, period_start, period_end)
        SELECT 'sub_x' || lpad(k::text, 7, '0'), 'pro', 'deleted_' || k, 'active',
               timestamptz '2026-11-01', timestamptz '2026-12-01'
          FROM generate_series(1, ${orphans}) AS k`,
      );
    }
    await step(
      client,
      logger,
      'user_stats',
      `
      INSERT INTO user_stats (user_id, total_manual_executions, total_api_calls, total_cost, last_active)
      SELECT 'u' || lpad(i::text, 9, '0'), (${r('i', 'exec')} * 500)::int, (${r('i', 'api')} * 5000)::int,
             round((${r('i', 'cost')} * 80)::numeric, 4), timestamptz '2026-11-01' + (i % 28) * interval '1 day'
        FROM generate_series(1, ${n}) AS i
       WHERE ${r('i', 'nostats')} >= 0.03`,
    );
    await client.query('COMMIT');
    await client.query('ANALYZE "user", organization, member, subscription, user_stats');
    const c = (
      await client.query(`SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM organization) AS orgs,
              (SELECT count(*) FROM member) AS members, (SELECT count(*) FROM subscription) AS subs,
              (SELECT count(*) FROM user_stats) AS stats`)
    ).rows[0];
    const result: GenerateResult = {
      users: Number(c.users),
      organizations: Number(c.orgs),
      members: Number(c.members),
      subscriptions: Number(c.subs),
      userStats: Number(c.stats),
      orphanedSubscriptions: orphans,
      durationMs: Date.now() - started,
    };
    logger.info(
      `generated ${result.users} users, ${result.organizations} organizations, ${result.members} memberships, ${result.subscriptions} subscriptions (${orphans} orphaned), ${result.userStats} user_stats in ${formatMs(result.durationMs)}`,
    );
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await client.end().catch(() => {});
  }
}

async function step(client: pg.Client, logger: Logger, what: string, sql: string): Promise<void> {
  const t0 = Date.now();
  const r = await client.query(sql);
  logger.debug(`generate: ${r.rowCount} ${what} in ${Date.now() - t0} ms`);
}
