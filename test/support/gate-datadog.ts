/**
 * A FAKE of the Datadog metrics query API for tests — not Datadog. It follows the documented
 * request and response shapes:
 * - v1 `GET /api/v1/query?from=&to=&query=` (seconds) → `{status: "ok", res_type: "time_series",
 *   series: [{metric, expression, scope, pointlist: [[ms, value|null], ...], ...}], from_date,
 *   to_date, query}` (docs.datadoghq.com/api/latest/metrics/#query-timeseries-points);
 * - v2 `POST /api/v2/query/timeseries` with `{data: {type: "timeseries_request", attributes:
 *   {from, to, interval, queries: [{data_source, query, name}], formulas: [{formula}]}}}` (ms) →
 *   `{data: {type: "timeseries_response", attributes: {series: [{group_tags, query_index, unit}],
 *   times: [ms...], values: [[value|null...]]}}}`
 *   (docs.datadoghq.com/api/latest/metrics/#query-timeseries-data-across-multiple-products);
 * - authentication with `DD-API-KEY` and `DD-APPLICATION-KEY` headers; wrong keys get
 *   `403 {"errors": ["Forbidden"]}` (docs.datadoghq.com/api/latest/authentication);
 * - rate limits: `429 {"errors": ["Too many requests"]}` with `X-RateLimit-Limit`,
 *   `X-RateLimit-Period`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the
 *   window resets) (docs.datadoghq.com/api/latest/rate-limits).
 *
 * Series are functions of the query text and the point time; `null` points are gaps. Tests
 * script failures (429, 5xx) for the next requests with {@link FakeDatadog.failNext}.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** A point value at `tMs` (null = gap). */
export type FakeSeriesFn = (tMs: number) => number | null;
/**
 * Values of a query: one series, several (a grouped query such as `... by {tenant}`), or
 * `'empty'` for no series at all.
 */
export type FakeSeries = FakeSeriesFn | FakeSeriesFn[] | 'empty';

/** One request the fake received. */
export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: any;
  hadKeys: boolean;
}

export interface FakeDatadog {
  url: string;
  requests: FakeRequest[];
  /** Answers the next `times` requests with `status` and headers instead of data. */
  failNext(status: number, times: number, headers?: Record<string, string>): void;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += chunk;
  return s;
}

/**
 * Starts the fake on 127.0.0.1 (free port).
 * @param options.series - maps a query string to its series (unknown queries: empty)
 * @param options.v1StepMs - point spacing of v1 answers (default 60 000 ms)
 * @param options.v1Newest - v1 pointlists newest first (the documentation promises no order)
 */
export async function startFakeDatadog(options: {
  apiKey: string;
  appKey: string;
  series: (query: string) => FakeSeries;
  v1StepMs?: number;
  v1Newest?: boolean;
}): Promise<FakeDatadog> {
  const requests: FakeRequest[] = [];
  const failures: { status: number; headers: Record<string, string> }[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const text = await readBody(req);
    const hadKeys =
      req.headers['dd-api-key'] === options.apiKey &&
      req.headers['dd-application-key'] === options.appKey;
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: text ? JSON.parse(text) : undefined,
      hadKeys,
    });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (!hadKeys) return send(403, { errors: ['Forbidden'] });
    const failure = failures.shift();
    if (failure) {
      const body =
        failure.status === 429
          ? { errors: ['Too many requests'] }
          : { errors: ['Internal Server Error'] };
      return send(failure.status, body, failure.headers);
    }
    const seriesOf = (query: string, fromMs: number, toMs: number, stepMs: number) => {
      const s = options.series(query);
      if (s === 'empty') return [];
      return (Array.isArray(s) ? s : [s]).map((fn) => {
        const pts: [number, number | null][] = [];
        for (let t = Math.ceil(fromMs / stepMs) * stepMs; t <= toMs; t += stepMs)
          pts.push([t, fn(t)]);
        return pts;
      });
    };
    if (req.method === 'GET' && url.pathname === '/api/v1/query') {
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      const query = url.searchParams.get('query') ?? '';
      if (!Number.isFinite(from) || !Number.isFinite(to) || !query) {
        return send(400, { status: 'error', errors: ['from, to and query are required'] });
      }
      const step = options.v1StepMs ?? 60_000;
      const all = seriesOf(query, from * 1000, to * 1000, step);
      return send(200, {
        status: 'ok',
        res_type: 'time_series',
        resp_version: 1,
        query,
        from_date: from * 1000,
        to_date: to * 1000,
        group_by: [],
        series: all.map((pts, i) => ({
          metric: query.replace(/^[a-z0-9]+:/, '').replace(/[{(].*$/, ''),
          display_name: query,
          expression: query,
          scope: all.length > 1 ? `tenant:t${i}` : '*',
          tag_set: all.length > 1 ? [`tenant:t${i}`] : [],
          aggr: query.split(':')[0],
          interval: step / 1000,
          length: pts.length,
          start: pts[0]?.[0],
          end: pts[pts.length - 1]?.[0],
          pointlist: options.v1Newest ? [...pts].reverse() : pts,
          unit: null,
        })),
      });
    }
    if (req.method === 'POST' && url.pathname === '/api/v2/query/timeseries') {
      const a = JSON.parse(text || '{}')?.data?.attributes;
      if (
        !a ||
        typeof a.from !== 'number' ||
        typeof a.to !== 'number' ||
        !Array.isArray(a.queries)
      ) {
        return send(400, { errors: ['invalid timeseries_request'] });
      }
      const step = a.interval ?? 60_000;
      const all = seriesOf(a.queries[0].query, a.from, a.to, step);
      return send(200, {
        data: {
          type: 'timeseries_response',
          id: '0',
          attributes: all.length
            ? {
                series: all.map((_pts, i) => ({
                  group_tags: all.length > 1 ? [`tenant:t${i}`] : [],
                  query_index: 0,
                  unit: null,
                })),
                times: all[0].map((p) => p[0]),
                values: all.map((pts) => pts.map((p) => p[1])),
              }
            : { series: [], times: [], values: [] },
        },
      });
    }
    send(404, { errors: ['Not found'] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (status, times, headers = {}) => {
      for (let i = 0; i < times; i++) failures.push({ status, headers });
    },
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
