/**
 * `runGate`: judges a canary against its criteria in one of three modes.
 *
 * - `live`: measures every `interval` (instant queries at the measurement time) until every
 *   metric has held for `count` measurements (pass), a limit is hit (fail or inconclusive), or
 *   `timeoutMs` runs out (inconclusive). With `query-delay`, each window is queried that long
 *   after it ended (late-arriving data, e.g. Datadog ingestion lag).
 * - `backtest`: judges a past window in one pass of range queries, measurement by measurement,
 *   and reports the verdict and the moment it would have failed.
 * - `replay`: a backtest over the values recorded in a measurements file.
 *
 * Time is injectable (`now`, `sleep`), so tests and simulations never wait for real.
 */
import { ConfigError, sleep as realSleep, type Logger } from '../errors.js';
import { redactor } from '../redact.js';
import {
  loadCriteria,
  type Criteria,
  type CriteriaOverrides,
  type MetricCriteria,
  type ProviderName,
  type TemplateVariables,
} from './criteria.js';
import {
  fmt,
  measure,
  newMetricState,
  notYetPassing,
  outcome,
  type Measurement,
  type MetricState,
  type Sample,
} from './evaluation.js';
import {
  readMeasurements,
  writeMeasurements,
  type GateResult,
  type MetricResult,
  type Verdict,
} from './measurements.js';
import { vectorSelectors } from './selectors.js';
import { createProvider } from './providers/index.js';
import type { DatadogOptions } from './providers/datadog.js';
import type { GrafanaOptions } from './providers/grafana.js';
import type { PrometheusOptions } from './providers/prometheus.js';
import {
  ProviderError,
  type MetricsProvider,
  type Point,
  type ProviderContext,
  type QueryRef,
} from './providers/types.js';

/** Gate modes; see {@link Mode}. */
export const MODES = ['live', 'backtest', 'replay'] as const;
/**
 * How {@link runGate} measures:
 * - `live`: one instant query per metric and role as each interval ends (plus `query-delay`),
 *   sleeping in between, until a verdict or the timeout;
 * - `backtest`: one range query per metric and role over a past window (`start`/`end`), then
 *   judged measurement by measurement, as live mode would have;
 * - `replay`: as backtest, over the values recorded in a measurements file (`replayFile`).
 */
export type Mode = (typeof MODES)[number];

/** Options of {@link runGate}. */
export interface GateOptions {
  /** Criteria already loaded, or the path of a criteria YAML file. */
  criteria: Criteria | string;
  /** Template variables (used when `criteria` is a path). */
  variables?: TemplateVariables;
  /** `interval`/`duration` overrides in milliseconds (used when `criteria` is a path). */
  overrides?: CriteriaOverrides;
  /** `live` (default), `backtest` or `replay`; see {@link Mode}. */
  mode?: Mode;
  /** Use this provider for every metric instead of the criteria's. */
  provider?: ProviderName;
  prometheus?: PrometheusOptions;
  grafana?: GrafanaOptions;
  datadog?: DatadogOptions;
  /** Measurements file to replay (mode `replay`, or provider `replay`). */
  replayFile?: string;
  /**
   * Backtest window start: RFC 3339, milliseconds (not seconds) since the epoch, `now`, or
   * relative like `-30m`. Default: `end` − initial delay − duration.
   */
  start?: string | number;
  /**
   * Backtest window end, as `start`. Default: `start` + initial delay + duration when `start`
   * is given, else now − `query-delay`.
   */
  end?: string | number;
  /**
   * Live mode: give up (inconclusive) after this many milliseconds from the start; default
   * initial delay + query delay + duration + 5 intervals.
   */
  timeoutMs?: number;
  /** Writes the measurements file here when set. */
  measurementsFile?: string;
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  /** Waits milliseconds (default a real timer); also used for 429 backoff. */
  sleep?: (ms: number) => Promise<void>;
  /** Retries after HTTP 429 (a count; default 5). */
  maxRetries?: number;
  /** Supplies a provider by name instead of the built-in ones (simulations, tests). */
  providerFactory?: (name: ProviderName) => MetricsProvider;
}

/**
 * Parses a time: RFC 3339 (`2024-06-03T19:30:00Z`), `now`, a relative offset from now
 * (`-30m`, `now-1h`), or milliseconds since the epoch.
 * @returns milliseconds since the epoch
 * @throws ConfigError naming `input`
 */
