export const id = 493;
export const ids = [493];
export const modules = {

/***/ 9493:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   UnleashBackend: () => (/* binding */ UnleashBackend)
/* harmony export */ });
/* unused harmony exports TENANT_CONTEXT_FIELD, CONSTRAINT_VALUES_LIMIT, SEGMENT_VALUES_LIMIT */
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(4828);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3676);


/** The context field that names a tenant. */
const TENANT_CONTEXT_FIELD = 'tenantId';
/** Unleash's limit of values in one strategy constraint (`ExceedsLimitError` above it). */
const CONSTRAINT_VALUES_LIMIT = 250;
/** Unleash's limit of values in one segment ("Segments may not have more than 1000 values"). */
const SEGMENT_VALUES_LIMIT = 1000;
const TARGETED_KINDS = ['userWithId', 'remoteAddress', 'applicationHostname'];
function tenantConstraint(s) {
    return s.constraints?.find((c) => c.contextName === TENANT_CONTEXT_FIELD && c.operator === 'IN' && !c.inverted);
}
function isTenantConstraintOnly(cs) {
    return ((cs ?? []).length === 1 &&
        cs[0].contextName === TENANT_CONTEXT_FIELD &&
        cs[0].operator === 'IN' &&
        !cs[0].inverted);
}
function rolloutOf(s) {
    const r = Number(s.parameters?.rollout ?? 100);
    return Number.isFinite(r) ? r : 100;
}
/** The strategies without a tenant constraint listed in a restored state's detail. */
function restoredGlobalStrategies(to) {
    const list = to.detail?.strategies;
    if (!Array.isArray(list))
        return [];
    return list
        .filter((s) => typeof s?.id === 'string' && (s.tenants === null || s.tenants === undefined))
        .map((s) => ({ id: s.id, name: String(s.name ?? '') }));
}
/** Unleash feature flags; tenants via a `tenantId IN [...]` constrained strategy or segments. */
class UnleashBackend {
    o;
    logger;
    name = 'unleash';
    globalMeaning = 'the environment is enabled with a strategy that serves everyone (no constraints, no segments, rollout 100%)';
    client;
    segmentCache;
    constructor(o, logger) {
        this.o = o;
        this.logger = logger;
        this.client = { service: 'Unleash', secrets: [o.token], retry: o.retry, logger };
    }
    get base() {
        return this.o.baseUrl.replace(/\/+$/, '');
    }
    url(flag, rest = '') {
        return `${this.base}/api/admin/projects/${encodeURIComponent(this.o.project)}/features/${encodeURIComponent(flag)}${rest}`;
    }
    envUrl(flag, rest) {
        return this.url(flag, `/environments/${encodeURIComponent(this.o.environment)}${rest}`);
    }
    /** `idempotent` defaults by method; the environment `on`/`off` switches are idempotent POSTs. */
    call(method, url, body, idempotent) {
        return (0,_http_js__WEBPACK_IMPORTED_MODULE_0__/* .requestJson */ .S)({
            method,
            url,
            body,
            idempotent,
            headers: { Authorization: this.o.token, 'Content-Type': 'application/json' },
        }, this.client);
    }
    async segments(refresh = false) {
        if (!this.segmentCache || refresh) {
            const res = await this.call('GET', `${this.base}/api/admin/segments`);
            this.segmentCache = (res.json?.segments ?? []);
        }
        return this.segmentCache;
    }
    segmentPrefix(flag) {
        return `runbook-${flag}-${this.o.environment}-tenants-`;
    }
    /** Tenants a strategy enables, or `undefined` when it is not a tenant strategy. */
    tenantsOf(s, segs) {
        const c = tenantConstraint(s);
        if (c)
            return c.values ?? [];
        if (s.segments?.length && (s.constraints ?? []).length === 0) {
            const used = s.segments.map((id) => segs.find((g) => g.id === id));
            if (used.length === 1 && used[0] && isTenantConstraintOnly(used[0].constraints))
                return used[0].constraints[0].values ?? [];
        }
        return undefined;
    }
    kind(s, segs) {
        if (this.tenantsOf(s, segs))
            return 'tenants';
        if ((s.constraints ?? []).length || (s.segments ?? []).length)
            return 'partial';
        if (TARGETED_KINDS.includes(s.name))
            return 'partial';
        if (s.name === 'flexibleRollout' || s.name.startsWith('gradualRollout'))
            return rolloutOf(s) >= 100 ? 'everyone' : 'rollout';
        return 'everyone';
    }
    async environment(flag) {
        const res = await this.call('GET', this.url(flag));
        const envs = res.json?.environments ?? [];
        const env = envs.find((e) => e.name === this.o.environment);
        if (!env) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`Unleash flag ${flag} has no environment '${this.o.environment}' in project ${this.o.project} (has: ${envs.map((e) => e.name).join(', ') || 'none'})`, 404);
        }
        const segs = env.strategies.some((s) => s.segments?.length) ? await this.segments(true) : [];
        return { env, segs };
    }
    async read(flag) {
        const { env, segs } = await this.environment(flag);
        const active = env.strategies.filter((s) => !s.disabled);
        const kinds = active.map((s) => this.kind(s, segs));
        const globalOn = env.enabled && (active.length === 0 || kinds.includes('everyone'));
        const tenants = new Set();
        if (env.enabled)
            active.forEach((s, i) => {
                if (kinds[i] === 'tenants')
                    for (const v of this.tenantsOf(s, segs))
                        tenants.add(v);
            });
        const rollout = env.enabled
            ? Math.max(0, ...active.filter((_, i) => kinds[i] === 'rollout').map(rolloutOf))
            : 0;
        return {
            flag,
            global: globalOn ? 'on' : 'off',
            tenants: [...tenants].sort(),
            percentage: globalOn ? 100 : rollout,
            backend: 'unleash',
            exists: true,
            backendDetail: {
                enabled: env.enabled,
                strategies: active.map((s, i) => ({
                    id: s.id,
                    name: s.name,
                    kind: kinds[i],
                    ...(kinds[i] === 'rollout' ? { rollout: rolloutOf(s) } : {}),
                    tenants: kinds[i] === 'tenants'
                        ? tenantConstraint(s)
                            ? this.tenantsOf(s, segs)
                            : 'segment'
                        : null,
                })),
                inactive: env.strategies.filter((s) => s.disabled).map((s) => s.id),
            },
        };
    }
    /**
     * For `restore`: strategies without a `tenantId` constraint that were active in the restored
     * state and are now deactivated (a write that turned global off, or enabled tenants while the
     * environment was off, deactivates them instead of deleting them). Empty when `to.detail` is
     * absent.
     */
    detailChanges(current, to) {
        const inactive = current.backendDetail?.inactive ?? [];
        return restoredGlobalStrategies(to)
            .filter((s) => inactive.includes(s.id))
            .map((s) => `re-activate strategy ${s.name} ${s.id} (no tenantId constraint)`);
    }
    /** Updates strategy `s` as it is, with `disabled` and optionally a new title and parameters. */
    putStrategy(flag, s, disabled, title, parameters) {
        return this.call('PUT', this.envUrl(flag, `/strategies/${encodeURIComponent(s.id)}`), {
            name: s.name,
            title: title ?? s.title ?? undefined,
            constraints: s.constraints ?? [],
            parameters: parameters ?? s.parameters ?? {},
            segments: s.segments ?? [],
            variants: s.variants ?? [],
            disabled,
        });
    }
    /** Creates or updates the segments holding `tenants` (chunks of 1000); returns their ids. */
    async tenantSegments(flag, tenants, comment) {
        const prefix = this.segmentPrefix(flag);
        const existing = await this.segments(true);
        const ids = [];
        for (let i = 0; i * SEGMENT_VALUES_LIMIT < tenants.length; i++) {
            const name = `${prefix}${i + 1}`;
            const body = {
                name,
                description: comment.slice(0, 250),
                project: this.o.project,
                constraints: [
                    {
                        contextName: TENANT_CONTEXT_FIELD,
                        operator: 'IN',
                        values: tenants.slice(i * SEGMENT_VALUES_LIMIT, (i + 1) * SEGMENT_VALUES_LIMIT),
                        inverted: false,
                        caseInsensitive: false,
                    },
                ],
            };
            const found = existing.find((g) => g.name === name);
            if (found) {
                await this.call('PUT', `${this.base}/api/admin/segments/${found.id}`, body);
                ids.push(found.id);
            }
            else {
                const res = await this.call('POST', `${this.base}/api/admin/segments`, body);
                ids.push(res.json.id);
            }
        }
        return ids;
    }
    /** Moves the environment to the desired state in a safe order (see the module comment). */
    async write(change) {
        const { flag, to, comment } = change;
        const { env, segs } = await this.environment(flag);
        const active = env.strategies.filter((s) => !s.disabled);
        const kindOf = new Map(active.map((s) => [s, this.kind(s, segs)]));
        const tenantStrategies = active.filter((s) => kindOf.get(s) === 'tenants');
        const everyone = active.filter((s) => kindOf.get(s) === 'everyone');
        const rollouts = active.filter((s) => kindOf.get(s) === 'rollout');
        const partial = active.filter((s) => kindOf.get(s) === 'partial');
        const percentage = to.global === 'on' ? 100 : (to.percentage ?? 0);
        if (percentage > 0 && percentage < 100 && !Number.isInteger(percentage)) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_1__/* .BackendError */ .J(`Unleash rollouts are whole percentages; ${percentage}% cannot be set (nothing was written)`);
        }
        const shouldEnable = to.global === 'on' || to.tenants.length > 0 || percentage > 0;
        const strategies = (id = '') => this.envUrl(flag, `/strategies${id ? `/${encodeURIComponent(id)}` : ''}`);
        const ours = (s) => (s.title ?? '').startsWith('runbook-actions flag-toggle');
        const rolloutParams = (s, p) => ({
            groupId: flag,
            stickiness: this.o.stickiness ?? 'default',
            ...(s?.parameters ?? {}),
            rollout: String(p),
        });
        if (!shouldEnable && env.enabled) {
            this.logger.info(`Unleash: switching ${this.o.environment} off`);
            await this.call('POST', this.envUrl(flag, '/off'), undefined, true);
        }
        // 1. tenants: a tenantId IN constraint up to 250 values, segments above
        const keep = [];
        let segmentIds = [];
        const useSegments = to.tenants.length > CONSTRAINT_VALUES_LIMIT;
        if (to.tenants.length > 0 && !useSegments) {
            const constraint = {
                contextName: TENANT_CONTEXT_FIELD,
                operator: 'IN',
                values: [...to.tenants],
                inverted: false,
                caseInsensitive: false,
            };
            const k = tenantStrategies.find((s) => tenantConstraint(s));
            if (k) {
                keep.push(k);
                const constraints = (k.constraints ?? []).map((c) => c === tenantConstraint(k) ? constraint : c);
                await this.call('PUT', strategies(k.id), {
                    name: k.name,
                    title: comment,
                    constraints,
                    parameters: k.parameters ?? {},
                    segments: k.segments ?? [],
                    variants: k.variants ?? [],
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
        else if (useSegments) {
            this.logger.info(`Unleash: ${to.tenants.length} tenants exceed ${CONSTRAINT_VALUES_LIMIT} constraint values: using segments of up to ${SEGMENT_VALUES_LIMIT}`);
            segmentIds = await this.tenantSegments(flag, to.tenants, comment);
            for (const id of segmentIds) {
                const k = tenantStrategies.find((s) => s.segments?.length === 1 && s.segments[0] === id);
                if (k)
                    keep.push(k);
                else
                    await this.call('POST', strategies(), {
                        name: 'flexibleRollout',
                        title: comment,
                        constraints: [],
                        segments: [id],
                        parameters: { rollout: '100', stickiness: 'default', groupId: flag },
                        disabled: false,
                    });
            }
        }
        // 2. everyone and the percentage rollout
        const wanted = restoredGlobalStrategies(to).map((s) => s.id);
        const reactivate = to.global === 'on' || !shouldEnable
            ? env.strategies.filter((s) => s.disabled && !tenantConstraint(s) && wanted.includes(s.id))
            : [];
        for (const s of reactivate) {
            this.logger.info(`Unleash: re-activating strategy ${s.name} ${s.id}`);
            await this.putStrategy(flag, s, false);
        }
        if (percentage === 100) {
            if (everyone.length === 0 && reactivate.length === 0) {
                const r = rollouts[0];
                if (r)
                    await this.putStrategy(flag, r, false, comment, rolloutParams(r, 100));
                else
                    await this.call('POST', strategies(), {
                        name: 'flexibleRollout',
                        title: comment,
                        constraints: [],
                        parameters: rolloutParams(undefined, 100),
                        disabled: false,
                    });
            }
        }
        else if (shouldEnable) {
            // The environment stays on: what serves beyond the tenants must match the percentage.
            let rollout = rollouts[0];
            if (percentage > 0) {
                const reuse = rollout ?? everyone.find((s) => s.name === 'flexibleRollout');
                if (reuse) {
                    if (rolloutOf(reuse) !== percentage || reuse !== rollout)
                        await this.putStrategy(flag, reuse, false, comment, rolloutParams(reuse, percentage));
                }
                else {
                    const restorable = env.strategies.find((s) => s.disabled &&
                        wanted.includes(s.id) &&
                        s.name === 'flexibleRollout' &&
                        !(s.constraints ?? []).length &&
                        !(s.segments ?? []).length);
                    if (restorable)
                        await this.putStrategy(flag, restorable, false, undefined, rolloutParams(restorable, percentage));
                    else
                        await this.call('POST', strategies(), {
                            name: 'flexibleRollout',
                            title: comment,
                            constraints: [],
                            parameters: rolloutParams(undefined, percentage),
                            disabled: false,
                        });
                }
                rollout = reuse;
            }
            else
                rollout = undefined;
            // Deactivate (not delete) what would serve more than asked, so a restore can bring it back
            // as it was; rollouts this tool created are deleted at 0%.
            for (const s of [...everyone, ...rollouts]) {
                if (s === rollout)
                    continue;
                if (ours(s) && !wanted.includes(s.id)) {
                    this.logger.info(`Unleash: deleting strategy ${s.id} (created by a flag-toggle write; not in the state asked for)`);
                    await this.call('DELETE', strategies(s.id));
                }
                else {
                    this.logger.info(`Unleash: deactivating strategy ${s.name} ${s.id} (serves beyond the tenants; kept for a restore)`);
                    await this.putStrategy(flag, s, true);
                }
            }
            // Switching an environment on also activates its targeted strategies: keep them dormant.
            if (!env.enabled)
                for (const s of partial) {
                    this.logger.info(`Unleash: deactivating dormant strategy ${s.name} ${s.id} (switching the environment on would activate it)`);
                    await this.putStrategy(flag, s, true);
                }
        }
        // 3. tenant strategies no longer used, then this flag's segments no longer used
        for (const s of tenantStrategies)
            if (!keep.includes(s))
                await this.call('DELETE', strategies(s.id));
        const prefix = this.segmentPrefix(flag);
        const stale = (useSegments || segs.length ? await this.segments(true) : []).filter((g) => g.name.startsWith(prefix) && !segmentIds.includes(g.id));
        for (const g of stale) {
            await this.call('DELETE', `${this.base}/api/admin/segments/${g.id}`).catch((e) => this.logger.warning(`Unleash: segment ${g.name} not deleted: ${e.message}`));
        }
        if (shouldEnable && !env.enabled) {
            this.logger.info(`Unleash: switching ${this.o.environment} on (after its strategies exist)`);
            await this.call('POST', this.envUrl(flag, '/on'), undefined, true);
        }
    }
    /**
     * Asks Unleash what it serves (Playground API, `POST /api/admin/playground`) to one context
     * per key, with the key as `tenantId` and `userId`. @returns enabled by key
     */
    async evaluate(flag, keys) {
        const out = {};
        for (const key of keys) {
            const res = await this.call('POST', `${this.base}/api/admin/playground`, {
                projects: [this.o.project],
                environment: this.o.environment,
                context: {
                    appName: 'runbook-verify',
                    userId: key,
                    properties: { [TENANT_CONTEXT_FIELD]: key },
                },
            }, true);
            const f = (res.json?.features ?? []).find((x) => x.name === flag);
            out[key] = f?.isEnabled === true;
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
