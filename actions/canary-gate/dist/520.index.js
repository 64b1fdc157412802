export const id = 520;
export const ids = [520];
export const modules = {

/***/ 704520:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   datadogProvider: () => (/* binding */ datadogProvider)
/* harmony export */ });
/* harmony import */ var _redact_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(376670);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(983916);
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(818381);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(678075);
/**
 * Datadog provider through the official `@datadog/datadog-api-client`, imported lazily (it is
 * ~11 MB) the first time a Datadog metric is measured.
 *
 * - v1 `MetricsApi.queryMetrics` — `GET /api/v1/query?from=&to=&query=` (Unix seconds);
 *   the response's `series[].pointlist` holds `[milliseconds, value | null]` pairs
 *   (docs.datadoghq.com/api/latest/metrics/#query-timeseries-points).
 * - v2 `MetricsApi.queryTimeseriesData` — `POST /api/v2/query/timeseries` with
 *   `data.attributes {from, to, interval}` in milliseconds, `queries` and `formulas`; the
 *   response's `data.attributes.times[]` and `values[formula][]` (nullable)
 *   (docs.datadoghq.com/api/latest/metrics/#query-timeseries-data-across-multiple-products).
 *
 * A null point is missing data, never zero. The measured value at time t is the last non-null
 * point of the window `(t - interval, t]`, so write counts as e.g.
 * `sum:trace.http.request.errors{service:{{service}}}.as_count().rollup(sum, {{interval_seconds}})`.
 * Rate limits: HTTP 429 is retried after `X-RateLimit-Reset` seconds (see `http.ts`). A 403
 * (bad API or application key) stops the gate with a clear error that never contains the keys.
 */




const SITES = [
    'datadoghq.com',
    'us3.datadoghq.com',
    'us5.datadoghq.com',
    'datadoghq.eu',
    'ap1.datadoghq.com',
    'ap2.datadoghq.com',
    'uk1.datadoghq.com',
    'ddog-gov.com',
    'us2.ddog-gov.com',
];
/** Creates the Datadog provider; the client library loads on first use. @throws ConfigError for missing keys or an unknown site */
function datadogProvider(options, ctx) {
    if (!options.apiKey)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL('is required for the datadog provider', undefined, 'datadog-api-key');
    if (!options.appKey)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL('is required for the datadog provider', undefined, 'datadog-app-key');
    const site = options.site || 'datadoghq.com';
    if (!options.baseUrl && !SITES.includes(site)) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`unknown Datadog site '${site}' (known: ${SITES.join(', ')})`, undefined, 'datadog-site');
    }
    const api = options.api ?? 'v2';
    // Error bodies and client messages are outside text: they may echo a key.
    const redact = (0,_redact_js__WEBPACK_IMPORTED_MODULE_3__/* .redactor */ .$p)([options.apiKey, options.appKey]);
    let apis;
    const load = () => (apis ??= (async () => {
        ctx.logger.debug('loading @datadog/datadog-api-client');
        const mod = await __webpack_require__.e(/* import() */ 907).then(__webpack_require__.t.bind(__webpack_require__, 990907, 23));
        const { client, v1, v2, logger: ddLogger } = mod.default ?? mod;
        // The client logs failed requests itself; the gate reports them as measurement errors.
        if (!process.env.DEBUG)
            ddLogger?.setLevel?.('silent');
        const configuration = client.createConfiguration({
            authMethods: { apiKeyAuth: options.apiKey, appKeyAuth: options.appKey },
            fetch: (0,_http_js__WEBPACK_IMPORTED_MODULE_1__/* .fetchWithBackoff */ .H)(ctx, 'datadog'),
            enableRetry: false,
            ...(options.baseUrl
                ? {
                    baseServer: new client.BaseServerConfiguration(options.baseUrl.replace(/\/+$/, ''), {}),
                }
                : {}),
        });
        if (!options.baseUrl)
            client.setServerVariables(configuration, { site });
        return { v1: new v1.MetricsApi(configuration), v2: new v2.MetricsApi(configuration) };
    })());
    const where = options.baseUrl ? new URL(options.baseUrl).host : `api.${site}`;
    async function call(ref, fn) {
        const a = await load();
        try {
            return await fn(a);
        }
        catch (e) {
            const code = e.code;
            if (code === 401 || code === 403) {
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`Datadog (${where}) rejected the API or application key (HTTP ${code}); check the datadog-api-key and datadog-app-key secrets and datadog-site`, undefined, 'datadog-api-key');
            }
            const body = e.body;
            const detail = Array.isArray(body?.errors) ? `: ${redact(body.errors.join('; '))}` : '';
            if (typeof code === 'number') {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`datadog ${api}: HTTP ${code} for ${ref.metric} (${ref.role})${detail}`, code);
            }
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`datadog ${api}: request for ${ref.metric} failed: ${redact(e.message)}`);
        }
    }
    async function points(ref, fromMs, toMs, stepMs) {
        if (api === 'v1') {
            const resp = await call(ref, (a) => a.v1.queryMetrics({
                from: Math.floor(fromMs / 1000),
                to: Math.ceil(toMs / 1000),
                query: ref.query,
            }));
            if (resp.status && resp.status !== 'ok') {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`datadog v1: query for ${ref.metric} answered status '${resp.status}': ${resp.error ?? ''}`);
            }
            const series = resp.series ?? [];
            if (series.length > 1) {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`datadog v1: query for ${ref.metric} returned ${series.length} series; aggregate it so it returns one`);
            }
            return (series[0]?.pointlist ?? []).map(([t, v]) => ({ t, v: (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .sampleValue */ .Kq)(v) }));
        }
        const resp = await call(ref, (a) => a.v2.queryTimeseriesData({
            body: {
                data: {
                    type: 'timeseries_request',
                    attributes: {
                        from: fromMs,
                        to: toMs,
                        interval: stepMs,
                        queries: [{ dataSource: 'metrics', query: ref.query, name: 'q' }],
                        formulas: [{ formula: 'q' }],
                    },
                },
            },
        }));
        const attrs = resp.data?.attributes ?? {};
        const times = attrs.times ?? [];
        const values = attrs.values ?? [];
        if (values.length > 1) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .ProviderError */ .mZ(`datadog v2: query for ${ref.metric} returned ${values.length} series; aggregate it so it returns one`);
        }
        const row = values[0] ?? [];
        return times.map((t, i) => ({ t, v: (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .sampleValue */ .Kq)(row[i]) }));
    }
    return {
        name: `datadog-${api}`,
        async instant(ref, atMs, intervalMs) {
            const pts = await points(ref, atMs - intervalMs, atMs, intervalMs);
            const aligned = (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .alignToSteps */ .Cb)(pts, atMs, atMs, intervalMs);
            return aligned[0].v;
        },
        async range(ref, startMs, endMs, stepMs) {
            const pts = await points(ref, startMs - stepMs, endMs, stepMs);
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_2__/* .alignToSteps */ .Cb)(pts, startMs, endMs, stepMs);
        },
    };
}


/***/ }),

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


/***/ })

};
