export const id = 681;
export const ids = [681];
export const modules = {

/***/ 5681:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   LaunchDarklyBackend: () => (/* binding */ LaunchDarklyBackend)
/* harmony export */ });
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1943);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3676);


function serves(vr, idx) {
    if (!vr)
        return false;
    if (vr.variation !== undefined)
        return vr.variation === idx;
    return (vr.rollout?.variations ?? []).some((v) => v.variation === idx && v.weight > 0);
}
/** LaunchDarkly flags; tenants are individual targets of a context kind. */
class LaunchDarklyBackend {
    o;
    name = 'launchdarkly';
    globalMeaning = 'the flag is on in the environment and its default rule (fallthrough) or a clause-less rule serves true, or it is off with off variation true';
    client;
    constructor(o, logger) {
        this.o = o;
        this.client = { service: 'LaunchDarkly', secrets: [o.token], retry: o.retry, logger };
    }
    url(flag, query = '') {
        return `${this.o.baseUrl.replace(/\/+$/, '')}/api/v2/flags/${encodeURIComponent(this.o.project)}/${encodeURIComponent(flag)}${query}`;
    }
    async fetchFlag(flag) {
        const res = await (0,_http_js__WEBPACK_IMPORTED_MODULE_0__/* .requestJson */ .S)({
            method: 'GET',
            url: this.url(flag, `?env=${encodeURIComponent(this.o.environment)}`),
            headers: { Authorization: this.o.token },
        }, this.client);
        const ld = res.json;
        const trueIdx = ld?.variations?.findIndex((v) => v.value === true) ?? -1;
        const falseIdx = ld?.variations?.findIndex((v) => v.value === false) ?? -1;
        if (trueIdx < 0 || falseIdx < 0) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly flag ${flag} is not a boolean flag (no true and false variations)`);
        }
        const env = ld.environments?.[this.o.environment];
        if (!env) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly flag ${flag} has no environment '${this.o.environment}' in project ${this.o.project}`, 404);
        }
        return { ld, env, trueIdx, falseIdx };
    }
    targeted(env, idx) {
        const kind = this.o.contextKind;
        const out = new Set();
        for (const t of env.contextTargets ?? []) {
            if ((t.contextKind ?? 'user') === kind && t.variation === idx)
                t.values.forEach((v) => out.add(v));
        }
        if (kind === 'user')
            for (const t of env.targets ?? [])
                if (t.variation === idx)
                    t.values.forEach((v) => out.add(v));
        return [...out].sort();
    }
    async read(flag) {
        const { env, trueIdx } = await this.fetchFlag(flag);
        const fallthroughTrue = serves(env.fallthrough, trueIdx);
        const everyoneRule = (env.rules ?? []).some((r) => (!r.clauses || r.clauses.length === 0) && serves(r, trueIdx));
        const offTrue = env.offVariation === trueIdx;
        const global = (env.on && (fallthroughTrue || everyoneRule)) || (!env.on && offTrue) ? 'on' : 'off';
        const targeted = this.targeted(env, trueIdx);
        return {
            flag,
            global,
            tenants: env.on ? targeted : [],
            backend: 'launchdarkly',
            exists: true,
            backendDetail: {
                on: env.on,
                targeted,
                fallthroughTrue,
                offVariationTrue: offTrue,
                version: env._version,
            },
        };
    }
    /**
     * Sends one semantic patch that moves the environment to the desired state.
     * @throws BackendError when a clause-less rule serves true and global should be off
     */
    async write(change) {
        const { flag, to } = change;
        const { ld, env, trueIdx, falseIdx } = await this.fetchFlag(flag);
        const trueId = ld.variations[trueIdx]._id;
        const falseId = ld.variations[falseIdx]._id;
        const kind = this.o.contextKind;
        const targeted = this.targeted(env, trueIdx);
        const fallthroughTrue = serves(env.fallthrough, trueIdx);
        const finalOn = to.global === 'on' || to.tenants.length > 0;
        const restoreTargets = Array.isArray(to.detail?.targeted)
            ? to.detail.targeted
            : undefined;
        const disabled = change.from.tenants.filter((t) => !to.tenants.includes(t));
        const want = restoreTargets ?? (finalOn ? to.tenants : targeted.filter((t) => !disabled.includes(t)));
        const instructions = [];
        const remove = targeted.filter((t) => !want.includes(t));
        const add = want.filter((t) => !targeted.includes(t));
        if (remove.length)
            instructions.push({
                kind: 'removeTargets',
                contextKind: kind,
                values: remove,
                variationId: trueId,
            });
        if (add.length)
            instructions.push({
                kind: 'addTargets',
                contextKind: kind,
                values: add,
                variationId: trueId,
            });
        if (to.global === 'on' && !fallthroughTrue) {
            instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: trueId });
        }
        if (to.global === 'off') {
            const everyone = (env.rules ?? []).find((r) => (!r.clauses || r.clauses.length === 0) && serves(r, trueIdx));
            if (everyone && finalOn) {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly flag ${flag}: rule ${everyone._id ?? ''} has no clauses and serves true to everyone; remove it before targeting tenants`);
            }
            if (fallthroughTrue)
                instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: falseId });
            if (env.offVariation === trueIdx)
                instructions.push({ kind: 'updateOffVariation', variationId: falseId });
        }
        if (finalOn && !env.on)
            instructions.push({ kind: 'turnFlagOn' });
        if (!finalOn && env.on)
            instructions.push({ kind: 'turnFlagOff' });
        if (instructions.length === 0)
            return;
        await (0,_http_js__WEBPACK_IMPORTED_MODULE_0__/* .requestJson */ .S)({
            method: 'PATCH',
            url: this.url(flag),
            headers: {
                Authorization: this.o.token,
                'Content-Type': 'application/json; domain-model=launchdarkly.semanticpatch',
            },
            body: { environmentKey: this.o.environment, comment: change.comment, instructions },
        }, this.client);
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
