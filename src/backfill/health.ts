/**
 * Health checks between batches and batch-size control, after GitLab's batched background
 * migrations ("Batched background migrations: throttling", `Gitlab::Database::HealthStatus`
 * indicators; `BatchOptimizer`, which steers the batch size towards a target duration).
 *
 * Indicators: replication lag (`pg_stat_replication.replay_lag` on the primary and
 * `pg_last_xact_replay_timestamp()` on a replica URL), other sessions waiting for locks on the
 * target table or held by a backfill session (`pg_stat_activity`, `pg_locks`,
 * `pg_blocking_pids`), and an optional Prometheus instant query (Prometheus HTTP API
 * `GET /api/v1/query`). A breached indicator pauses the partition until it clears.
 */
import type pg from 'pg';
import { redactCredentials } from '../redact.js';
import type { BackfillSpec } from './spec.js';

/** A breached indicator: `kind` (`replication-lag`, `lock-waiters`, `prometheus`) and why. */
export interface Unhealthy {
  kind: string;
  detail: string;
}

/** Checks the health indicators of one spec. */
export class HealthMonitor {
  private warnedPrometheus = false;
  constructor(
    private readonly spec: BackfillSpec,
    /** Session on the primary (the partition's own). */
    private readonly primary: pg.Client,
    /** Optional session on a replica, for `pg_last_xact_replay_timestamp()`. */
    private readonly replica: pg.Client | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * The first breached indicator, or undefined when all are within their limits.
   * @param ourPids backend pids of this run's sessions (their waits are not counted)
   */
  async check(ourPids: number[]): Promise<Unhealthy | undefined> {
    const s = this.spec;
    const lag = await this.replicationLagMs();
    if (lag > s.maxReplicationLagMs) {
      return {
        kind: 'replication-lag',
        detail: `replication lag ${(lag / 1000).toFixed(1)} s > ${(s.maxReplicationLagMs / 1000).toFixed(1)} s`,
      };
    }
    const w = await this.primary.query(
      `SELECT count(*) AS n, max(extract(epoch FROM now() - a.query_start)) AS longest
         FROM pg_stat_activity a
        WHERE a.pid <> ALL ($1::int[]) AND a.pid <> pg_backend_pid() AND a.wait_event_type = 'Lock'
          AND (pg_blocking_pids(a.pid) && $1::int[]
               OR EXISTS (SELECT 1 FROM pg_locks l
                           WHERE l.pid = a.pid AND l.relation = to_regclass($2)
                             AND (NOT l.granted OR l.locktype = 'tuple')))`,
      [ourPids, s.table],
    );
    const waiters = Number(w.rows[0].n);
    if (waiters > s.maxLockWaiters) {
      return {
        kind: 'lock-waiters',
        detail: `${waiters} other session(s) waiting for locks on ${s.table} (longest ${Number(w.rows[0].longest ?? 0).toFixed(1)} s) > ${s.maxLockWaiters}`,
      };
    }
    if (s.prometheus) {
      const v = await this.prometheusValue();
      if (v !== undefined && v > s.prometheus.max) {
        return {
          kind: 'prometheus',
          detail: `${s.prometheus.query} = ${v} > ${s.prometheus.max}`,
        };
      }
    }
    return undefined;
  }

  /** Replication lag, milliseconds: the worst of the primary's replicas and the replica URL's. */
  async replicationLagMs(): Promise<number> {
    const p = await this.primary.query(
      `SELECT coalesce(max(extract(epoch FROM replay_lag)) * 1000, 0) AS ms FROM pg_stat_replication`,
    );
    let lag = Number(p.rows[0].ms);
    if (this.replica) {
      const r = await this.replica.query(
        `SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0)
                END AS ms`,
      );
      lag = Math.max(lag, Number(r.rows[0].ms));
    }
    return lag;
  }

  private async prometheusValue(): Promise<number | undefined> {
    const prom = this.spec.prometheus!;
    try {
      const u = new URL('api/v1/query', prom.url.endsWith('/') ? prom.url : `${prom.url}/`);
      u.searchParams.set('query', prom.query);
      const res = await fetch(u, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      if (body.status !== 'success') throw new Error(body.error ?? `HTTP ${res.status}`);
      const result = body.data?.result;
      let value: unknown;
      if (body.data?.resultType === 'scalar') value = (result as [number, string])[1];
      else {
        const vec = result as { value: [number, string] }[];
        if (!vec.length) return undefined;
        value = Math.max(...vec.map((x) => Number(x.value[1])));
      }
      const n = Number(value);
      return Number.isNaN(n) ? undefined : n;
    } catch (e) {
      if (!this.warnedPrometheus) {
        this.warnedPrometheus = true;
        this.warn(
          `Prometheus health query '${prom.query}' cannot be read (${redactCredentials((e as Error).message)}); going on without it`,
        );
      }
      return undefined;
    }
  }
}

/**
 * Batch-size control towards a target batch duration. Fits `duration = fixed + perUnit × size`
 * over the recent batches (least squares), so a batch whose cost does not shrink with its size
 * is not halved into ever smaller, slower-per-row batches; sizes change by at most ×2 or ×½ per
 * batch, and a batch over the maximum duration halves the next at once.
 */
export class BatchSizer {
  private readonly samples: { size: number; ms: number }[] = [];
  private lastFit?: { fixed: number; perUnit: number };
  /** Current batch size, in units (rows or batch keys). */
  size: number;
  constructor(
    /** Upper bound (the spec's batch-size). */
    private readonly max: number,
    /** Lower bound. */
    private readonly min: number,
    /** Target batch duration, milliseconds. */
    private readonly targetMs: number,
    /** Batch duration that halves the next batch at once, milliseconds. */
    private readonly maxMs: number,
    start = max,
  ) {
    this.size = Math.max(min, Math.min(max, start));
  }

  /** Records a batch of `size` units that took `ms` milliseconds; returns the next size. */
  observe(size: number, ms: number): number {
    this.samples.push({ size, ms });
    if (this.samples.length > 8) this.samples.shift();
    const { fixed, perUnit } = this.fit();
    // A batch that costs the same at any size is not helped by shrinking it.
    const fixedCost = this.samples.length >= 3 && (perUnit <= 0 || fixed >= this.maxMs);
    let next: number;
    if (ms > this.maxMs && !fixedCost) next = size / 2;
    else {
      if (perUnit > 0 && this.targetMs > fixed) next = (this.targetMs - fixed) / perUnit;
      else next = fixedCost ? size * 2 : size / 2;
      next = Math.max(size / 2, Math.min(size * 2, next));
    }
    this.size = Math.max(this.min, Math.min(this.max, Math.round(next)));
    return this.size;
  }

  private fit(): { fixed: number; perUnit: number } {
    const n = this.samples.length;
    const mx = this.samples.reduce((a, s) => a + s.size, 0) / n;
    const my = this.samples.reduce((a, s) => a + s.ms, 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (const s of this.samples) {
      sxx += (s.size - mx) ** 2;
      sxy += (s.size - mx) * (s.ms - my);
    }
    // Too little spread in sizes to separate fixed from per-row cost: keep the last fit that
    // could, else assume it is all per row.
    if (sxx < (0.05 * mx) ** 2 * n) {
      if (this.lastFit && Math.abs(this.lastFit.fixed + this.lastFit.perUnit * mx - my) < 0.25 * my)
        return this.lastFit;
      return { fixed: 0, perUnit: mx > 0 ? my / mx : 0 };
    }
    const perUnit = sxy / sxx;
    this.lastFit =
      perUnit <= 0 ? { fixed: my, perUnit: 0 } : { fixed: Math.max(0, my - perUnit * mx), perUnit };
    return this.lastFit;
  }
}
