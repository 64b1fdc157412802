/**
 * Running smoke checks: HTTP requests with the runtime's `fetch` (undici in Node 24) and
 * `AbortSignal.timeout`, expectations on status, headers, JSON fields, body and latency,
 * retries with exponential backoff for warm-up, and idempotency checks (the same request twice
 * with one Idempotency-Key, per draft-ietf-httpapi-idempotency-key-header) with an optional
 * SQL assertion that exactly N rows were written.
 */
import type pg from 'pg';
import { clientConfig, connect, redactUrl, urlPassword } from '../db/connect.js';
import { sleep, type Annotation, type Logger, type SourceLocation } from '../errors.js';
import {
  loadSmokeChecks,
  type HeaderMatcher,
  type PreparedCheck,
  type PreparedExpect,
  type PreparedSql,
} from './load.js';
import { redactor } from './template.js';
import { readOnlyQueryProblem } from './load.js';

/** The `fetch` signature the engine uses (the global one by default; tests may pass another). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options for {@link runSmokeChecks}. */
export interface SmokeOptions {
  /** Path of the checks YAML file. */
  file: string;
  /** Variable values (`base_url`, `env`, …); override the file's `variables:`. */
  variables?: Record<string, string>;
  /** Secret values by name (`{{secrets.NAME}}`); never logged, never in results. */
  secrets?: Record<string, string>;
  /** PostgreSQL URL for `idempotency.sql` assertions; its password never appears in output. */
  databaseUrl?: string;
  /**
   * PEM text of a CA certificate to verify the database server's TLS certificate with (RDS,
   * Supabase), for the SQL assertions. Default: none (the URL's `sslmode` decides).
   */
  caCert?: string;
  /** Run only these checks (by name). */
  only?: string[];
  /** Default per-request timeout in milliseconds. Default 10000; a check's `timeout-ms` wins. */
  timeoutMs?: number;
  /** The `fetch` to use. Default: the global `fetch`. */
  fetch?: FetchLike;
  /** The input / flag that named the file, for error messages. Default `checks`. */
  input?: string;
}

/** The outcome of one check. `status`, `latencyMs`, `ok`, `error` form the action's `results`. */
export interface SmokeResult {
  name: string;
  /** HTTP status of the (first) response; `null` when no response arrived. */
  status: number | null;
  /** Request sent → body read, in milliseconds (first request of an idempotency check). */
  latencyMs: number | null;
  ok: boolean;
  /** Every failed expectation, joined with `; ` (secrets redacted); `null` when ok. */
  error: string | null;
  method: string;
  url: string;
  /** Requests sent: attempts for a retried check, 2 for an idempotency check. */
  attempts: number;
  kind: 'http' | 'idempotency';
  /** The check's line in the checks file. */
  location: SourceLocation;
}

/** All checks of one run. */
export interface SmokeRun {
  file: string;
  results: SmokeResult[];
  passed: number;
  failed: number;
  /** One error annotation per failed check, at the check's line in the YAML file. */
  annotations: Annotation[];
}

/** What a response looked like, as far as the expectations need it. */
interface Captured {
  status: number;
  headers: Headers;
  text: string;
  latencyMs: number;
}

function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function show(value: unknown): string {
  return value === undefined ? '(missing)' : excerpt(JSON.stringify(value) ?? String(value), 120);
}

