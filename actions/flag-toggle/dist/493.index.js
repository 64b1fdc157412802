export const id = 493;
export const ids = [493];
export const modules = {

/***/ 9493:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   UnleashBackend: () => (/* binding */ UnleashBackend)
/* harmony export */ });
/* unused harmony export TENANT_CONTEXT_FIELD */
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1943);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3676);


/** The context field that names a tenant. */
const TENANT_CONTEXT_FIELD = 'tenantId';
function tenantConstraint(s) {
    return s.constraints?.find((c) => c.contextName === TENANT_CONTEXT_FIELD && c.operator === 'IN' && !c.inverted);
}
/** Unleash feature flags; tenants via a `tenantId IN [...]` constrained strategy. */
class UnleashBackend {
    o;
    logger;
    name = 'unleash';
    globalMeaning = 'the environment is enabled with a strategy that has no tenantId constraint';
    client;
    constructor(o, logger) {
        this.o = o;
        this.logger = logger;
        this.client = { service: 'Unleash', secrets: [o.token], retry: o.retry, logger };
    }
    url(flag, rest = '') {
        return `${this.o.baseUrl.replace(/\/+$/, '')}/api/admin/projects/${encodeURIComponent(this.o.project)}/features/${encodeURIComponent(flag)}${rest}`;
    }
    envUrl(flag, rest) {
        return this.url(flag, `/environments/${encodeURIComponent(this.o.environment)}${rest}`);
    }
    call(method, url, body) {
        return (0,_http_js__WEBPACK_IMPORTED_MODULE_0__/* .requestJson */ .S)({
            method,
            url,
            body,
            headers: { Authorization: this.o.token, 'Content-Type': 'application/json' },
        }, this.client);
    }
    async environment(flag) {
        const res = await this.call('GET', this.url(flag));
        const envs = res.json?.environments ?? [];
        const env = envs.find((e) => e.name === this.o.environment);
        if (!env) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`Unleash flag ${flag} has no environment '${this.o.environment}' in project ${this.o.project} (has: ${envs.map((e) => e.name).join(', ') || 'none'})`, 404);
        }
        return env;
    }
    async read(flag) {
        const env = await this.environment(flag);
        const active = env.strategies.filter((s) => !s.disabled);
        const tenantStrategies = active.filter((s) => tenantConstraint(s));
        const globalOn = env.enabled && (active.length === 0 || active.some((s) => !tenantConstraint(s)));
        const tenants = new Set();
        if (env.enabled)
            for (const s of tenantStrategies)
                for (const v of tenantConstraint(s).values ?? [])
                    tenants.add(v);
        return {
            flag,
            global: globalOn ? 'on' : 'off',
            tenants: [...tenants].sort(),
            backend: 'unleash',
            exists: true,
            backendDetail: {
                enabled: env.enabled,
                strategies: active.map((s) => ({
                    id: s.id,
                    name: s.name,
                    tenants: tenantConstraint(s)?.values ?? null,
                })),
            },
        };
    }
    /** Moves the environment to the desired state in a safe order (see the module comment). */
    async write(change) {
        const { flag, to, comment } = change;
        const env = await this.environment(flag);
        const active = env.strategies.filter((s) => !s.disabled);
        const tenantStrategies = active.filter((s) => tenantConstraint(s));
        const globalStrategies = active.filter((s) => !tenantConstraint(s));
        const shouldEnable = to.global === 'on' || to.tenants.length > 0;
        const strategies = (id = '') => this.envUrl(flag, `/strategies${id ? `/${encodeURIComponent(id)}` : ''}`);
        if (!shouldEnable && env.enabled) {
            this.logger.info(`Unleash: switching ${this.o.environment} off`);
            await this.call('POST', this.envUrl(flag, '/off'));
        }
        let keep;
        if (to.tenants.length > 0) {
            const constraint = {
                contextName: TENANT_CONTEXT_FIELD,
                operator: 'IN',
                values: [...to.tenants],
                inverted: false,
                caseInsensitive: false,
            };
            keep = tenantStrategies[0];
            if (keep) {
                const constraints = (keep.constraints ?? []).map((c) => c === tenantConstraint(keep) ? constraint : c);
                await this.call('PUT', strategies(keep.id), {
                    name: keep.name,
                    title: comment,
                    constraints,
                    parameters: keep.parameters ?? {},
                    segments: keep.segments ?? [],
                    variants: keep.variants ?? [],
                    disabled: false,
                });
            }
            else {
                this.logger.info(`Unleash: adding a ${TENANT_CONTEXT_FIELD} IN [${to.tenants.join(', ')}] strategy`);
                await this.call('POST', strategies(), {
                    name: 'flexibleRollout',
                    title: comment,
                    constraints: [constraint],
                    parameters: { rollout: '100', stickiness: 'default', groupId: flag },
                    disabled: false,
                });
            }
        }
        if (to.global === 'on' && globalStrategies.length === 0) {
            await this.call('POST', strategies(), {
                name: 'flexibleRollout',
                title: comment,
                constraints: [],
                parameters: { rollout: '100', stickiness: 'default', groupId: flag },
                disabled: false,
            });
        }
        if (to.global === 'off') {
            for (const s of globalStrategies)
                await this.call('DELETE', strategies(s.id));
        }
        for (const s of tenantStrategies)
            if (s !== keep)
                await this.call('DELETE', strategies(s.id));
        if (shouldEnable && !env.enabled) {
            this.logger.info(`Unleash: switching ${this.o.environment} on (after its strategies exist)`);
            await this.call('POST', this.envUrl(flag, '/on'));
        }
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
