/**
 * Loading a checks file into ready-to-send requests: schema validation (with file:line errors),
 * templating of `{{variables}}` and `{{secrets.NAME}}`, `only` filtering, and every other check
 * that can fail before a request is sent, so a bad file never runs half its checks.
 */
import { randomUUID } from 'node:crypto';
import { loadYaml } from '../config/load.js';
import { ConfigError, type SourceLocation } from '../errors.js';
import { smokeFileSchema, type SmokeCheck } from './schema.js';
import { checkRegex, fill, fillDeep, regexLiteral, type TemplateContext } from './template.js';

/** Default time one request may take before it is aborted, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** A test applied to a header value (`null` when the header is absent). */
export interface HeaderMatcher {
  name: string;
  /** Human-readable expectation, e.g. `present`, `matching /^req-/`. */
  describe: string;
  test(value: string | null): boolean;
}

/** A JSON-path expectation: the value at `path` equals `expected` or matches `pattern`. */
export interface JsonExpectation {
  path: string;
  expected?: unknown;
  pattern?: RegExp;
}

/** What a response must satisfy. */
export interface PreparedExpect {
  /** Accepted status codes; `undefined` means any 2xx. */
  status?: number[];
  headers: HeaderMatcher[];
  json: JsonExpectation[];
  /** Body must contain `text` or match `pattern`. */
  body?: { text?: string; pattern?: RegExp };
  /** Latency budget in milliseconds. */
  latencyMs?: number;
}

/** An SQL assertion with its parameters filled. */
export interface PreparedSql {
  query: string;
  params: (string | number | boolean | null)[];
  expectRows: number;
  /** The check's timeout in milliseconds, the query's `statement_timeout`. */
  timeoutMs: number;
  location: SourceLocation;
}

/**
 * Why `query` cannot be an SQL assertion, or `undefined` when it can: the assertion runs one
 * statement (extended protocol) in a READ ONLY transaction, so it must be a query (`SELECT`,
 * `WITH ... SELECT`, `VALUES`, `TABLE`), never transaction control (`COMMIT`, `ROLLBACK`,
 * `BEGIN`, `SET`) that would end or change that transaction.
 */
