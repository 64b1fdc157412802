export const id = 208;
export const ids = [208];
export const modules = {

/***/ 818381:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  H: () => (/* binding */ fetchWithBackoff)
});

// UNUSED EXPORTS: MAX_SERVER_DELAY_MS

// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(983916);
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
const LAUNCHDARKLY_RATE_LIMIT_HEADERS = {
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
function serverDelayMs(responseHeaders, headers, nowMs = Date.now()) {
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
            ? serverDelayMs(res.headers, policy.rateLimitHeaders, now())
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

// EXTERNAL MODULE: ./src/gate/providers/types.ts
var types = __webpack_require__(678075);
;// CONCATENATED MODULE: ./src/gate/providers/http.ts
/**
 * HTTP with rate-limit backoff for the metrics providers, through the shared
 * `src/http/retry.ts`. A 429 response is retried after the number of seconds in
 * `X-RateLimit-Reset` (Datadog, docs.datadoghq.com/api/latest/rate-limits) or `Retry-After`
 * (seconds or an HTTP date, RFC 9110 §10.2.3), else after an exponential backoff (1 s, 2 s,
 * 4 s ... at most 60 s). A server's requested wait is capped at {@link MAX_SERVER_DELAY_MS}.
 * A 502/503/504 is retried the same way once or twice before it is reported. Network errors
 * are not retried here: they count as a failed measurement. With `ctx.deadlineMs` (the gate's
 * timeout), neither a request nor a wait runs past it: a wait that would end later fails the
 * request at once with a {@link ProviderError}, and every attempt is aborted at the deadline.
 */


/** Longest wait a server's `Retry-After` / `X-RateLimit-Reset` may ask for, in milliseconds. */
const MAX_SERVER_DELAY_MS = 60_000;
/**
 * A `fetch` that answers 429 (and transient 502/503/504) with backoff, waiting through
 * `ctx.sleep`. Returns the last response when retries run out.
 * @param what - names the provider in log lines (never includes credentials)
 */
function fetchWithBackoff(ctx, what) {
    const now = ctx.now ?? Date.now;
    const deadline = ctx.deadlineMs;
    const sleep = deadline === undefined
        ? ctx.sleep
        : async (ms) => {
            if (now() + ms > deadline) {
                throw new types/* ProviderError */.mZ(`${what}: the gate's timeout ends in ${(Math.max(0, deadline - now()) / 1000).toFixed(1)} s, before a retry in ${(ms / 1000).toFixed(1)} s`);
            }
            await ctx.sleep(ms);
        };
    const inner = retryingFetch({
        // `maxRetries` 429 retries; 502/503/504 while fewer than 2 retries (of any kind) were made.
        maxAttempts: (ctx.maxRetries ?? 5) + 1,
        serverErrors: [502, 503, 504],
        maxServerErrorAttempts: 3,
        retryNetworkErrors: false,
        baseDelayMs: 1000,
        maxBackoffMs: 60_000,
        serverDelayStatuses: [429, 502, 503, 504],
        maxServerDelayMs: MAX_SERVER_DELAY_MS,
        rateLimitHeaders: DATADOG_RATE_LIMIT_HEADERS,
        timeoutMs: ctx.requestTimeoutMs ?? 30_000,
        sleep,
        now,
        onRetry: (e) => ctx.logger.warning(`${what}: HTTP ${e.status}${e.status === 429 ? ' (rate limited)' : ''}; retrying in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt})`),
    });
    if (deadline === undefined)
        return inner;
    return async (input, init) => {
        const left = deadline - now();
        if (left <= 0)
            throw new types/* ProviderError */.mZ(`${what}: the gate's timeout has run out`);
        const signal = AbortSignal.timeout(left);
        return inner(input, {
            ...init,
            signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
        });
    };
}


/***/ }),

/***/ 199208:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   prometheusProvider: () => (/* binding */ prometheusProvider)
/* harmony export */ });
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(983916);
/* harmony import */ var _redact_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(376670);
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(818381);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(678075);
/**
 * Prometheus HTTP API provider (prometheus.io/docs/prometheus/latest/querying/api):
 * `GET /api/v1/query?query=&time=` for live measurements and
 * `GET /api/v1/query_range?query=&start=&end=&step=` for backtests. Times are Unix seconds.
 *
 * An empty vector, a `NaN` sample or a missing step is no data. A query that returns more
 * than one series is an error: aggregate it (`sum(...)`, `max(...)`) so one number is judged.
 * Bearer (`token`) or basic (`username`/`password`) authentication; the same client serves
 * Grafana's datasource proxy (see `grafana.ts`).
 */