/** The value at a dotted path (`a.b.0.c`, `a.b[0].c`); `undefined` when absent. */
export function jsonAt(value: unknown, path: string): unknown {
  const parts = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((p) => p.length > 0);
  let cur: unknown = value;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function withoutPaths(value: unknown, paths: string[]): unknown {
  if (paths.length === 0 || value === null || typeof value !== 'object') return value;
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  for (const path of paths) {
    const parts = path
      .replace(/\[(\d+)\]/g, '.$1')
      .split('.')
      .filter(Boolean);
    const last = parts.pop();
    const parent = parts.length ? jsonAt(copy, parts.join('.')) : copy;
    if (last !== undefined && parent && typeof parent === 'object') {
      delete (parent as Record<string, unknown>)[last];
    }
  }
  return copy;
}

/** Structural equality of JSON values (objects compared by keys, not by prototype). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.prototype.hasOwnProperty.call(b, k) &&
      jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** The first place two JSON values differ, as `path: a vs b`; `undefined` when equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (jsonEqual(a, b)) return undefined;
  const bothObjects =
    a !== null &&
    b !== null &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    Array.isArray(a) === Array.isArray(b);
  if (bothObjects) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      );
      if (d) return d;
    }
  }
  return `${path || '(body)'}: ${show(a)} vs ${show(b)}`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function statusOk(expect: PreparedExpect, status: number): boolean {
  return expect.status ? expect.status.includes(status) : status >= 200 && status < 300;
}

function headerFailures(matchers: HeaderMatcher[], headers: Headers, prefix = ''): string[] {
  const out: string[] = [];
  for (const m of matchers) {
    const v = headers.get(m.name);
    if (!m.test(v)) {
      out.push(
        `${prefix}header ${m.name}: expected ${m.describe}, got ${v === null ? '(absent)' : `'${excerpt(v, 120)}'`}`,
      );
    }
  }
  return out;
}

/** Every expectation of `expect` that `res` fails, as messages. */
function evaluate(expect: PreparedExpect, res: Captured): string[] {
  const failures: string[] = [];
  if (!statusOk(expect, res.status)) {
    const wanted = expect.status ? expect.status.join(' or ') : '2xx';
    failures.push(
      `status: expected ${wanted}, got ${res.status} (body: ${excerpt(res.text) || 'empty'})`,
    );
  }
  failures.push(...headerFailures(expect.headers, res.headers));
  if (expect.json.length > 0) {
    const parsed = parseJson(res.text);
    if (!parsed.ok) {
      failures.push(`json: response is not JSON (body: ${excerpt(res.text) || 'empty'})`);
    } else {
      for (const j of expect.json) {
        const actual = jsonAt(parsed.value, j.path);
        if (j.pattern) {
          if (actual === undefined || actual === null || !j.pattern.test(String(actual))) {
            failures.push(`json ${j.path}: expected to match ${j.pattern}, got ${show(actual)}`);
          }
        } else if (!jsonEqual(actual, j.expected)) {
          failures.push(`json ${j.path}: expected ${show(j.expected)}, got ${show(actual)}`);
        }
      }
    }
  }
  if (expect.body) {
    const { text, pattern } = expect.body;
    if (pattern ? !pattern.test(res.text) : !res.text.includes(text ?? '')) {
      failures.push(`body: expected ${pattern ? `to match ${pattern}` : `to contain '${text}'`}`);
    }
  }
  if (expect.latencyMs !== undefined && res.latencyMs > expect.latencyMs) {
    failures.push(
      `latency: ${Math.round(res.latencyMs)} ms over the budget of ${expect.latencyMs} ms`,
    );
  }
  return failures;
}

/** Why a request produced no response, in one line. */
function requestError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return `request: no response within ${timeoutMs} ms (timeout)`;
  }
  const cause = err?.cause;
  const detail = cause?.code ?? cause?.message ?? err?.message ?? String(e);
  return `request: ${err?.message ?? 'failed'}${cause ? ` (${detail})` : ''}`;
}

/**
 * Sends the check's request once. The captured body and header values have every secret
 * replaced by `***` already, so no later excerpt (which may cut a value short) can show a part
 * of a secret that a server echoed back.
 */
async function send(
  check: PreparedCheck,
  doFetch: FetchLike,
  redact: (s: string) => string,
): Promise<Captured> {
  const started = performance.now();
  const res = await doFetch(check.url, {
    method: check.method,
    headers: check.headers,
    body: check.body,
    redirect: check.followRedirects ? 'follow' : 'manual',
    signal: AbortSignal.timeout(check.timeoutMs),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: new Headers([...res.headers].map(([k, v]) => [k, redact(v)])),
    text: redact(text),
    latencyMs: performance.now() - started,
  };
}

/** Lazily opened database connection for SQL assertions, shared by one run. */
class SqlAsserter {
  private client?: pg.Client;
  constructor(
    private readonly url: string | undefined,
    private readonly caCert?: string,
  ) {}

  /** Runs the query in a READ ONLY transaction; returns a failure message or undefined. */
  async check(sql: PreparedSql): Promise<string | undefined> {
    if (!this.url) return 'sql: no database-url given';
    try {
      this.client ??= await connect(this.url, {
        caCert: this.caCert,
        applicationName: 'runbook-smoke',
        input: 'database-url',
      });
      const refused = readOnlyQueryProblem(sql.query);
      if (refused) return `sql: ${refused}`;
      await this.client.query('BEGIN READ ONLY');
      try {
        // One statement through the extended protocol (Parse refuses a second one), inside a
        // read-only transaction, bounded by the check's timeout.
        await this.client.query(
          `SET LOCAL statement_timeout = ${Math.max(1, Math.round(sql.timeoutMs))}`,
        );
        const r = await this.client.query({
          text: sql.query,
          values: sql.params,
          queryMode: 'extended',
        } as pg.QueryConfig);
        if (r.rows.length !== sql.expectRows) {
          return `sql: expected ${sql.expectRows} row${sql.expectRows === 1 ? '' : 's'}, got ${r.rows.length} (${excerpt(sql.query, 120)})`;
        }
        return undefined;
      } finally {
        await this.client.query('ROLLBACK').catch(() => {});
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === '42601' && /multiple commands/.test((e as Error).message)) {
        return 'sql: exactly one statement is allowed (a read-only SELECT); nothing was run';
      }
      return `sql: ${redactUrl((e as Error).message)}${code ? ` (SQLSTATE ${code})` : ''}`;
    }
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {});
  }
}

