/**
 * The `postgres` backend: feature flags in tables of the application's own database, created
 * when missing, so the application reads them with plain SQL.
 *
 * Schema (default schema `runbook`; documented in `actions/flag-toggle/README.md`):
 * - `feature_flags(key text primary key, global_enabled boolean, rollout_percentage
 *   numeric(6,3), version bigint, updated_at timestamptz, updated_by text)` — one row per flag;
 *   `global_enabled` is what "global" means here; `rollout_percentage` (0–100, percent) is the
 *   share of tenants served by the percentage rollout; `version` increases by one on every write
 *   (optimistic concurrency).
 * - `feature_flag_enabled(flag text, tenant text) returns boolean` — the evaluation the
 *   application should use: true when the flag is global, the tenant is listed, or the tenant's
 *   sticky bucket (the first 32 bits of `md5(flag || ':' || tenant)` modulo 100000, in
 *   thousandths of a percent) is below `rollout_percentage * 1000`. Raising the percentage keeps
 *   every tenant that already had the flag.
 * - `feature_flag_tenants(key, tenant_id, enabled_at, enabled_by)` — one row per tenant the flag
 *   is enabled for; primary key `(key, tenant_id)`.
 * - `feature_flag_audit(id, key, at, actor, run_url, reason, operation, comment, previous_state,
 *   new_state)` — one row per write.
 *
 * The guard, the write and the read-back run in one transaction that holds the flag row with
 * `SELECT ... FOR UPDATE`; a failed guard or verification rolls everything back.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { connect, ident, redactUrl } from '../../db/connect.js';
import { ConfigError, type Logger } from '../../errors.js';
import {
  BackendError,
  type FlagBackend,
  type FlagChange,
  type FlagState,
  type FlagStore,
} from './types.js';

/** Options of {@link PostgresBackend.open}. */
export interface PostgresBackendOptions {
  databaseUrl: string;
  /**
   * PEM text of a CA certificate to verify the server's TLS certificate with (RDS, Supabase);
   * see `connect` in src/db/connect.ts. Default: none (the URL's `sslmode` decides).
   */
  caCert?: string;
  /** Schema holding the flag tables. Default `runbook`. */
  schema?: string;
  /** `lock_timeout` while waiting for the flag row, milliseconds. Default 10000. */
  lockTimeoutMs?: number;
}

