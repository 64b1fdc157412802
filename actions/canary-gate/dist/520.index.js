export const id = 520;
export const ids = [520];
export const modules = {

/***/ 704520:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   datadogProvider: () => (/* binding */ datadogProvider)
/* harmony export */ });
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(983916);
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(93556);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(678075);
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
            fetch: (0,_http_js__WEBPACK_IMPORTED_MODULE_2__/* .fetchWithBackoff */ .H)(ctx, 'datadog'),
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
            const detail = Array.isArray(body?.errors) ? `: ${body.errors.join('; ')}` : '';
            if (typeof code === 'number') {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`datadog ${api}: HTTP ${code} for ${ref.metric} (${ref.role})${detail}`, code);
            }
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`datadog ${api}: request for ${ref.metric} failed: ${e.message}`);
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
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`datadog v1: query for ${ref.metric} answered status '${resp.status}': ${resp.error ?? ''}`);
            }
            const series = resp.series ?? [];
            if (series.length > 1) {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`datadog v1: query for ${ref.metric} returned ${series.length} series; aggregate it so it returns one`);
            }
            return (series[0]?.pointlist ?? []).map(([t, v]) => ({ t, v: (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .sampleValue */ .Kq)(v) }));
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
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`datadog v2: query for ${ref.metric} returned ${values.length} series; aggregate it so it returns one`);
        }
        const row = values[0] ?? [];
        return times.map((t, i) => ({ t, v: (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .sampleValue */ .Kq)(row[i]) }));
    }
    return {
        name: `datadog-${api}`,
        async instant(ref, atMs, intervalMs) {
            const pts = await points(ref, atMs - intervalMs, atMs, intervalMs);
            const aligned = (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .alignToSteps */ .Cb)(pts, atMs, atMs, intervalMs);
            return aligned[0].v;
        },
        async range(ref, startMs, endMs, stepMs) {
            const pts = await points(ref, startMs - stepMs, endMs, stepMs);
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .alignToSteps */ .Cb)(pts, startMs, endMs, stepMs);
        },
    };
}


/***/ }),

/***/ 93556:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   H: () => (/* binding */ fetchWithBackoff)
/* harmony export */ });
/* unused harmony export retryDelayMs */
/** Seconds to wait before retrying a rate-limited response, from its headers. */
function retryDelayMs(headers, attempt) {
    for (const name of ['x-ratelimit-reset', 'retry-after']) {
        const raw = headers.get(name);
        if (raw !== null && /^\d+(\.\d+)?$/.test(raw.trim()))
            return Math.max(0, Number(raw)) * 1000;
    }
    return Math.min(60_000, 1000 * 2 ** attempt);
}
/**
 * A `fetch` that answers 429 (and transient 502/503/504) with backoff, waiting through
 * `ctx.sleep`. Returns the last response when retries run out.
 * @param what - names the provider in log lines (never includes credentials)
 */
function fetchWithBackoff(ctx, what) {
    const maxRetries = ctx.maxRetries ?? 5;
    return async (input, init) => {
        for (let attempt = 0;; attempt++) {
            // Every request gets a deadline unless the caller set its own signal.
            const resp = await fetch(input, {
                ...init,
                signal: init?.signal ?? AbortSignal.timeout(ctx.requestTimeoutMs ?? 30_000),
            });
            const transient = [502, 503, 504].includes(resp.status) && attempt < 2;
            if ((resp.status === 429 && attempt < maxRetries) || transient) {
                const wait = retryDelayMs(resp.headers, attempt);
                ctx.logger.warning(`${what}: HTTP ${resp.status}${resp.status === 429 ? ' (rate limited)' : ''}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1})`);
                await resp.body?.cancel().catch(() => { });
                await ctx.sleep(wait);
                continue;
            }
            return resp;
        }
    };
}


/***/ })

};