/** Idempotent request methods (RFC 9110 section 9.2.2): repeating them is safe. */
const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'];
/** Statuses that say the server did not process the request (RFC 9110 15.6.4, RFC 6585 4). */
const NOT_PROCESSED_STATUS = [429, 503];
/**
 * Answers that another attempt cannot change (RFC 9110 §15.5–15.6: the request itself or its
 * credentials are wrong, or the server cannot do it): a check that did not expect them fails at
 * once instead of spending its retries.
 */
const PERMANENT_STATUS = [
  400, 401, 403, 405, 406, 407, 410, 411, 413, 414, 415, 422, 426, 431, 451, 501, 505,
];
/** Network errors another attempt cannot change: no such host, a certificate the client refuses. */
const PERMANENT_CODE =
  /^(ENOTFOUND|ERR_INVALID_URL|ERR_TLS_CERT_ALTNAME_INVALID|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/;
/** Connection errors raised before any byte of the request reached a server. */
const NOT_SENT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'];

/**
 * Whether a check's request may be sent again after any failure: an idempotent method, or a
 * request that carries an `Idempotency-Key` header. A POST or PATCH without one is retried only
 * when the server provably did not process it (connection refused, 429, 503), so a warm-up
 * retry never creates a second job or charges a purchase twice.
 */
function isRepeatable(check: PreparedCheck): boolean {
  if (IDEMPOTENT_METHODS.includes(check.method.toUpperCase())) return true;
  return Object.keys(check.headers).some((h) => h.toLowerCase() === 'idempotency-key');
}

async function runHttpCheck(
  check: PreparedCheck,
  doFetch: FetchLike,
  logger: Logger,
  redact: (s: string) => string,
): Promise<{
  status: number | null;
  latencyMs: number | null;
  failures: string[];
  attempts: number;
}> {
  const { attempts, backoffMs } = check.retries;
  let last: { status: number | null; latencyMs: number | null; failures: string[] } = {
    status: null,
    latencyMs: null,
    failures: [],
  };
  const repeatable = isRepeatable(check);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let notProcessed: boolean;
    let permanent: string | undefined;
    try {
      const res = await send(check, doFetch, redact);
      notProcessed = NOT_PROCESSED_STATUS.includes(res.status);
      if (PERMANENT_STATUS.includes(res.status) && !check.expect.status?.includes(res.status)) {
        permanent = `HTTP ${res.status} does not change by retrying${res.status === 401 || res.status === 403 ? ' (check the credentials in the headers)' : ''}`;
      }
      last = {
        status: res.status,
        latencyMs: res.latencyMs,
        failures: evaluate(check.expect, res),
      };
    } catch (e) {
      const code = (e as { cause?: { code?: string } })?.cause?.code;
      notProcessed = code !== undefined && NOT_SENT_CODES.includes(code);
      if (code && PERMANENT_CODE.test(code)) permanent = `${code} does not change by retrying`;
      last = { status: null, latencyMs: null, failures: [requestError(e, check.timeoutMs)] };
    }
    if (last.failures.length === 0 || attempt === attempts) return { ...last, attempts: attempt };
    if (permanent) {
      logger.info(
        `  ${check.name}: attempt ${attempt}/${attempts} failed (${redact(last.failures[0])}); not retried: ${permanent}`,
      );
      return { ...last, attempts: attempt };
    }
    if (!repeatable && !notProcessed) {
      logger.info(
        `  ${check.name}: attempt ${attempt}/${attempts} failed (${redact(last.failures[0])}); not retried: ${check.method} is not idempotent and the server may have processed the request (retried only on connection refused, 429 or 503, or with an Idempotency-Key header)`,
      );
      return { ...last, attempts: attempt };
    }
    const wait = backoffMs * 2 ** (attempt - 1);
    logger.info(
      `  ${check.name}: attempt ${attempt}/${attempts} failed (${redact(last.failures[0])}); retrying in ${wait} ms`,
    );
    await sleep(wait);
  }
  return { ...last, attempts };
}