export function readOnlyQueryProblem(query: string): string | undefined {
  const head = query
    .replace(/^(\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()+/, '')
    .slice(0, 20)
    .toUpperCase();
  const word = /^[A-Z]+/.exec(head)?.[0] ?? '';
  if (['SELECT', 'WITH', 'VALUES', 'TABLE'].includes(word)) return undefined;
  return `only one read-only query (SELECT, WITH, VALUES or TABLE) is allowed, got ${word ? `'${word}'` : 'no statement'}; it runs in a READ ONLY transaction that it cannot end`;
}

/** A check with every template filled, ready to send. */
export interface PreparedCheck {
  name: string;
  /** Position of the check in the file (0-based), for `checks.N` paths. */
  index: number;
  /** The check's line in the YAML file, for annotations. */
  location: SourceLocation;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  followRedirects: boolean;
  expect: PreparedExpect;
  retries: { attempts: number; backoffMs: number };
  idempotency?: {
    key: string;
    /** Header carrying the key, or `undefined` when it travels in the body. */
    header?: string;
    expectReplay: HeaderMatcher[];
    ignoreJson: string[];
    sql?: PreparedSql;
  };
}

/** Options for {@link loadSmokeChecks}. */
export interface LoadSmokeOptions {
  /** Path of the checks YAML file. */
  file: string;
  /** Variable values (`base_url`, `env`, …); override the file's `variables:`. */
  variables?: Record<string, string>;
  /** Secret values by name, referenced as `{{secrets.NAME}}` in headers and bodies. */
  secrets?: Record<string, string>;
  /** Whether a database URL is available for `sql` assertions. */
  hasDatabase?: boolean;
  /** Run only these checks (by name). */
  only?: string[];
  /** Default per-request timeout in milliseconds (a check's `timeout-ms` wins). */
  timeoutMs?: number;
  /** The action input / CLI flag that named the file, for error messages. Default `checks`. */
  input?: string;
}

/** A loaded checks file. */
export interface LoadedSmokeChecks {
  file: string;
  checks: PreparedCheck[];
}

function headerMatcher(
  name: string,
  expectation: unknown,
  location: SourceLocation,
): HeaderMatcher {
  if (expectation === true) return { name, describe: 'present', test: (v) => v !== null };
  if (expectation === false) return { name, describe: 'absent', test: (v) => v === null };
  const text = String(expectation);
  checkRegex(text, `header ${name}`, location);
  const re = regexLiteral(text);
  if (re) return { name, describe: `matching ${text}`, test: (v) => v !== null && re.test(v) };
  return { name, describe: `equal to '${text}'`, test: (v) => v === text };
}

function headerMatchers(
  map: Record<string, unknown> | undefined,
  ctx: TemplateContext,
): HeaderMatcher[] {
  return Object.entries(map ?? {}).map(([name, exp]) =>
    headerMatcher(name, typeof exp === 'string' ? fill(exp, ctx) : exp, ctx.location),
  );
}

function prepareCheck(
  check: SmokeCheck,
  index: number,
  locate: (path: (string | number)[]) => SourceLocation,
  variables: Record<string, string>,
  secrets: Record<string, string>,
  defaults: { headers: Record<string, string>; 'timeout-ms'?: number },
  options: LoadSmokeOptions,
): PreparedCheck {
  const at = (...path: (string | number)[]) => locate(['checks', index, ...path]);
  // The check's own timeout, then the file's defaults, then the caller's (the action input or CLI
  // flag, which always has a value), then 10 s. Milliseconds.
  const timeoutMs =
    check['timeout-ms'] ?? defaults['timeout-ms'] ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const idempotencyKey = check.idempotency
    ? check.idempotency.key
      ? fill(check.idempotency.key, {
          variables,
          secrets,
          allowSecrets: false,
          what: 'idempotency.key',
          location: at('idempotency', 'key'),
        })
      : randomUUID()
    : undefined;
  const vars = idempotencyKey ? { ...variables, idempotency_key: idempotencyKey } : variables;
  const ctx = (what: string, allowSecrets: boolean, ...path: (string | number)[]) => ({
    variables: vars,
    secrets,
    allowSecrets,
    what,
    location: at(...path),
  });

  const url = fill(check.url, ctx('url', false, 'url'));
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new ConfigError(`url: '${url}' is not an http:// or https:// URL`, at('url'));
  }

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...defaults.headers, ...check.headers })) {
    const where = k in check.headers ? at('headers', k) : locate(['defaults', 'headers', k]);
    headers[k] = fill(v, { ...ctx(`headers.${k}`, true), location: where });
  }
  let body: string | undefined;
  if (check.body !== undefined && check.body !== null) {
    const filled = fillDeep(check.body, ctx('body', true, 'body'));
    if (typeof filled === 'string') body = filled;
    else {
      body = JSON.stringify(filled);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/json';
      }
    }
    if (check.method === 'GET' || check.method === 'HEAD') {
      throw new ConfigError(`body: a ${check.method} request cannot have a body`, at('body'));
    }
  }

  const e = check.expect;
  const expectCtx = (what: string, ...path: (string | number)[]) =>
    ctx(what, false, 'expect', ...path);
  const json: JsonExpectation[] = Object.entries(e.json ?? {}).map(([path, expected]) => {
    const c = expectCtx(`expect.json.${path}`, 'json', path);
    const value = typeof expected === 'string' ? fill(expected, c) : expected;
    checkRegex(value, `expect.json.${path}`, c.location);
    const pattern = typeof value === 'string' ? regexLiteral(value) : undefined;
    return pattern ? { path, pattern } : { path, expected: value };
  });
  let bodyExpect: PreparedExpect['body'];
  if (e.body !== undefined) {
    const c = expectCtx('expect.body', 'body');
    const text = fill(e.body, c);
    checkRegex(text, 'expect.body', c.location);
    const pattern = regexLiteral(text);
    bodyExpect = pattern ? { pattern } : { text };
  }

  let idempotency: PreparedCheck['idempotency'];
  if (check.idempotency && idempotencyKey) {
    const i = check.idempotency;
    let sql: PreparedSql | undefined;
    if (i.sql) {
      if (!options.hasDatabase) {
        throw new ConfigError(
          `idempotency.sql needs a database: set the 'database-url' input (or --database-url)`,
          at('idempotency', 'sql'),
        );
      }
      sql = {
        query: i.sql.query,
        params: i.sql.params.map((p, n) =>
          typeof p === 'string'
            ? fill(p, ctx(`idempotency.sql.params.${n}`, false, 'idempotency', 'sql', 'params', n))
            : p,
        ),
        expectRows: i.sql['expect-rows'],
        timeoutMs,
        location: at('idempotency', 'sql'),
      };
      const refused = readOnlyQueryProblem(i.sql.query);
      if (refused)
        throw new ConfigError(
          `idempotency.sql.query: ${refused}`,
          at('idempotency', 'sql', 'query'),
        );
    }
    const header = i.header === false ? undefined : i.header;
    if (header) headers[header] = idempotencyKey;
    idempotency = {
      key: idempotencyKey,
      header,
      expectReplay: headerMatchers(
        i['expect-replay'],
        ctx('idempotency.expect-replay', false, 'idempotency', 'expect-replay'),
      ),
      ignoreJson: i['ignore-json'],
      sql,
    };
  }

  return {
    name: check.name,
    index,
    location: at(),
    method: check.method,
    url,
    headers,
    body,
    timeoutMs,
    followRedirects: check['follow-redirects'],
    expect: {
      status: e.status === undefined ? undefined : Array.isArray(e.status) ? e.status : [e.status],
      headers: headerMatchers(e.headers, expectCtx('expect.headers', 'headers')),
      json,
      body: bodyExpect,
      latencyMs: e['latency-ms'],
    },
    retries: {
      attempts: check.retries?.attempts ?? 1,
      backoffMs: check.retries?.['backoff-ms'] ?? 0,
    },
    idempotency,
  };
}

