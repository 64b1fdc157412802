export const id = 389;
export const ids = [389];
export const modules = {

/***/ 9389:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   HttpBackend: () => (/* binding */ HttpBackend)
/* harmony export */ });
/* unused harmony export DEFAULT_HTTP_API */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3916);
/* harmony import */ var _redact_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6670);
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(4828);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3676);




/** The default templates. */
const DEFAULT_HTTP_API = {
    read: { method: 'GET', path: '/v1/admin/flags/{flag}?env={environment}' },
    globalPath: 'global',
    tenantsPath: 'tenants',
    tenant: {
        method: 'PUT',
        path: '/v1/admin/flags/{flag}/tenants/{tenant}?env={environment}',
        body: '{"enabled": {enabled}, "comment": {comment}}',
    },
    global: {
        method: 'PUT',
        path: '/v1/admin/flags/{flag}?env={environment}',
        body: '{"enabled": {enabled}, "comment": {comment}}',
    },
    percentagePath: 'percentage',
    percentage: {
        method: 'PUT',
        path: '/v1/admin/flags/{flag}/rollout?env={environment}',
        body: '{"percentage": {percentage}, "comment": {comment}}',
    },
    authHeader: 'Authorization',
    authScheme: 'Bearer ',
};
function fillPath(t, vars) {
    return t.replace(/\{(\w+)\}/g, (_m, k) => encodeURIComponent(String(vars[k] ?? '')));
}
function fillBody(t, vars) {
    if (!t)
        return undefined;
    return t.replace(/\{(\w+)\}/g, (_m, k) => JSON.stringify(vars[k] ?? null));
}
function at(obj, path) {
    return path
        .split('.')
        .reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
}
/** A flag admin API driven by request templates. */
class HttpBackend {
    options;
    name = 'http';
    globalMeaning;
    api;
    client;
    etag;
    constructor(options, logger) {
        this.options = options;
        this.api = { ...DEFAULT_HTTP_API, ...options.api };
        for (const k of ['read', 'tenant', 'global', 'percentage']) {
            const t = this.api[k];
            if (!t || typeof t.method !== 'string' || typeof t.path !== 'string') {
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`http-api.${k} needs a method and a path`, undefined, 'http-api');
            }
        }
        try {
            new URL(options.baseUrl);
        }
        catch {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`not a URL: '${(0,_redact_js__WEBPACK_IMPORTED_MODULE_3__/* .redactCredentials */ .UY)(options.baseUrl)}'`, undefined, 'base-url');
        }
        this.globalMeaning = `the '${this.api.globalPath}' field of ${this.api.read.method} ${this.api.read.path}`;
        this.client = {
            service: 'flag admin API',
            secrets: [options.token],
            retry: options.retry,
            logger,
        };
    }
    url(path) {
        return `${this.options.baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
    }
    headers(extra = {}) {
        return {
            [this.api.authHeader]: `${this.api.authScheme}${this.options.token}`,
            'Content-Type': 'application/json',
            ...extra,
        };
    }
    async read(flag) {
        const vars = { flag, environment: this.options.environment };
        const res = await (0,_http_js__WEBPACK_IMPORTED_MODULE_1__/* .requestJson */ .S)({
            method: this.api.read.method,
            url: this.url(fillPath(this.api.read.path, vars)),
            headers: this.headers(),
            body: fillBody(this.api.read.body, vars),
            idempotent: true, // a read, whatever its method
        }, this.client);
        const g = at(res.json, this.api.globalPath);
        const tenants = at(res.json, this.api.tenantsPath);
        if ((typeof g !== 'boolean' && g !== 'on' && g !== 'off') || !Array.isArray(tenants)) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .BackendError */ .J(`flag admin API: the read response has no boolean '${this.api.globalPath}' or no '${this.api.tenantsPath}' array: ${(0,_redact_js__WEBPACK_IMPORTED_MODULE_3__/* .redactSecrets */ .fp)(res.text, [this.options.token]).slice(0, 200)}`);
        }
        this.etag = res.headers.get('etag') ?? undefined;
        const global = g === true || g === 'on' ? 'on' : 'off';
        const p = at(res.json, this.api.percentagePath);
        const pct = typeof p === 'number' && p >= 0 && p <= 100 ? p : undefined;
        return {
            flag,
            global,
            tenants: tenants.map(String).sort(),
            ...(global === 'on' ? { percentage: 100 } : pct !== undefined ? { percentage: pct } : {}),
            backend: 'http',
            exists: true,
            backendDetail: {
                ...(this.etag ? { etag: this.etag } : {}),
                ...(pct !== undefined ? { rolloutPercentage: pct } : {}),
            },
        };
    }
    async send(t, vars) {
        const extra = this.etag ? { 'If-Match': this.etag } : {};
        const res = await (0,_http_js__WEBPACK_IMPORTED_MODULE_1__/* .requestJson */ .S)({
            method: t.method,
            url: this.url(fillPath(t.path, vars)),
            headers: this.headers(extra),
            body: fillBody(t.body, vars),
        }, this.client);
        this.etag = res.headers.get('etag') ?? undefined;
    }
    /** Sends one request per changed tenant and one for a global change (global off first, on last). */
    async write(change) {
        const { flag, from, to, comment } = change;
        const base = { flag, environment: this.options.environment, comment };
        this.etag = from.backendDetail?.etag ?? this.etag;
        const globalChange = from.global !== to.global;
        const stored = from.backendDetail?.rolloutPercentage;
        const wantPct = to.global === 'on' ? stored : (to.percentage ?? stored ?? 0);
        const pctChange = wantPct !== undefined && wantPct !== (stored ?? 0);
        if (pctChange && stored === undefined) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .BackendError */ .J(`flag admin API: the read response has no '${this.api.percentagePath}' field, so a percentage rollout cannot be set or verified; set http-api.percentagePath (and http-api.percentage) for this API. Nothing was written`);
        }
        if (globalChange && to.global === 'off')
            await this.send(this.api.global, { ...base, enabled: false });
        // a lower percentage before the tenants, a higher one after them
        if (pctChange && wantPct < (stored ?? 0))
            await this.send(this.api.percentage, { ...base, percentage: wantPct });
        for (const tenant of from.tenants.filter((t) => !to.tenants.includes(t))) {
            await this.send(this.api.tenant, { ...base, tenant, enabled: false });
        }
        for (const tenant of to.tenants.filter((t) => !from.tenants.includes(t))) {
            await this.send(this.api.tenant, { ...base, tenant, enabled: true });
        }
        if (pctChange && wantPct > (stored ?? 0))
            await this.send(this.api.percentage, { ...base, percentage: wantPct });
        if (globalChange && to.global === 'on')
            await this.send(this.api.global, { ...base, enabled: true });
    }
    async close() { }
}


/***/ }),

/***/ 4828:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  S: () => (/* binding */ requestJson)
});

// UNUSED EXPORTS: rateLimitDelayMs

// EXTERNAL MODULE: ./src/redact.ts
var redact = __webpack_require__(6670);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
;// CONCATENATED MODULE: ./src/http/retry.ts
/**
 * `fetch` with retries: one implementation of "retry on HTTP 429 and 5xx, wait as the server
 * asks, else back off exponentially, give every attempt a deadline", shared by the feature-flag
 * backends (`src/flags/http.ts`) and the metrics providers (`src/gate/providers/http.ts`).
 *
 * Where APIs differ (which header wins, what `X-RateLimit-Reset` counts, which 5xx are retried,
 * how many times, whether a network error is retried), the difference is a {@link RetryPolicy}
 * option, not a second copy of the loop.
 *
 * Headers honoured (only for the statuses in {@link RetryPolicy.serverDelayStatuses}):
 * - `Retry-After`: delay-seconds (a non-negative number) or an HTTP-date
 *   (RFC 9110 section 10.2.3). A date in the past means "now" (0 ms).
 * - `X-RateLimit-Reset`, in one of two documented meanings ({@link ResetHeaderMeaning}):
 *   - seconds until the rate-limit window resets (Datadog, docs.datadoghq.com/api/latest/rate-limits);
 *   - the instant of the reset in milliseconds since the Unix epoch (LaunchDarkly's
 *     `X-Ratelimit-Reset`, launchdarkly.com/docs/api, "Rate limiting").
 *
 * Engine code: no `@actions/*` imports.
 */

/**
 * LaunchDarkly (launchdarkly.com/docs/api, "Rate limiting"): `Retry-After` first, then
 * `X-Ratelimit-Reset` as epoch milliseconds.
 */
const retry_LAUNCHDARKLY_RATE_LIMIT_HEADERS = {
    reset: 'epoch-milliseconds',
    prefer: 'retry-after',
};
/**
 * Datadog (docs.datadoghq.com/api/latest/rate-limits): `X-RateLimit-Reset` first, as seconds
 * until the reset, then `Retry-After`.
 */
const DATADOG_RATE_LIMIT_HEADERS = {
    reset: 'delta-seconds',
    prefer: 'x-ratelimit-reset',
};
const SECONDS = /^\d+(\.\d+)?$/;
const INTEGER = /^\d+$/;
/**
 * Milliseconds to wait according to a `Retry-After` value: delay-seconds or an HTTP-date
 * (RFC 9110 section 10.2.3).
 * @param value - the header value, or `null` when absent
 * @param nowMs - the current time in milliseconds since the epoch (for the HTTP-date form)
 * @returns milliseconds (≥ 0), or `undefined` for an absent, empty or unparseable value
 */
function retryAfterMs(value, nowMs) {
    if (!value)
        return undefined;
    if (SECONDS.test(value.trim()))
        return Number(value) * 1000;
    const at = Date.parse(value);
    return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
/**
 * Milliseconds to wait according to an `X-RateLimit-Reset` value.
 * @param value - the header value, or `null` when absent
 * @param meaning - what the value counts (see {@link ResetHeaderMeaning})
 * @param nowMs - the current time in milliseconds since the epoch (for `'epoch-milliseconds'`)
 * @returns milliseconds (≥ 0), or `undefined` for an absent or unparseable value
 */
function rateLimitResetMs(value, meaning, nowMs) {
    if (value === null)
        return undefined;
    const v = value.trim();
    if (meaning === 'delta-seconds')
        return SECONDS.test(v) ? Number(v) * 1000 : undefined;
    return INTEGER.test(v) ? Math.max(0, Number(v) - nowMs) : undefined;
}
/**
 * Milliseconds the server asks the client to wait, from `Retry-After` and `X-RateLimit-Reset`
 * read in the order and meaning `headers` gives. A header that is absent or does not parse is
 * skipped in favour of the other.
 * @param nowMs - the current time in milliseconds since the epoch (default `Date.now()`)
 * @returns milliseconds (≥ 0, not capped), or `undefined` when neither header gives a wait
 */
function retry_serverDelayMs(responseHeaders, headers, nowMs = Date.now()) {
    const retryAfter = () => retryAfterMs(responseHeaders.get('retry-after'), nowMs);
    const reset = () => rateLimitResetMs(responseHeaders.get('x-ratelimit-reset'), headers.reset, nowMs);
    return headers.prefer === 'retry-after' ? (retryAfter() ?? reset()) : (reset() ?? retryAfter());
}
/** The exponential backoff before the retry that follows failed attempt `attempt` (from 1), in ms. */
function backoffMs(policy, attempt) {
    return Math.min(policy.maxBackoffMs, policy.baseDelayMs * 2 ** (attempt - 1));
}
function retryReason(status, policy) {
    if (policy.doNotRetry?.includes(status))
        return undefined;
    if (status === 429)
        return 'rate-limited';
    const s = policy.serverErrors;
    if (s === 'all' ? status >= 500 && status <= 599 : s.includes(status))
        return 'server-error';
    return undefined;
}
/**
 * Calls `fetch(input, init)` and retries per `policy`: 429, the listed 5xx and (optionally)
 * network errors. Before a retry the response body is discarded and the wait is the server's
 * (for `serverDelayStatuses`, capped by `maxServerDelayMs`) or the exponential backoff.
 *
 * @returns the first response that is not retried: a success, a status that is not retried, or
 *   the last 429/5xx once its attempts run out (callers report it)
 * @throws whatever `fetch` threw, when network errors are not retried or their attempts run out
 */
async function fetchWithRetry(input, init, policy) {
    const maxAttempts = Math.max(1, policy.maxAttempts);
    const maxServerErrorAttempts = Math.max(1, policy.maxServerErrorAttempts ?? maxAttempts);
    const wait = policy.sleep ?? errors/* sleep */.yy;
    const now = policy.now ?? Date.now;
    for (let attempt = 1;; attempt++) {
        let res;
        try {
            res = await fetch(input, {
                ...init,
                signal: init?.signal ?? AbortSignal.timeout(policy.timeoutMs ?? 30_000),
            });
        }
        catch (error) {
            if (!policy.retryNetworkErrors || attempt >= maxAttempts)
                throw error;
            const delayMs = backoffMs(policy, attempt);
            const event = {
                attempt,
                maxAttempts,
                delayMs,
                reason: 'network-error',
                error,
                serverAsked: false,
            };
            policy.onRetry?.(event);
            await wait(delayMs);
            continue;
        }
        const reason = retryReason(res.status, policy);
        const limit = reason === 'server-error' ? maxServerErrorAttempts : maxAttempts;
        if (!reason || attempt >= limit)
            return res;
        const asked = policy.serverDelayStatuses.includes(res.status)
            ? retry_serverDelayMs(res.headers, policy.rateLimitHeaders, now())
            : undefined;
        const delayMs = asked === undefined
            ? backoffMs(policy, attempt)
            : Math.min(policy.maxServerDelayMs ?? Infinity, asked);
        policy.onRetry?.({
            attempt,
            maxAttempts: limit,
            delayMs,
            reason,
            status: res.status,
            serverAsked: asked !== undefined,
        });
        await res.body?.cancel().catch(() => { });
        await wait(delayMs);
    }
}
/**
 * A `fetch`-compatible function bound to `policy`, for client libraries that accept their own
 * `fetch` (e.g. `@datadog/datadog-api-client`'s `createConfiguration({fetch})`).
 */
function retryingFetch(policy) {
    return (input, init) => fetchWithRetry(input, init, policy);
}

// EXTERNAL MODULE: ./src/flags/backends/types.ts
var types = __webpack_require__(3676);
;// CONCATENATED MODULE: ./src/flags/http.ts
/**
 * A small JSON-over-HTTP client for the SaaS flag backends (LaunchDarkly, Unleash, a home-grown
 * admin API): bearer/API-key authentication, clear errors for 401/403/404/409, and retries with
 * backoff for 429 and 5xx (through the shared `src/http/retry.ts`).
 *
 * Rate limits follow the documented headers: `Retry-After` (seconds or an HTTP date, RFC 9110
 * section 10.2.3) and LaunchDarkly's `X-Ratelimit-Reset` (epoch milliseconds; LaunchDarkly API
 * docs, "Rate limiting"). Tokens never appear in errors or logs.
 */



const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'];
/**
 * Milliseconds to wait before retrying a 429, from `Retry-After` (seconds or HTTP date) or, when
 * that is absent, `X-Ratelimit-Reset` (epoch milliseconds); `undefined` when neither is usable.
 */
function rateLimitDelayMs(headers, now = Date.now()) {
    return serverDelayMs(headers, LAUNCHDARKLY_RATE_LIMIT_HEADERS, now);
}
/** Every known secret (in each encoded form) and every credential-shaped value → `***`. */
function http_redact(text, secrets = []) {
    return (0,redact/* redactSecrets */.fp)(text, secrets);
}
function serverMessage(text, json) {
    if (json && typeof json === 'object') {
        const o = json;
        const m = o.message ?? o.error ?? o.code;
        if (typeof m === 'string')
            return m;
    }
    return text;
}
/** The server's error message with every secret redacted, then cut to 300 characters. */
function serverDetail(text, json, secrets) {
    const full = http_redact(serverMessage(text, json), secrets);
    return full.length > 300 ? `${full.slice(0, 300)}…` : full;
}
/**
 * Sends one JSON request with retries: 429 (waiting as {@link rateLimitDelayMs} says), any 5xx
 * and network errors (exponential backoff), each wait at most `maxDelayMs`.
 * @throws BackendError with the HTTP status: 401/403 (token rejected), 404 (not found),
 *   409 (conflict), other 4xx, or 429/5xx after `maxAttempts`
 */
async function requestJson(req, client) {
    const maxAttempts = client.retry?.maxAttempts ?? 5;
    const cap = client.retry?.maxDelayMs ?? 30_000;
    const path = (() => {
        try {
            const u = new URL(req.url);
            return `${u.pathname}${u.search}`;
        }
        catch {
            return req.url;
        }
    })();
    const what = `${client.service} ${req.method} ${http_redact(path, client.secrets)}`;
    let attempts = 1;
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.includes(req.method.toUpperCase());
    const policy = {
        maxAttempts,
        serverErrors: idempotent ? 'all' : [503],
        retryNetworkErrors: idempotent,
        doNotRetry: req.accept,
        baseDelayMs: client.retry?.baseDelayMs ?? 500,
        maxBackoffMs: cap,
        serverDelayStatuses: [429],
        rateLimitHeaders: retry_LAUNCHDARKLY_RATE_LIMIT_HEADERS,
        maxServerDelayMs: cap,
        timeoutMs: client.retry?.timeoutMs ?? 30_000,
        onRetry: (e) => {
            attempts = e.attempt + 1;
            const wait = `retrying in ${e.delayMs} ms`;
            client.logger.warning(e.reason === 'network-error'
                ? `${what}: ${http_redact(e.error.message, client.secrets)}; ${wait} (attempt ${e.attempt})`
                : `${what}: ${e.status === 429 ? 'rate limited (429)' : `server error ${e.status}`}; ${wait} (attempt ${e.attempt} of ${e.maxAttempts})`);
        },
    };
    let res;
    try {
        res = await fetchWithRetry(req.url, {
            method: req.method,
            headers: { Accept: 'application/json', ...req.headers },
            body: req.body === undefined
                ? undefined
                : typeof req.body === 'string'
                    ? req.body
                    : JSON.stringify(req.body),
        }, policy);
    }
    catch (e) {
        const msg = http_redact(e.message, client.secrets);
        throw new types/* BackendError */.J(`${what} failed after ${attempts} attempts: ${msg}`);
    }
    const text = await res.text();
    let json;
    try {
        json = text ? JSON.parse(text) : undefined;
    }
    catch {
        json = undefined;
    }
    if (res.ok || req.accept?.includes(res.status))
        return { status: res.status, headers: res.headers, json, text };
    const detail = serverDetail(text, json, client.secrets);
    if (res.status === 429 || res.status >= 500) {
        throw new types/* BackendError */.J(`${what}: ${res.status === 429 ? 'rate limited (429)' : `server error (${res.status})`} after ${attempts} attempt${attempts === 1 ? '' : 's'}${!idempotent && res.status !== 429 && res.status !== 503 ? ` (not retried: the ${req.method} may have been applied)` : ''}: ${detail}`, res.status);
    }
    if (res.status === 401 || res.status === 403) {
        throw new types/* BackendError */.J(`${what}: the token was rejected (${res.status} ${res.status === 401 ? 'Unauthorized' : 'Forbidden'}): check the 'token' input and its permissions. ${detail}`, res.status);
    }
    if (res.status === 404)
        throw new types/* BackendError */.J(`${what}: not found (404): ${detail}`, 404);
    if (res.status === 409 || res.status === 412) {
        throw new types/* BackendError */.J(`${what}: conflict (${res.status}): the flag changed concurrently or the request conflicts with its state: ${detail}`, res.status);
    }
    throw new types/* BackendError */.J(`${what}: rejected (${res.status}): ${detail}`, res.status);
}


/***/ })

};
