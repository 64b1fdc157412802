export const id = 681;
export const ids = [681];
export const modules = {

/***/ 5681:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   LaunchDarklyBackend: () => (/* binding */ LaunchDarklyBackend)
/* harmony export */ });
/* unused harmony export LD_API_VERSION */
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(4828);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3676);


/** The REST API version sent as `LD-API-Version`. */
const LD_API_VERSION = '20240415';
/** The share of `vr` serving variation `idx`, in percent (variation → 100 or 0, rollout weight / 1000). */
function percentServing(vr, idx) {
    if (!vr)
        return 0;
    if (vr.variation !== undefined)
        return vr.variation === idx ? 100 : 0;
    const w = (vr.rollout?.variations ?? [])
        .filter((v) => v.variation === idx)
        .reduce((sum, v) => sum + v.weight, 0);
    return Math.round(w) / 1000;
}
function serves(vr, idx) {
    if (!vr)
        return false;
    if (vr.variation !== undefined)
        return vr.variation === idx;
    return (vr.rollout?.variations ?? []).some((v) => v.variation === idx && v.weight > 0);
}
/**
 * A fallthrough in a comparable form: `{variation}` or `{rollout: {variations (by variation
 * index, weights in thousandths of a percent), bucketBy}}`; `null` when there is none.
 */