/**
 * Reads and validates a checks file and fills its templates.
 *
 * Variables: the file's `variables:` overridden by `options.variables`; inside an idempotency
 * check also `{{idempotency_key}}`. Secrets (`{{secrets.NAME}}`) may only appear in headers and
 * bodies, never in URLs, expectations or SQL parameters, so they cannot reach a log line.
 *
 * @throws ConfigError with the file and line for invalid YAML, a schema violation, an unknown
 *   variable or secret, a bad URL or regular expression, an `sql` assertion without a database,
 *   or an `only` name that matches no check
 */
export function loadSmokeChecks(options: LoadSmokeOptions): LoadedSmokeChecks {
  const input = options.input ?? 'checks';
  const loaded = loadYaml(options.file, smokeFileSchema, input);
  const doc = loaded.value;
  const variables: Record<string, string> = {
    ...Object.fromEntries(Object.entries(doc.variables).map(([k, v]) => [k, String(v)])),
    ...options.variables,
  };
  const secrets = options.secrets ?? {};
  const only = options.only?.filter(Boolean) ?? [];
  const names = new Set(doc.checks.map((c) => c.name));
  const unknown = only.filter((n) => !names.has(n));
  if (unknown.length > 0) {
    throw new ConfigError(
      `no check named ${unknown.map((n) => `'${n}'`).join(', ')} in ${options.file} (checks: ${[...names].join(', ')})`,
      undefined,
      'only',
    );
  }
  const checks: PreparedCheck[] = [];
  doc.checks.forEach((check, index) => {
    if (only.length > 0 && !only.includes(check.name)) return;
    checks.push(
      prepareCheck(check, index, loaded.locate, variables, secrets, doc.defaults, options),
    );
  });
  return { file: options.file, checks };
}
