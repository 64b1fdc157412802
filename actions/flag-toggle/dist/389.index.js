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
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1943);
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
        for (const k of ['read', 'tenant', 'global']) {
            const t = this.api[k];
            if (!t || typeof t.method !== 'string' || typeof t.path !== 'string') {
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`http-api.${k} needs a method and a path`, undefined, 'http-api');
            }
        }
        try {
            new URL(options.baseUrl);
        }
        catch {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`not a URL: '${options.baseUrl}'`, undefined, 'base-url');
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
        }, this.client);
        const g = at(res.json, this.api.globalPath);
        const tenants = at(res.json, this.api.tenantsPath);
        if ((typeof g !== 'boolean' && g !== 'on' && g !== 'off') || !Array.isArray(tenants)) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .BackendError */ .J(`flag admin API: the read response has no boolean '${this.api.globalPath}' or no '${this.api.tenantsPath}' array: ${res.text.slice(0, 200)}`);
        }
        this.etag = res.headers.get('etag') ?? undefined;
        return {
            flag,
            global: g === true || g === 'on' ? 'on' : 'off',
            tenants: tenants.map(String).sort(),
            backend: 'http',
            exists: true,
            backendDetail: this.etag ? { etag: this.etag } : undefined,
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
        if (globalChange && to.global === 'off')
            await this.send(this.api.global, { ...base, enabled: false });
        for (const tenant of from.tenants.filter((t) => !to.tenants.includes(t))) {
            await this.send(this.api.tenant, { ...base, tenant, enabled: false });
        }
        for (const tenant of to.tenants.filter((t) => !from.tenants.includes(t))) {
            await this.send(this.api.tenant, { ...base, tenant, enabled: true });
        }
        if (globalChange && to.global === 'on')
            await this.send(this.api.global, { ...base, enabled: true });
    }
    async close() { }
}


/***/ }),

/***/ 1943:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S: () => (/* binding */ requestJson)
/* harmony export */ });
/* unused harmony export rateLimitDelayMs */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3916);
/* harmony import */ var _backends_types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3676);


/** Milliseconds to wait before retrying a 429, from `Retry-After` or `X-Ratelimit-Reset`. */
function rateLimitDelayMs(headers, now = Date.now()) {
    const retryAfter = headers.get('retry-after');
    if (retryAfter) {
        if (/^\d+(\.\d+)?$/.test(retryAfter.trim()))
            return Number(retryAfter) * 1000;
        const at = Date.parse(retryAfter);
        if (!Number.isNaN(at))
            return Math.max(0, at - now);
    }
    const reset = headers.get('x-ratelimit-reset');
    if (reset && /^\d+$/.test(reset.trim()))
        return Math.max(0, Number(reset) - now);
    return undefined;
}
function redact(text, secrets = []) {
    let out = text;
    for (const s of secrets)
        if (s)
            out = out.split(s).join('***');
    return out;
}
function serverMessage(text, json) {
    if (json && typeof json === 'object') {
        const o = json;
        const m = o.message ?? o.error ?? o.code;
        if (typeof m === 'string')
            return m;
    }
    return text.slice(0, 300);
}
/**
 * Sends one JSON request with retries.
 * @throws BackendError with the HTTP status: 401/403 (token rejected), 404 (not found),
 *   409 (conflict), other 4xx, or 429/5xx after `maxAttempts`
 */
async function requestJson(req, client) {
    const maxAttempts = client.retry?.maxAttempts ?? 5;
    const base = client.retry?.baseDelayMs ?? 500;
    const cap = client.retry?.maxDelayMs ?? 30_000;
    const timeoutMs = client.retry?.timeoutMs ?? 30_000;
    const path = (() => {
        try {
            const u = new URL(req.url);
            return `${u.pathname}${u.search}`;
        }
        catch {
            return req.url;
        }
    })();
    const what = `${client.service} ${req.method} ${redact(path, client.secrets)}`;
    for (let attempt = 1;; attempt++) {
        let res;
        try {
            res = await fetch(req.url, {
                method: req.method,
                headers: { Accept: 'application/json', ...req.headers },
                body: req.body === undefined
                    ? undefined
                    : typeof req.body === 'string'
                        ? req.body
                        : JSON.stringify(req.body),
                signal: AbortSignal.timeout(timeoutMs),
            });
        }
        catch (e) {
            const msg = redact(e.message, client.secrets);
            if (attempt >= maxAttempts)
                throw new _backends_types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`${what} failed after ${attempt} attempts: ${msg}`);
            const wait = Math.min(cap, base * 2 ** (attempt - 1));
            client.logger.warning(`${what}: ${msg}; retrying in ${wait} ms (attempt ${attempt})`);
            await (0,_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .sleep */ .yy)(wait);
            continue;
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
        const detail = redact(serverMessage(text, json), client.secrets);
        if (res.status === 429 || res.status >= 500) {
            if (attempt >= maxAttempts) {
                throw new _backends_types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`${what}: ${res.status === 429 ? 'rate limited (429)' : `server error (${res.status})`} after ${attempt} attempts: ${detail}`, res.status);
            }
            const asked = res.status === 429 ? rateLimitDelayMs(res.headers) : undefined;
            const wait = Math.min(cap, asked ?? base * 2 ** (attempt - 1));
            client.logger.warning(`${what}: ${res.status === 429 ? 'rate limited (429)' : `server error ${res.status}`}; retrying in ${wait} ms (attempt ${attempt} of ${maxAttempts})`);
            await (0,_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .sleep */ .yy)(wait);
            continue;
        }
        if (res.status === 401 || res.status === 403) {
            throw new _backends_types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`${what}: the token was rejected (${res.status} ${res.status === 401 ? 'Unauthorized' : 'Forbidden'}): check the 'token' input and its permissions. ${detail}`, res.status);
        }
        if (res.status === 404)
            throw new _backends_types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`${what}: not found (404): ${detail}`, 404);
        if (res.status === 409 || res.status === 412) {
            throw new _backends_types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`${what}: conflict (${res.status}): the flag changed concurrently or the request conflicts with its state: ${detail}`, res.status);
        }
        throw new _backends_types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`${what}: rejected (${res.status}): ${detail}`, res.status);
    }
}


/***/ })

};