/** The DDL of the flag tables in `schema` (idempotent). */
export function flagTablesDdl(schema: string): string {
  const s = ident(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.feature_flags (
  key            text PRIMARY KEY,
  global_enabled boolean     NOT NULL DEFAULT false,
  version        bigint      NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  updated_by     text
);
ALTER TABLE ${s}.feature_flags
  ADD COLUMN IF NOT EXISTS rollout_percentage numeric(6,3) NOT NULL DEFAULT 0
  CHECK (rollout_percentage >= 0 AND rollout_percentage <= 100);
CREATE TABLE IF NOT EXISTS ${s}.feature_flag_tenants (
  key        text        NOT NULL REFERENCES ${s}.feature_flags (key) ON DELETE CASCADE,
  tenant_id  text        NOT NULL,
  enabled_at timestamptz NOT NULL DEFAULT now(),
  enabled_by text,
  PRIMARY KEY (key, tenant_id)
);
CREATE TABLE IF NOT EXISTS ${s}.feature_flag_audit (
  id             bigserial   PRIMARY KEY,
  key            text        NOT NULL,
  at             timestamptz NOT NULL DEFAULT now(),
  actor          text,
  run_url        text,
  reason         text,
  operation      text        NOT NULL,
  comment        text,
  previous_state jsonb,
  new_state      jsonb
);
CREATE OR REPLACE FUNCTION ${s}.feature_flag_bucket(flag text, tenant text) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT (('x' || substr(md5(flag || ':' || tenant), 1, 8))::bit(32)::bigint % 100000)::integer $$;
CREATE OR REPLACE FUNCTION ${s}.feature_flag_enabled(flag text, tenant text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT COALESCE((SELECT f.global_enabled
      OR EXISTS (SELECT 1 FROM ${s}.feature_flag_tenants t WHERE t.key = f.key AND t.tenant_id = tenant)
      OR ${s}.feature_flag_bucket(f.key, tenant) < f.rollout_percentage * 1000
    FROM ${s}.feature_flags f WHERE f.key = flag AND f.version > 0), false) $$;`;
}

/**
 * The sticky bucket of a tenant for a flag, 0–99999 (thousandths of a percent), as the
 * `feature_flag_bucket` SQL function computes it: the first 32 bits of `md5(flag:tenant)`
 * modulo 100000. A tenant is in a rollout of `p` percent when its bucket is below `p * 1000`.
 */
export function flagBucket(flag: string, tenant: string): number {
  const hex = createHash('md5').update(`${flag}:${tenant}`).digest('hex').slice(0, 8);
  return parseInt(hex, 16) % 100000;
}

/** Feature flags in PostgreSQL tables. "Global" is the flag row's `global_enabled`. */
export class PostgresBackend implements FlagBackend {
  readonly name = 'postgres' as const;
  readonly globalMeaning = 'the flag row’s global_enabled column in feature_flags';
  private readonly t: { flags: string; tenants: string; audit: string };
  private schemaReady = false;

  private constructor(
    private readonly client: pg.Client,
    private readonly options: PostgresBackendOptions,
    private readonly logger: Logger,
  ) {
    const s = ident(options.schema ?? 'runbook');
    this.t = {
      flags: `${s}.feature_flags`,
      tenants: `${s}.feature_flag_tenants`,
      audit: `${s}.feature_flag_audit`,
    };
  }

  /** Connects. @throws ConfigError for a bad URL or an unreachable server (no password in it) */
  static async open(options: PostgresBackendOptions, logger: Logger): Promise<PostgresBackend> {
    const schema = options.schema ?? 'runbook';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new ConfigError(
        `'${schema}' is not a plain schema name`,
        undefined,
        'flag-table-schema',
      );
    }
    const client = await connect(options.databaseUrl, {
      caCert: options.caCert,
      applicationName: 'runbook flag-toggle',
    });
    return new PostgresBackend(client, { ...options, schema }, logger);
  }

  /** Whether the tables exist, and whether they have the `rollout_percentage` column. */
  private async tables(): Promise<{ exist: boolean; current: boolean }> {
    const r = await this.client.query(
      `SELECT to_regclass($1) IS NOT NULL AS t,
              EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)
                        AND attname = 'rollout_percentage' AND NOT attisdropped) AS p`,
      [`${ident(this.options.schema!)}.feature_flags`],
    );
    return { exist: r.rows[0].t, current: r.rows[0].p };
  }

  private async tablesExist(): Promise<boolean> {
    return (await this.tables()).exist;
  }

  private async ensureSchema(): Promise<void> {
    if (this.schemaReady) return;
    if (!(await this.tables()).current) {
      // Serialise concurrent first runs: CREATE ... IF NOT EXISTS races on the catalog.
      await this.client.query(`SELECT pg_advisory_xact_lock(hashtext('runbook:flag-tables'))`);
      await this.client.query(flagTablesDdl(this.options.schema!));
      this.logger.info(`created flag tables in schema ${this.options.schema}`);
    }
    this.schemaReady = true;
  }

  /** Reads a flag; a missing flag (or missing tables) reads as off with no tenants. */
  async read(flag: string): Promise<FlagState> {
    if (!this.schemaReady && !(await this.tablesExist())) {
      return { flag, global: 'off', tenants: [], backend: 'postgres', exists: false };
    }
    const row = await this.client.query(`SELECT * FROM ${this.t.flags} WHERE key = $1`, [flag]);
    const tenants = await this.client.query(
      `SELECT tenant_id FROM ${this.t.tenants} WHERE key = $1 ORDER BY tenant_id`,
      [flag],
    );
    const r = row.rows[0];
    const exists = r !== undefined && Number(r.version) > 0;
    const global = r?.global_enabled || Number(r?.rollout_percentage ?? 0) >= 100 ? 'on' : 'off';
    return {
      flag,
      global,
      tenants: tenants.rows.map((t) => t.tenant_id as string),
      percentage: global === 'on' ? 100 : Number(r?.rollout_percentage ?? 0),
      backend: 'postgres',
      exists,
      backendDetail: r ? { version: Number(r.version) } : undefined,
    };
  }

  /**
   * Writes the desired state. Checks the `version` read before (optimistic concurrency).
   * @throws BackendError status 409 when the flag changed since it was read
   */
  async write(change: FlagChange): Promise<void> {
    const { flag, from, to } = change;
    const info = { actor: change.actor, runUrl: change.runUrl };
    const version = Number(from.backendDetail?.version ?? 0);
    await this.client.query(
      `INSERT INTO ${this.t.flags} (key, global_enabled, version) VALUES ($1, false, 0) ON CONFLICT (key) DO NOTHING`,
      [flag],
    );
    const percentage = to.global === 'on' ? 100 : Math.min(to.percentage ?? 0, 99.999);
    const upd = await this.client.query(
      `UPDATE ${this.t.flags} SET global_enabled = $2, rollout_percentage = $5, version = version + 1,
              updated_at = now(), updated_by = $3
         WHERE key = $1 AND version = $4`,
      [flag, to.global === 'on', info.actor, version, percentage],
    );
    if (upd.rowCount !== 1) {
      throw new BackendError(
        `flag ${flag} changed concurrently (version ${version} is no longer current): re-run to apply on top of the new state`,
        409,
      );
    }
    await this.client.query(
      `DELETE FROM ${this.t.tenants} WHERE key = $1 AND NOT (tenant_id = ANY($2::text[]))`,
      [flag, to.tenants],
    );
    if (to.tenants.length) {
      await this.client.query(
        `INSERT INTO ${this.t.tenants} (key, tenant_id, enabled_by) SELECT $1, unnest($2::text[]), $3
           ON CONFLICT (key, tenant_id) DO NOTHING`,
        [flag, to.tenants, info.actor],
      );
    }
    await this.client.query(
      `INSERT INTO ${this.t.audit} (key, actor, run_url, reason, operation, comment, previous_state, new_state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        flag,
        info.actor,
        info.runUrl ?? null,
        change.reason ?? null,
        change.operation,
        change.comment,
        JSON.stringify({ global: from.global, tenants: from.tenants, percentage: from.percentage }),
        JSON.stringify({ global: to.global, tenants: to.tenants, percentage }),
      ],
    );
  }

  /**
   * Runs `fn` in one transaction holding the flag row (`SELECT ... FOR UPDATE`), creating the
   * tables and the row when missing. Rolls back when `fn` throws.
   * @throws BackendError status 423 when another session holds the row past `lockTimeoutMs`
   */
  async withFlagLock<T>(flag: string, fn: (store: FlagStore) => Promise<T>): Promise<T> {
    await this.client.query('BEGIN');
    try {
      await this.client.query(
        `SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.options.lockTimeoutMs ?? 10_000))}`,
      );
      await this.ensureSchema();
      await this.client.query(
        `INSERT INTO ${this.t.flags} (key, global_enabled, version) VALUES ($1, false, 0) ON CONFLICT (key) DO NOTHING`,
        [flag],
      );
      await this.client.query(`SELECT key FROM ${this.t.flags} WHERE key = $1 FOR UPDATE`, [flag]);
      const result = await fn(this);
      await this.client.query('COMMIT');
      return result;
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => {});
      this.schemaReady = false;
      const code = (e as { code?: string }).code;
      if (code === '55P03') {
        throw new BackendError(
          `flag ${flag}: another session holds the flag row lock (waited ${this.options.lockTimeoutMs ?? 10_000} ms); nothing was changed`,
          423,
        );
      }
      if (code && !(e instanceof BackendError)) {
        throw new BackendError(
          `flag ${flag}: PostgreSQL error ${code}: ${redactUrl((e as Error).message)}; nothing was changed`,
        );
      }
      throw e;
    }
  }

  /**
   * Verify by evaluation: `feature_flag_enabled(flag, key)` for each key, the function the
   * application calls. @returns enabled by key (all false when the tables do not exist yet)
   */
  async evaluate(flag: string, keys: string[]): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = Object.fromEntries(keys.map((k) => [k, false]));
    if (!(await this.tables()).current) return out;
    const s = ident(this.options.schema!);
    const r = await this.client.query(
      `SELECT k, ${s}.feature_flag_enabled($1, k) AS enabled FROM unnest($2::text[]) AS k`,
      [flag, keys],
    );
    for (const row of r.rows) out[row.k as string] = row.enabled === true;
    return out;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