export function parseTime(text: string | number, nowMs: number, input: string): number {
  if (typeof text === 'number') return text;
  const s = text.trim();
  if (s === 'now') return nowMs;
  const rel = /^(?:now)?\s*-\s*((?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$/.exec(s);
  if (rel) {
    let total = 0;
    for (const m of rel[1].matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
      total +=
        Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
    }
    return nowMs - total;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new ConfigError(
    `'${text}' is not a time (use RFC 3339 like 2024-06-03T19:30:00Z, or relative like -30m)`,
    undefined,
    input,
  );
}

const ROLES = ['value', 'numerator', 'denominator', 'baseline'] as const;

function refsOf(metric: MetricCriteria): QueryRef[] {
  const refs: QueryRef[] = [];
  if (metric.query) refs.push({ metric: metric.name, role: 'value', query: metric.query });
  if (metric.numerator)
    refs.push({ metric: metric.name, role: 'numerator', query: metric.numerator });
  if (metric.denominator)
    refs.push({ metric: metric.name, role: 'denominator', query: metric.denominator });
  if (metric.baseline) refs.push({ metric: metric.name, role: 'baseline', query: metric.baseline });
  return refs;
}

/**
 * Runs the gate.
 * @returns the verdict, its reason, the failing measurement's time and every measurement
 *   (see {@link GateResult}; times RFC 3339, `intervalMs` in milliseconds)
 * @throws ConfigError for bad criteria, inputs, or credentials a provider rejected
 */
export async function runGate(options: GateOptions, logger: Logger): Promise<GateResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const mode: Mode = options.mode ?? 'live';
  const criteria =
    typeof options.criteria === 'string'
      ? loadCriteria(options.criteria, options.variables, options.overrides)
      : options.criteria;
  for (const d of criteria.deprecations ?? []) logger.warning(d.message, d.location);
  const recording =
    mode === 'replay' || options.provider === 'replay'
      ? options.replayFile
        ? readMeasurements(options.replayFile)
        : (() => {
            throw new ConfigError('is required in replay mode', undefined, 'replay-file');
          })()
      : undefined;

  if (recording && recording.intervalMs !== criteria.intervalMs) {
    // Each recorded value covers one recorded interval: judged at another interval, counts
    // would be dropped (longer) or most measurements would have no data (shorter).
    throw new ConfigError(
      `the recording was measured every ${recording.intervalMs / 1000} s but the criteria's interval is ${criteria.intervalMs / 1000} s; replay with the recorded interval (set interval: ${recording.intervalMs / 1000}s, or the interval input)`,
      undefined,
      'interval',
    );
  }

  // A provider's error text is outside text: it reaches the log, the reason output and the
  // measurements file (an artifact the runner's masking never sees) only through this.
  const redact = redactor([
    options.prometheus?.token,
    options.prometheus?.password,
    options.grafana?.token,
    options.datadog?.apiKey,
    options.datadog?.appKey,
  ]);

  if (recording) {
    // A metric added since the recording has nothing to be judged on: it is reported, but
    // cannot decide a replayed verdict.
    const recorded = new Set(recording.metrics.map((m) => m.name));
    const unrecorded = criteria.metrics.filter((m) => !m.dryRun && !recorded.has(m.name));
    for (const m of unrecorded) {
      logger.warning(
        `replay: metric '${m.name}' is not in the recording; it is reported as dry-run and left out of the verdict`,
        m.location,
      );
    }
    if (unrecorded.length) {
      criteria.metrics.forEach((m) => (m.dryRun ||= unrecorded.includes(m)));
    }
  }

  // Providers are created (and their client libraries loaded) only when a metric needs them.
  const startedAt = now();
  const { intervalMs, count, initialDelayMs } = criteria;
  // Criteria built by hand (older callers, simulations) may lack it.
  const queryDelayMs = criteria.queryDelayMs ?? 0;
  const timeoutMs = options.timeoutMs ?? initialDelayMs + queryDelayMs + (count + 5) * intervalMs;
  const providers = new Map<ProviderName, MetricsProvider>();
  const ctx: ProviderContext = {
    logger,
    sleep,
    now,
    maxRetries: options.maxRetries,
    // Live mode: no request or backoff wait runs past the gate's timeout.
    ...(mode === 'live' && !recording ? { deadlineMs: startedAt + timeoutMs } : {}),
  };
  async function providerFor(metric: MetricCriteria): Promise<MetricsProvider> {
    const name: ProviderName = recording ? 'replay' : (options.provider ?? metric.provider);
    let p = providers.get(name);
    if (p) return p;
    p = options.providerFactory
      ? options.providerFactory(name)
      : await createProvider(
          name,
          {
            prometheus: options.prometheus,
            grafana: options.grafana,
            datadog: options.datadog,
            datadogApi: criteria.datadogApi,
            datadogSite: criteria.datadogSite,
            recording,
            metrics: criteria.metrics,
            logger,
          },
          ctx,
        );
    providers.set(name, p);
    return p;
  }
  const metricProviders = new Map<string, MetricsProvider>();
  for (const metric of criteria.metrics)
    metricProviders.set(metric.name, await providerFor(metric));

  const states = new Map<string, MetricState>(
    criteria.metrics.map((m) => [m.name, newMetricState(count)]),
  );
  const statuses = new Map<string, { status: MetricResult['status']; reason?: string }>();

  // Measurement times.
  let times: number[];
  let sampler: (metric: MetricCriteria, atMs: number) => Promise<Sample>;
  // Backtests check the numerators' selectors over their whole window, live mode at its first look.
  let seriesWindow: { start: number; end: number } | undefined;
  if (mode === 'live' && !recording) {
    times = [];
    sampler = async (metric, atMs) => {
      const sample: Sample = {};
      try {
        for (const ref of refsOf(metric)) {
          sample[ref.role] = await metricProviders.get(metric.name)!.instant(ref, atMs, intervalMs);
        }
      } catch (e) {
        if (e instanceof ProviderError) return { error: redact(e.message) };
        throw e;
      }
      return sample;
    };
  } else {
    const span = initialDelayMs + count * intervalMs;
    let endMs: number;
    let startMs: number;
    if (recording && options.start === undefined && options.end === undefined) {
      const first = Date.parse(recording.window.start);
      startMs = first - intervalMs - initialDelayMs;
      endMs = Date.parse(recording.window.end);
    } else {
      endMs = options.end !== undefined ? parseTime(options.end, startedAt, 'end') : NaN;
      startMs = options.start !== undefined ? parseTime(options.start, startedAt, 'start') : NaN;
      if (Number.isNaN(endMs))
        endMs = Number.isNaN(startMs) ? startedAt - queryDelayMs : startMs + span;
      if (Number.isNaN(startMs)) startMs = endMs - span;
    }
    if (endMs <= startMs)
      throw new ConfigError(`the window ends before it starts`, undefined, 'end');
    times = [];
    for (let t = startMs + initialDelayMs + intervalMs; t <= endMs; t += intervalMs) times.push(t);
    if (times.length === 0) {
      throw new ConfigError(
        `the window is shorter than initial-delay + one interval`,
        undefined,
        'start',
      );
    }
    // One pass of range queries per metric and role.
    const series = new Map<string, Map<number, number | null> | { error: string }>();
    for (const metric of criteria.metrics) {
      for (const ref of refsOf(metric)) {
        const key = `${metric.name}/${ref.role}`;
        try {
          const pts: Point[] = await metricProviders
            .get(metric.name)!
            .range(ref, times[0], times[times.length - 1], intervalMs);
          series.set(key, new Map(pts.map((p) => [p.t, p.v])));
        } catch (e) {
          if (!(e instanceof ProviderError)) throw e;
          logger.warning(redact(e.message));
          series.set(key, { error: redact(e.message) });
        }
      }
    }
    // A recorded provider error replays as an error (counted against consecutive-error-limit,
    // as it was live), not as missing data (which inconclusive-limit would count).
    const recordedErrors = new Map<string, string>();
    for (const m of recording?.metrics ?? []) {
      for (const x of m.measurements) {
        if (x.phase === 'error')
          recordedErrors.set(`${m.name}@${Date.parse(x.at)}`, x.message ?? 'provider error');
      }
    }
    sampler = async (metric, atMs) => {
      const recordedError = recordedErrors.get(`${metric.name}@${atMs}`);
      if (recordedError !== undefined) return { error: `recorded: ${recordedError}` };
      const sample: Sample = {};
      for (const role of ROLES) {
        const s = series.get(`${metric.name}/${role}`);
        if (!s) continue;
        if (!(s instanceof Map)) return { error: s.error };
        sample[role] = s.get(atMs) ?? null;
      }
      return sample;
    };
  }

  if (times.length) seriesWindow = { start: times[0] - intervalMs, end: times[times.length - 1] };
  let verdict: Verdict | undefined;
  let reason: string;
  let failedAt: string | undefined;
  let ranOut = false;
  let lastAt = startedAt;
  let firstAt: number | undefined;
  for (let k = 1; ; k++) {
    let atMs: number;
    if (mode === 'live' && !recording) {
      atMs = startedAt + initialDelayMs + k * intervalMs;
      // The window ending at atMs is queried once its late data has arrived.
      const queryAt = atMs + queryDelayMs;
      // The real clock counts too: slow queries or long 429 backoffs may have used the time up.
      if (Math.max(queryAt, now()) - startedAt > timeoutMs) {
        verdict = 'inconclusive';
        ranOut = true;
        reason = `timeout after ${Math.round(timeoutMs / 1000)} s before the criteria held for ${count} measurement(s)`;
        break;
      }
      const wait = queryAt - now();
      if (wait > 0) await sleep(wait);
    } else {
      if (k > times.length) {
        verdict = 'inconclusive';
        ranOut = true;
        reason = `the window ended after ${times.length} measurement(s) before the criteria held for ${count}`;
        break;
      }
      atMs = times[k - 1];
    }
    firstAt ??= atMs;
    lastAt = atMs;
    if (k === 1 && !recording) {
      const missing = await checkSeries(
        criteria.metrics,
        (m) => metricProviders.get(m.name)!,
        seriesWindow ?? { start: startedAt - 3_600_000, end: atMs },
        logger,
      );
      let blocking: string | undefined;
      for (const [name, why] of missing) {
        const metric = criteria.metrics.find((m) => m.name === name)!;
        statuses.set(name, { status: 'inconclusive', reason: `${name}: ${why}` });
        if (metric.dryRun) logger.warning(`dry-run metric ${name}: ${why}`);
        else blocking ??= `${name}: ${why}`;
      }
      if (blocking) {
        verdict = 'inconclusive';
        reason = blocking;
        break;
      }
    }
    const round: string[] = [];
    for (const metric of criteria.metrics) {
      const state = states.get(metric.name)!;
      const m = measure(metric, state, await sampler(metric, atMs), atMs);
      round.push(describe(metric, m));
    }
    logger.info(`[${new Date(atMs).toISOString()}] #${k} ${round.join(' | ')}`);

    // Limits: a failed non-dry-run metric fails the gate; errors and inconclusive make it inconclusive.
    let failure: string | undefined;
    let stuck: string | undefined;
    for (const metric of criteria.metrics) {
      const o = outcome(metric, states.get(metric.name)!, criteria);
      if (o.status === 'running') continue;
      if (metric.dryRun) {
        if (!statuses.has(metric.name)) logger.warning(`dry-run metric ${o.reason}`);
        statuses.set(metric.name, { status: o.status, reason: o.reason });
        continue;
      }
      statuses.set(metric.name, { status: o.status, reason: o.reason });
      if (o.status === 'failed') failure ??= o.reason;
      else stuck ??= o.reason;
    }
    if (failure) {
      verdict = 'fail';
      reason = failure;
      failedAt = new Date(atMs).toISOString();
      break;
    }
    if (stuck) {
      verdict = 'inconclusive';
      reason = stuck;
      break;
    }
    if (k >= count) {
      const blocking = criteria.metrics
        .filter((m) => !m.dryRun)
        .map((m) => notYetPassing(m, states.get(m.name)!))
        .filter((r): r is string => r !== undefined);
      if (blocking.length === 0) {
        verdict = 'pass';
        reason = `every criterion held for ${k} measurement(s) over ${Math.round((k * intervalMs) / 60_000)} min`;
        // Say what the limits let through, so a pass with failures is not read as a clean one.
        const tolerated = criteria.metrics
          .filter((m) => !m.dryRun)
          .map((m) => {
            const st = states.get(m.name)!;
            const parts = [
              st.failed ? `${st.failed} failed` : '',
              st.inconclusive ? `${st.inconclusive} inconclusive` : '',
              st.errors ? `${st.errors} error(s)` : '',
            ].filter(Boolean);
            return parts.length ? `${m.name} ${parts.join(', ')}` : '';
          })
          .filter(Boolean);
        if (tolerated.length) reason += ` (within the limits: ${tolerated.join('; ')})`;
        // Measurements skipped as no data are not "held": say how many, and why.
        const skipped = criteria.metrics
          .filter((m) => !m.dryRun && states.get(m.name)!.skipped > 0)
          .map((m) => {
            const st = states.get(m.name)!;
            const why = Object.entries(st.noData)
              .map(([r, n]) => `${r} ×${n}`)
              .join('; ');
            return `${m.name} judged ${st.measurements.length - st.skipped} of ${st.measurements.length}, ${st.skipped} skipped as no data (no-data: ignore): ${why}`;
          });
        if (skipped.length) reason += `; ${skipped.join('; ')}`;
        break;
      }
      if (k === count) logger.info(`not passing yet: ${blocking.join('; ')}`);
    }
  }
  if (ranOut) {
    const blocking = criteria.metrics
      .filter((m) => !m.dryRun)
      .map((m) => notYetPassing(m, states.get(m.name)!))
      .filter(Boolean);
    if (blocking.length) reason += `: ${blocking.join('; ')}`;
  }

  const result: GateResult = {
    version: 1,
    verdict: verdict!,
    reason,
    ...(failedAt ? { failedAt } : {}),
    mode,
    criteria: criteria.file,
    window: {
      start: new Date(firstAt ?? startedAt).toISOString(),
      end: new Date(lastAt).toISOString(),
    },
    intervalMs,
    count,
    metrics: criteria.metrics.map((metric): MetricResult => {
      const s = states.get(metric.name)!;
      const st = statuses.get(metric.name);
      const held = notYetPassing(metric, s) === undefined && s.measurements.length >= count;
      return {
        name: metric.name,
        provider: metricProviders.get(metric.name)!.name,
        condition: metric.condition.text,
        unit: metric.unit,
        dryRun: metric.dryRun,
        queries: Object.fromEntries(refsOf(metric).map((r) => [r.role, r.query])),
        status: st?.status ?? (held ? 'successful' : 'running'),
        ...(st?.reason ? { reason: st.reason } : {}),
        successful: s.successful,
        failed: s.failed,
        errors: s.errors,
        inconclusive: s.inconclusive,
        skipped: s.skipped,
        ...(Object.keys(s.noData).length ? { noData: s.noData } : {}),
        measurements: s.measurements,
      };
    }),
  };
  logger.info(`verdict: ${result.verdict} — ${result.reason}`);
  if (options.measurementsFile) writeMeasurements(options.measurementsFile, result);
  return result;
}

/**
 * Asks each count metric's provider whether the selectors of its numerator match any series in
 * `window` (milliseconds since the epoch), before an aggregation or `or vector(0)` can turn
 * "nothing matched" into zero events. With `absent-is-zero`, no series is allowed, but every
 * label name the selector uses must exist on the metric (a `code` matcher on a service that
 * labels `status` never matches). Providers without a series API (Datadog) are not checked;
 * a failed check is a warning, never a verdict.
 * @returns metric name → why it is inconclusive
 */
async function checkSeries(
  metrics: MetricCriteria[],
  providerOf: (m: MetricCriteria) => MetricsProvider,
  window: { start: number; end: number },
  logger: Logger,
): Promise<Map<string, string>> {
  const missing = new Map<string, string>();
  for (const metric of metrics) {
    if (metric.numerator === undefined) continue;
    const p = providerOf(metric);
    if (!p.series) continue;
    try {
      for (const sel of vectorSelectors(metric.numerator)) {
        if ((await p.series(sel.text, window.start, window.end)) > 0) continue;
        const names =
          sel.metric && p.labelNames
            ? await p.labelNames(sel.metric, window.start, window.end)
            : undefined;
        const absentLabels = names?.length ? sel.labels.filter((l) => !names.includes(l)) : [];
        const known = (names ?? []).filter((l) => l !== '__name__').join(', ');
        if (names !== undefined && names.length === 0) {
          missing.set(
            metric.name,
            `query matches no series: no ${sel.metric} series at all (${sel.text})`,
          );
        } else if (absentLabels.length) {
          missing.set(
            metric.name,
            `query matches no series: ${sel.text} uses label ${absentLabels.join(', ')}, which no ${sel.metric} series has (its labels: ${known})`,
          );
        } else if (!metric.absentIsZero) {
          missing.set(
            metric.name,
            `query matches no series: ${sel.text} (if no series means zero events, as for an error counter before its first error, set absent-is-zero: true)`,
          );
        }
        if (missing.has(metric.name)) break;
      }
    } catch (e) {
      if (!(e instanceof ProviderError)) throw e;
      logger.warning(
        `${metric.name}: could not check that the numerator matches series: ${e.message}`,
      );
    }
  }
  return missing;
}

function describe(metric: MetricCriteria, m: Measurement): string {
  const mark = {
    successful: 'ok',
    failed: 'FAIL',
    inconclusive: 'inconclusive',
    error: 'error',
    pending: 'pending',
    skipped: 'skipped',
  }[m.phase];
  const counts = m.pooled
    ? ` (${fmt(m.numerator)}/${fmt(m.denominator)}; pooled ${fmt(m.estimate)} [${fmt(m.lower)}, ${fmt(m.upper)}])`
    : '';
  const dry = metric.dryRun ? ' [dry-run]' : '';
  return `${metric.name}${dry} ${fmt(m.value)}${counts} ${metric.condition.op} ${fmt(m.threshold)} ${mark}${m.phase === 'error' || m.phase === 'inconclusive' ? `: ${m.message}` : ''}`;
}