/** Creates a Prometheus provider. @throws ConfigError for a URL that does not parse */
function prometheusProvider(options, ctx) {
    const label = options.label ?? 'prometheus';
    // Server and network error text is outside text: it may echo the token or the password.
    const redact = (0,_redact_js__WEBPACK_IMPORTED_MODULE_3__/* .redactor */ .$p)([options.token, options.password]);
    let base;
    try {
        base = new URL(options.url.endsWith('/') ? options.url : options.url + '/');
    }
    catch {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`'${redact(options.url)}' is not a URL`, undefined, options.urlInput ?? 'prometheus-url');
    }
    if (base.username || base.password) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL('put credentials in the token or username/password inputs, not in the URL', undefined, options.urlInput ?? 'prometheus-url');
    }
    const headers = { accept: 'application/json' };
    if (options.token)
        headers.authorization = `Bearer ${options.token}`;
    else if (options.username || options.password) {
        headers.authorization = `Basic ${Buffer.from(`${options.username ?? ''}:${options.password ?? ''}`).toString('base64')}`;
    }
    const doFetch = (0,_http_js__WEBPACK_IMPORTED_MODULE_1__/* .fetchWithBackoff */ .H)(ctx, label);
    async function get(path, params) {
        const url = new URL(path, base);
        for (const [k, v] of Object.entries(params))
            url.searchParams.set(k, v);
        let resp;
        try {
            resp = await doFetch(url, {
                headers,
                signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
            });
        }
        catch (e) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`${label}: request to ${base.origin} failed: ${redact(e.message)}`);
        }
        const text = await resp.text();
        if (resp.status === 401 || resp.status === 403) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`${label} at ${base.origin} rejected the credentials (HTTP ${resp.status})`, undefined, options.credentialInput);
        }
        let body;
        try {
            body = JSON.parse(text);
        }
        catch {
            body = undefined;
        }
        if (resp.status === 400 && body?.status === 'error') {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(redact(`${label}: query rejected (${body.errorType}): ${body.error}`), 400);
        }
        if (!resp.ok || !body || body.status !== 'success' || !body.data) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(redact(`${label}: HTTP ${resp.status} from ${url.pathname}${body?.error ? `: ${body.error}` : ''}`), resp.status);
        }
        return body.data;
    }
    function single(ref, result) {
        if (result.length > 1) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`${label}: query for ${ref.metric} (${ref.role}) returned ${result.length} series; aggregate it (sum/max) so it returns one`);
        }
        return result[0];
    }
    return {
        name: label,
        async instant(ref, atMs) {
            const data = await get('api/v1/query', { query: ref.query, time: (atMs / 1000).toFixed(3) });
            if (data.resultType === 'scalar')
                return (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .sampleValue */ .Kq)(data.result[1]);
            if (data.resultType !== 'vector') {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`${label}: query for ${ref.metric} returned a ${data.resultType}, expected a vector`);
            }
            const s = single(ref, data.result);
            return s ? (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .sampleValue */ .Kq)(s.value[1]) : null;
        },
        async range(ref, startMs, endMs, stepMs) {
            const data = await get('api/v1/query_range', {
                query: ref.query,
                start: (startMs / 1000).toFixed(3),
                end: (endMs / 1000).toFixed(3),
                step: `${stepMs / 1000}`,
            });
            if (data.resultType !== 'matrix') {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`${label}: range query for ${ref.metric} returned a ${data.resultType}, expected a matrix`);
            }
            const s = single(ref, data.result);
            const points = (s?.values ?? []).map(([t, v]) => ({
                t: Math.round(t * 1000),
                v: (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .sampleValue */ .Kq)(v),
            }));
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .alignToSteps */ .Cb)(points, startMs, endMs, stepMs);
        },
        // GET /api/v1/series?match[]=&start=&end= lists the matching series' label sets;
        // GET /api/v1/labels?match[]=&start=&end= the label names of the matching series.
        async series(selector, startMs, endMs) {
            const data = await get('api/v1/series', {
                'match[]': selector,
                start: (startMs / 1000).toFixed(3),
                end: (endMs / 1000).toFixed(3),
            });
            return Array.isArray(data) ? data.length : 0;
        },
        async labelNames(metricName, startMs, endMs) {
            const data = await get('api/v1/labels', {
                'match[]': `{__name__=${JSON.stringify(metricName)}}`,
                start: (startMs / 1000).toFixed(3),
                end: (endMs / 1000).toFixed(3),
            });
            return Array.isArray(data) ? data.filter((x) => typeof x === 'string') : [];
        },
    };
}


/***/ })

};