async function runIdempotencyCheck(
  check: PreparedCheck,
  doFetch: FetchLike,
  sql: SqlAsserter,
  redact: (s: string) => string,
): Promise<{
  status: number | null;
  latencyMs: number | null;
  failures: string[];
  attempts: number;
}> {
  const idem = check.idempotency!;
  let first: Captured;
  try {
    first = await send(check, doFetch, redact);
  } catch (e) {
    return {
      status: null,
      latencyMs: null,
      failures: [requestError(e, check.timeoutMs)],
      attempts: 1,
    };
  }
  const failures = evaluate(check.expect, first);
  let second: Captured;
  try {
    second = await send(check, doFetch, redact);
  } catch (e) {
    failures.push(`retry ${requestError(e, check.timeoutMs)}`);
    return { status: first.status, latencyMs: first.latencyMs, failures, attempts: 2 };
  }
  if (second.status !== first.status) {
    failures.push(
      `idempotency: retry with the same key returned status ${second.status}, first request ${first.status}`,
    );
  }
  const a = parseJson(first.text);
  const b = parseJson(second.text);
  if (a.ok && b.ok) {
    const diff = firstDifference(
      withoutPaths(a.value, idem.ignoreJson),
      withoutPaths(b.value, idem.ignoreJson),
    );
    if (diff)
      failures.push(`idempotency: retry with the same key returned a different body (${diff})`);
  } else if (first.text !== second.text) {
    failures.push(
      `idempotency: retry with the same key returned a different body ('${excerpt(first.text, 80)}' vs '${excerpt(second.text, 80)}')`,
    );
  }
  failures.push(...headerFailures(idem.expectReplay, second.headers, 'replay '));
  const budget = check.expect.latencyMs;
  if (budget !== undefined && second.latencyMs > budget) {
    failures.push(
      `latency: retry took ${Math.round(second.latencyMs)} ms, over the budget of ${budget} ms`,
    );
  }
  if (idem.sql) {
    const f = await sql.check(idem.sql);
    if (f) failures.push(f);
  }
  return { status: first.status, latencyMs: first.latencyMs, failures, attempts: 2 };
}

/**
 * Loads a checks file and runs its checks in file order, one at a time.
 *
 * A check passes when every expectation holds (for a retried check: on some attempt). An
 * idempotency check sends its request twice with the same key and passes when the second
 * response has the same status and body (minus `ignore-json` paths), the replay headers
 * match, and the SQL assertion (run in a READ ONLY transaction) returns `expect-rows` rows.
 * Failed checks do not stop the run. Secret values are replaced by `***` in every message.
 *
 * @returns every check's result, the pass/fail counts and one annotation per failed check
 * @throws ConfigError (file and line) for a bad checks file, before any request is sent
 */
export async function runSmokeChecks(options: SmokeOptions, logger: Logger): Promise<SmokeRun> {
  const loaded = loadSmokeChecks({
    file: options.file,
    variables: options.variables,
    secrets: options.secrets,
    hasDatabase: Boolean(options.databaseUrl),
    only: options.only,
    timeoutMs: options.timeoutMs,
    input: options.input,
  });
  // A malformed database URL is a configuration error, reported before any request is sent.
  if (options.databaseUrl && loaded.checks.some((c) => c.idempotency?.sql)) {
    clientConfig(options.databaseUrl, { input: 'database-url' });
  }
  const pw = options.databaseUrl ? urlPassword(options.databaseUrl) : undefined;
  const redact = redactor([...Object.values(options.secrets ?? {}), ...(pw ? [pw] : [])]);
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const sql = new SqlAsserter(options.databaseUrl, options.caCert || undefined);
  const results: SmokeResult[] = [];
  try {
    for (const check of loaded.checks) {
      const outcome = check.idempotency
        ? await runIdempotencyCheck(check, doFetch, sql, redact)
        : await runHttpCheck(check, doFetch, logger, redact);
      const ok = outcome.failures.length === 0;
      const result: SmokeResult = {
        name: check.name,
        status: outcome.status,
        latencyMs: outcome.latencyMs === null ? null : Math.round(outcome.latencyMs),
        ok,
        error: ok ? null : redact(outcome.failures.join('; ')),
        method: check.method,
        url: redact(check.url),
        attempts: outcome.attempts,
        kind: check.idempotency ? 'idempotency' : 'http',
        location: check.location,
      };
      results.push(result);
      const head = `${ok ? '✓' : '✗'} ${check.name}: ${check.method} ${result.url} → ${result.status ?? 'no response'}${result.latencyMs !== null ? ` in ${result.latencyMs} ms` : ''}`;
      logger.info(ok ? head : `${head}: ${result.error}`);
    }
  } finally {
    await sql.close();
  }
  const failed = results.filter((r) => !r.ok);
  return {
    file: loaded.file,
    results,
    passed: results.length - failed.length,
    failed: failed.length,
    annotations: failed.map((r) => ({
      level: 'error',
      title: `smoke check '${r.name}' failed`,
      message: r.error ?? 'failed',
      location: r.location,
    })),
  };
}
