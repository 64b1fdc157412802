/**
 * Test support for the canary-gate: canary scenarios as OpenMetrics text, loaded into a real
 * TSDB with `promtool tsdb create-blocks-from openmetrics` and served by a real Prometheus
 * (Debian's `prometheus` package) on 127.0.0.1 with a free port.
 *
 * Scenarios (label `service`): `checkout-healthy` (0.2% 5xx, p99 ≈ 0.3 s), `checkout-regression`
 * (5% 5xx from the start), `checkout-late` (0.2% 5xx, then 4% from minute 27 of the scenario),
 * `checkout-idle` (counters exist but never increase: no traffic). Each has tenants tn-4582 and
 * tn-9014 (the canary) and tn-1111 (not in the canary), with `http_requests_total{code}`,
 * `quota_denials_total` and a latency histogram per tenant (`_bucket{le}` and `_count`). Series
 * are generated from a seeded PRNG, so every run serves the same numbers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded.js';

/** Seconds between generated samples (a typical scrape interval). */
export const SCRAPE_SECONDS = 15;
/** Minutes of data per scenario. */
export const SCENARIO_MINUTES = 40;
export const CANARY_TENANTS = ['tn-4582', 'tn-9014'];

interface ServiceShape {
  /** Requests per second per tenant. */
  rps: number;
  /** 5xx ratio. */
  errorRate: number;
  /** From this minute of the scenario on, the 5xx ratio is `rate` instead (a late regression). */
  regression?: { fromMinute: number; rate: number };
  /** Fraction of requests per latency bucket upper bound (seconds). */
  latency: [number, number][];
}

export const SERVICES: Record<string, ServiceShape> = {
  'checkout-healthy': {
    rps: 5,
    errorRate: 0.002,
    latency: [
      [0.1, 0.9],
      [0.25, 0.97],
      [0.5, 0.996],
      [1, 1],
    ],
  },
  'checkout-regression': {
    rps: 5,
    errorRate: 0.05,
    latency: [
      [0.1, 0.8],
      [0.25, 0.9],
      [0.5, 0.97],
      [1, 1],
    ],
  },
  // Healthy for 27 minutes of the scenario, then 4% 5xx: a canary judged from minute 2 regresses
  // at minute 25 of its 30.
  'checkout-late': {
    rps: 5,
    errorRate: 0.002,
    regression: { fromMinute: 27, rate: 0.04 },
    latency: [
      [0.1, 0.9],
      [0.25, 0.97],
      [0.5, 0.996],
      [1, 1],
    ],
  },
  'checkout-idle': {
    rps: 0,
    errorRate: 0,
    latency: [
      [0.1, 0.9],
      [0.25, 0.97],
      [0.5, 0.996],
      [1, 1],
    ],
  },
};

/**
 * A seeded pseudo-random source in [0, 1) (the mulberry32 generator), so scenarios and the gate
 * benchmark's simulations are the same on every run.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A start time for scenarios: whole minutes, 3 hours ago (inside the TSDB's retention). */
export function scenarioStart(nowMs = Date.now()): number {
  return Math.floor(nowMs / 60_000) * 60_000 - 3 * 3_600_000;
}

/**
 * OpenMetrics text for every scenario, starting at `startMs` (milliseconds), one sample every
 * {@link SCRAPE_SECONDS} for {@link SCENARIO_MINUTES} minutes.
 */
export function scenarioOpenMetrics(startMs: number, seed = 7): string {
  const rnd = seededRandom(seed);
  const steps = (SCENARIO_MINUTES * 60) / SCRAPE_SECONDS;
  const out: string[] = [];
  for (const [service, shape] of Object.entries(SERVICES)) {
    for (const tenant of [...CANARY_TENANTS, 'tn-1111']) {
      const ok: string[] = [];
      const err: string[] = [];
      const denials: string[] = [];
      const latency = new Map<string, string[]>();
      const latencyLines = (k: string) => latency.get(k) ?? (latency.set(k, []), latency.get(k)!);
      let okTotal = 100;
      let errTotal = 1;
      let denied = 3;
      let requests = 0;
      for (let i = 0; i <= steps; i++) {
        const ts = (startMs / 1000 + i * SCRAPE_SECONDS).toFixed(0);
        if (i > 0 && shape.rps > 0) {
          const n = Math.round(shape.rps * SCRAPE_SECONDS * (0.8 + 0.4 * rnd()));
          const minute = (i * SCRAPE_SECONDS) / 60;
          const rate =
            shape.regression && minute > shape.regression.fromMinute
              ? shape.regression.rate
              : shape.errorRate;
          let e = 0;
          for (let k = 0; k < n; k++) if (rnd() < rate) e++;
          okTotal += n - e;
          errTotal += e;
          requests += n;
          if (CANARY_TENANTS.includes(tenant) && rnd() < 0.3) denied += 1;
        }
        const labels = `service="${service}",tenant="${tenant}"`;
        ok.push(`http_requests_total{${labels},code="200"} ${okTotal} ${ts}`);
        err.push(`http_requests_total{${labels},code="500"} ${errTotal} ${ts}`);
        denials.push(`quota_denials_total{${labels}} ${denied} ${ts}`);
        for (const [le, frac] of shape.latency) {
          latencyLines(String(le)).push(
            `http_request_duration_seconds_bucket{${labels},le="${le}"} ${Math.round(requests * frac)} ${ts}`,
          );
        }
        latencyLines('+Inf').push(
          `http_request_duration_seconds_bucket{${labels},le="+Inf"} ${requests} ${ts}`,
        );
        latencyLines('count').push(
          `http_request_duration_seconds_count{${labels}} ${requests} ${ts}`,
        );
      }
      out.push(...ok, ...err, ...denials);
      for (const lines of latency.values()) out.push(...lines);
    }
  }
  out.push('# EOF');
  return out.join('\n') + '\n';
}

/** True when the `prometheus` and `promtool` binaries are on PATH. */
export function prometheusInstalled(): boolean {
  const ok = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
  return ok('prometheus') && ok('promtool');
}

/**
 * Jest helper: whether to run Prometheus tests. Missing binaries fail the run when `CI` is set
 * (the CI script installs them) and skip with a message otherwise.
 */
export function describePrometheus(): boolean {
  if (prometheusInstalled()) return true;
  if (process.env.CI)
    throw new Error(
      'prometheus/promtool are not installed but CI is set; install the Debian prometheus package',
    );
  console.warn(
    'skipping Prometheus integration tests: prometheus/promtool not found (apt-get install prometheus)',
  );
  return false;
}

/** A running Prometheus. */
export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/**
 * Builds a TSDB from `openMetrics` with promtool and starts Prometheus on it.
 * @throws Error with promtool's or Prometheus' output when either fails
 */
export async function startPrometheus(openMetrics: string): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'gate-prom-'));
  const input = join(dir, 'scenario.om');
  const data = join(dir, 'data');
  writeFileSync(input, openMetrics);
  const built = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, data], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`promtool failed: ${built.stderr || built.stdout}`);
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  evaluation_interval: 1h\n');
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${data}`,
      `--storage.tsdb.retention.time=100y`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`prometheus did not become ready: ${log}`);
}
