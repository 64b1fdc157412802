export const id = 208;
export const ids = [208];
export const modules = {

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


/***/ }),

/***/ 199208:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   prometheusProvider: () => (/* binding */ prometheusProvider)
/* harmony export */ });
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(983916);
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(93556);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(678075);
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
    let base;
    try {
        base = new URL(options.url.endsWith('/') ? options.url : options.url + '/');
    }
    catch {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`'${options.url}' is not a URL`, undefined, options.urlInput ?? 'prometheus-url');
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
    const doFetch = (0,_http_js__WEBPACK_IMPORTED_MODULE_2__/* .fetchWithBackoff */ .H)(ctx, label);
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
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`${label}: request to ${base.origin} failed: ${e.message}`);
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
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`${label}: query rejected (${body.errorType}): ${body.error}`, 400);
        }
        if (!resp.ok || !body || body.status !== 'success' || !body.data) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`${label}: HTTP ${resp.status} from ${url.pathname}${body?.error ? `: ${body.error}` : ''}`, resp.status);
        }
        return body.data;
    }
    function single(ref, result) {
        if (result.length > 1) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`${label}: query for ${ref.metric} (${ref.role}) returned ${result.length} series; aggregate it (sum/max) so it returns one`);
        }
        return result[0];
    }
    return {
        name: label,
        async instant(ref, atMs) {
            const data = await get('api/v1/query', { query: ref.query, time: (atMs / 1000).toFixed(3) });
            if (data.resultType === 'scalar')
                return (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .sampleValue */ .Kq)(data.result[1]);
            if (data.resultType !== 'vector') {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`${label}: query for ${ref.metric} returned a ${data.resultType}, expected a vector`);
            }
            const s = single(ref, data.result);
            return s ? (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .sampleValue */ .Kq)(s.value[1]) : null;
        },
        async range(ref, startMs, endMs, stepMs) {
            const data = await get('api/v1/query_range', {
                query: ref.query,
                start: (startMs / 1000).toFixed(3),
                end: (endMs / 1000).toFixed(3),
                step: `${stepMs / 1000}`,
            });
            if (data.resultType !== 'matrix') {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .ProviderError */ .mZ(`${label}: range query for ${ref.metric} returned a ${data.resultType}, expected a matrix`);
            }
            const s = single(ref, data.result);
            const points = (s?.values ?? []).map(([t, v]) => ({
                t: Math.round(t * 1000),
                v: (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .sampleValue */ .Kq)(v),
            }));
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .alignToSteps */ .Cb)(points, startMs, endMs, stepMs);
        },
    };
}


/***/ })

};