function canonicalFallthrough(vr) {
    const v = vr;
    if (!v || typeof v !== 'object')
        return 'null';
    if (typeof v.variation === 'number')
        return JSON.stringify({ variation: v.variation });
    const variations = [...(v.rollout?.variations ?? [])]
        .map((x) => ({ variation: x.variation, weight: x.weight }))
        .sort((a, b) => a.variation - b.variation);
    return JSON.stringify({ rollout: { variations, bucketBy: v.rollout?.bucketBy ?? null } });
}
function describeFallthrough(vr) {
    const v = vr;
    if (typeof v?.variation === 'number')
        return `variation ${v.variation}`;
    const parts = (v?.rollout?.variations ?? []).map((x) => `variation ${x.variation}: ${x.weight / 1000}%`);
    return parts.length ? `rollout ${parts.join(', ')}` : 'none';
}
/** LaunchDarkly flags; tenants are individual targets of a context kind. */
class LaunchDarklyBackend {
    o;
    logger;
    name = 'launchdarkly';
    globalMeaning = 'the flag is on in the environment and its default rule (fallthrough) or a clause-less rule serves true, or it is off with off variation true';
    client;
    /** The approval request of the last write, when the environment required one. */
    lastApproval;
    constructor(o, logger) {
        this.o = o;
        this.logger = logger;
        this.client = { service: 'LaunchDarkly', secrets: [o.token], retry: o.retry, logger };
    }
    request(req) {
        return (0,_http_js__WEBPACK_IMPORTED_MODULE_0__/* .requestJson */ .S)({
            ...req,
            headers: { Authorization: this.o.token, 'LD-API-Version': LD_API_VERSION, ...req.headers },
        }, this.client);
    }
    get base() {
        return this.o.baseUrl.replace(/\/+$/, '');
    }
    approvalsUrl(flag, rest = '') {
        return `${this.base}/api/v2/projects/${encodeURIComponent(this.o.project)}/flags/${encodeURIComponent(flag)}/environments/${encodeURIComponent(this.o.environment)}/approval-requests${rest}`;
    }
    url(flag, query = '') {
        return `${this.o.baseUrl.replace(/\/+$/, '')}/api/v2/flags/${encodeURIComponent(this.o.project)}/${encodeURIComponent(flag)}${query}`;
    }
    async fetchFlag(flag) {
        const res = await this.request({
            method: 'GET',
            url: this.url(flag, `?env=${encodeURIComponent(this.o.environment)}`),
        });
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
        const fallthroughPct = percentServing(env.fallthrough, trueIdx);
        const fallthroughTrue = fallthroughPct >= 100;
        const everyoneRule = (env.rules ?? []).some((r) => (!r.clauses || r.clauses.length === 0) && serves(r, trueIdx));
        const offTrue = env.offVariation === trueIdx;
        const global = (env.on && (fallthroughTrue || everyoneRule)) || (!env.on && offTrue) ? 'on' : 'off';
        const targeted = this.targeted(env, trueIdx);
        return {
            flag,
            global,
            tenants: env.on ? targeted : [],
            percentage: global === 'on' ? 100 : env.on ? fallthroughPct : 0,
            backend: 'launchdarkly',
            exists: true,
            backendDetail: {
                on: env.on,
                targeted,
                fallthroughTrue,
                offVariationTrue: offTrue,
                fallthrough: env.fallthrough ?? null,
                offVariation: env.offVariation ?? null,
                version: env._version,
            },
        };
    }
    /**
     * For `restore`: what differs between the current state and the restored one beyond global
     * and tenants: the flag's `on` switch, its default rule (fallthrough, including a percentage
     * rollout), its off variation, and individual targets kept while the flag was off. Empty when
     * the restored state carries no such detail (a state from an older version).
     */
    detailChanges(current, to) {
        const want = to.detail;
        if (!want)
            return [];
        const have = current.backendDetail ?? {};
        const out = [];
        if (typeof want.on === 'boolean' && want.on !== have.on)
            out.push(`turn the flag ${want.on ? 'on' : 'off'} in the environment`);
        if (want.fallthrough !== undefined &&
            canonicalFallthrough(want.fallthrough) !== canonicalFallthrough(have.fallthrough))
            out.push(`set the default rule (fallthrough) back to ${describeFallthrough(want.fallthrough)}`);
        if (typeof want.offVariation === 'number' && want.offVariation !== have.offVariation)
            out.push(`set the off variation back to variation ${want.offVariation}`);
        if (want.on === false && Array.isArray(want.targeted) && Array.isArray(have.targeted)) {
            const a = [...want.targeted].sort().join(', ');
            const b = [...have.targeted].sort().join(', ');
            if (a !== b)
                out.push(`set the individual targets kept while off back to [${a}]`);
        }
        return out;
    }
    /**
     * Sends one semantic patch that moves the environment to the desired state. For `restore`
     * (`to.detail` from a previous read) it also puts back the flag's `on` switch, default rule
     * and off variation, so the environment is the one read before, not only equivalent to it.
     * @throws BackendError when a clause-less rule serves true and global should be off
     */
    async write(change) {
        const { flag, to } = change;
        const { ld, env, trueIdx, falseIdx } = await this.fetchFlag(flag);
        const trueId = ld.variations[trueIdx]._id;
        const falseId = ld.variations[falseIdx]._id;
        const kind = this.o.contextKind;
        const targeted = this.targeted(env, trueIdx);
        const currentPct = percentServing(env.fallthrough, trueIdx);
        const fallthroughTrue = currentPct >= 100;
        const wantPct = to.global === 'on' ? 100 : (to.percentage ?? (fallthroughTrue ? 0 : currentPct));
        const detail = to.detail ?? {};
        const restoreFallthrough = detail.fallthrough !== undefined && detail.fallthrough !== null
            ? detail.fallthrough
            : undefined;
        const restoreOffVariation = typeof detail.offVariation === 'number' && ld.variations[detail.offVariation]
            ? detail.offVariation
            : undefined;
        const finalOn = typeof detail.on === 'boolean'
            ? detail.on || to.tenants.length > 0
            : to.global === 'on' || to.tenants.length > 0 || wantPct > 0;
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
        const elsewhere = add
            .map((t) => ({ t, v: this.targetedVariation(env, t, trueIdx) }))
            .filter((x) => x.v !== undefined);
        if (elsewhere.length) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly flag ${flag} in ${this.o.environment}: ${elsewhere.map((x) => `tenant ${x.t} is individually targeted to variation ${x.v} (${JSON.stringify(ld.variations[x.v]?.value)})`).join('; ')}: LaunchDarkly does not target one context key in two variations (a deny list entry?). Remove it there first; nothing was written`, 409);
        }
        if (add.length)
            instructions.push({
                kind: 'addTargets',
                contextKind: kind,
                values: add,
                variationId: trueId,
            });
        if (restoreFallthrough &&
            canonicalFallthrough(restoreFallthrough) !== canonicalFallthrough(env.fallthrough)) {
            const vr = restoreFallthrough;
            if (typeof vr.variation === 'number' && ld.variations[vr.variation]) {
                instructions.push({
                    kind: 'updateFallthroughVariationOrRollout',
                    variationId: ld.variations[vr.variation]._id,
                });
            }
            else if (vr.rollout?.variations?.length) {
                const rolloutWeights = {};
                for (const x of vr.rollout.variations)
                    if (ld.variations[x.variation])
                        rolloutWeights[ld.variations[x.variation]._id] = x.weight;
                instructions.push({
                    kind: 'updateFallthroughVariationOrRollout',
                    rolloutWeights,
                    ...(vr.rollout.bucketBy ? { rolloutBucketBy: vr.rollout.bucketBy } : {}),
                });
            }
        }
        else if (!restoreFallthrough && wantPct !== currentPct && (finalOn || wantPct === 0)) {
            if (wantPct >= 100)
                instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: trueId });
            else if (wantPct <= 0)
                instructions.push({ kind: 'updateFallthroughVariationOrRollout', variationId: falseId });
            else {
                const w = Math.round(wantPct * 1000);
                instructions.push({
                    kind: 'updateFallthroughVariationOrRollout',
                    rolloutWeights: { [trueId]: w, [falseId]: 100_000 - w },
                    rolloutContextKind: kind,
                });
            }
        }
        if (restoreOffVariation !== undefined && restoreOffVariation !== env.offVariation) {
            instructions.push({
                kind: 'updateOffVariation',
                variationId: ld.variations[restoreOffVariation]._id,
            });
        }
        if (to.global === 'off') {
            const everyone = (env.rules ?? []).find((r) => (!r.clauses || r.clauses.length === 0) && serves(r, trueIdx));
            if (everyone && finalOn) {
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly flag ${flag}: rule ${everyone._id ?? ''} has no clauses and serves true to everyone; remove it before targeting tenants`);
            }
            if (env.offVariation === trueIdx && restoreOffVariation === undefined)
                instructions.push({ kind: 'updateOffVariation', variationId: falseId });
        }
        if (finalOn && !env.on) {
            const dormant = (env.rules ?? []).filter((r) => r.clauses && r.clauses.length > 0 && serves(r, trueIdx));
            if (dormant.length) {
                const names = dormant.map((r, i) => r._id ?? `#${i + 1}`).join(', ');
                const what = `turning ${flag} on in ${this.o.environment} also activates ${dormant.length} targeting rule${dormant.length > 1 ? 's' : ''} (${names}) that serve true to contexts other than the listed tenants`;
                if (change.globalMustBe === 'off') {
                    throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly: refused under guard global-must-be: off: ${what}; nothing was written. Remove or change those rules first, or run without the guard`);
                }
                this.logger.warning(`LaunchDarkly: ${what}`);
            }
            instructions.push({ kind: 'turnFlagOn' });
        }
        if (!finalOn && env.on)
            instructions.push({ kind: 'turnFlagOff' });
        if (instructions.length === 0)
            return;
        this.lastApproval = undefined;
        try {
            await this.request({
                method: 'PATCH',
                url: this.url(flag),
                headers: { 'Content-Type': 'application/json; domain-model=launchdarkly.semanticpatch' },
                body: { environmentKey: this.o.environment, comment: change.comment, instructions },
                // declarative instructions (add/remove targets, set rule, on/off): applying twice = once
                idempotent: true,
            });
        }
        catch (e) {
            if (!(e instanceof _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J) || e.status !== 405)
                throw e;
            await this.throughApproval(flag, change.comment, instructions);
        }
    }
    /**
     * The environment requires approval (405): creates an approval request with the semantic patch
     * instructions, waits for its review, and applies it.
     * @throws BackendError when the request is declined, fails to apply, or is not reviewed within
     *   `approvalTimeoutMs` (it then stays pending: nothing is applied unless someone applies it)
     */
    async throughApproval(flag, comment, instructions) {
        const started = Date.now();
        const timeoutMs = this.o.approvalTimeoutMs ?? 1_800_000;
        const pollMs = this.o.approvalPollMs ?? 10_000;
        this.logger.info(`LaunchDarkly: ${this.o.environment} requires approval for changes to ${flag}: creating an approval request`);
        const created = await this.request({
            method: 'POST',
            url: this.approvalsUrl(flag),
            headers: { 'Content-Type': 'application/json' },
            body: { description: comment.slice(0, 5000), comment, instructions },
        });
        const id = String(created.json?._id ?? '');
        if (!id)
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly: the approval request has no _id`);
        const url = `${this.base}/projects/${encodeURIComponent(this.o.project)}/flags/${encodeURIComponent(flag)}/approvals/${encodeURIComponent(id)}?env=${encodeURIComponent(this.o.environment)}`;
        const info = { id, url, outcome: 'pending', waitedMs: 0 };
        this.lastApproval = info;
        this.logger.info(`LaunchDarkly: approval request ${id} waits for review: ${url}`);
        for (;;) {
            const res = await this.request({
                method: 'GET',
                url: this.approvalsUrl(flag, `/${encodeURIComponent(id)}`),
            });
            const ar = res.json;
            info.waitedMs = Date.now() - started;
            if (ar?.status === 'completed') {
                info.outcome = 'applied';
                return;
            }
            if (ar?.reviewStatus === 'declined') {
                info.outcome = 'declined';
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly: approval request ${id} was declined (${url}); nothing was applied`);
            }
            if (ar?.status === 'failed') {
                info.outcome = 'failed';
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly: approval request ${id} failed to apply (${url})`);
            }
            if (ar?.reviewStatus === 'approved') {
                await this.request({
                    method: 'POST',
                    url: this.approvalsUrl(flag, `/${encodeURIComponent(id)}/apply`),
                    headers: { 'Content-Type': 'application/json' },
                    body: { comment },
                });
                info.outcome = 'applied';
                this.logger.info(`LaunchDarkly: approval request ${id} approved and applied`);
                return;
            }
            if (Date.now() - started + pollMs > timeoutMs) {
                info.outcome = 'timed-out';
                throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`LaunchDarkly: approval request ${id} was not reviewed within ${Math.round(timeoutMs / 1000)} s (${url}); nothing was applied. It stays pending: a reviewer can still approve and apply it, or delete it`, 408);
            }
            await new Promise((r) => setTimeout(r, pollMs));
        }
    }
    targetedVariation(env, key, trueIdx) {
        const kind = this.o.contextKind;
        for (const t of env.contextTargets ?? [])
            if ((t.contextKind ?? 'user') === kind && t.variation !== trueIdx && t.values.includes(key))
                return t.variation;
        if (kind === 'user')
            for (const t of env.targets ?? [])
                if (t.variation !== trueIdx && t.values.includes(key))
                    return t.variation;
        return undefined;
    }
    /**
     * Verify by evaluation: asks LaunchDarkly what each context (kind {@link LaunchDarklyOptions.contextKind},
     * the key) is served. @returns `true` when the served value is `true`
     */
    async evaluate(flag, keys) {
        const out = {};
        for (const key of keys) {
            const res = await this.request({
                method: 'POST',
                url: `${this.base}/api/v2/projects/${encodeURIComponent(this.o.project)}/environments/${encodeURIComponent(this.o.environment)}/flags/evaluate?filter=${encodeURIComponent(`query equals ${flag}`)}`,
                headers: { 'Content-Type': 'application/json' },
                body: { kind: this.o.contextKind, key },
                idempotent: true,
            });
            const items = res.json?.items ?? [];
            out[key] = items.find((i) => (i.key ?? i.name) === flag)?._value === true;
        }
        return out;
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
