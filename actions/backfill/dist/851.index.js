export const id = 851;
export const ids = [851];
export const modules = {

/***/ 9851:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  executeInKubernetes: () => (/* binding */ executeInKubernetes)
});

// UNUSED EXPORTS: indexedJobManifest

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./node_modules/@kubernetes/client-node/dist/index.js + 875 modules
var dist = __webpack_require__(7010);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/redact.ts
var redact = __webpack_require__(6670);
// EXTERNAL MODULE: external "node:async_hooks"
var external_node_async_hooks_ = __webpack_require__(6698);
;// CONCATENATED MODULE: ./src/k8s/transport.ts
/**
 * How every request of the rollout engine reaches the API server: a per-request timeout bounded
 * by the command's own deadline, field validation `Strict` on every write, and bounded retries of
 * idempotent requests on the answers the API conventions call retriable (429 Too Many Requests
 * with `Retry-After`, 5xx, a lost or refused connection, a request that timed out).
 *
 * Sources: the Kubernetes API conventions ("HTTP Status codes": 429 carries `Retry-After`,
 * 500/503/504 are server-side and may succeed on retry), `client-go`'s `rest.Request` (which
 * retries on `Retry-After` and connection resets, up to 10 times by default) and
 * kubernetes.io/docs/reference/using-api/api-concepts/#field-validation (`fieldValidation=Strict`
 * makes the server refuse unknown and duplicate fields instead of dropping them silently).
 */



/** Longest a single request may take when no deadline is closer, in milliseconds (30 s). */
const REQUEST_TIMEOUT_MS = 30_000;
const budget = new external_node_async_hooks_.AsyncLocalStorage();
/**
 * Runs `fn` with a deadline: every API request started inside (directly or through awaited
 * calls) is aborted when `deadline` (epoch milliseconds) passes, and {@link withRetries} stops
 * retrying then. Nested deadlines keep the earlier one.
 */
function withDeadline(deadline, fn) {
    const outer = budget.getStore();
    const d = outer ? Math.min(outer.deadline, deadline) : deadline;
    return budget.run({ deadline: d }, fn);
}
/** The deadline set by {@link withDeadline} around the caller, in epoch milliseconds, if any. */
function currentDeadline() {
    return budget.getStore()?.deadline;
}
/**
 * A `KubeConfig` whose requests carry a timeout (`REQUEST_TIMEOUT_MS`, or less when the
 * surrounding {@link withDeadline} ends sooner) and, on POST, PUT and PATCH,
 * `fieldValidation=Strict`. Every typed API client of `@kubernetes/client-node` 2.x calls
 * `applySecurityAuthentication` on the request context before sending it, which is where both
 * are added.
 */
class RunbookKubeConfig extends dist/* KubeConfig */.ypW {
    /** Upper bound of one request, in milliseconds. */
    requestTimeoutMs = REQUEST_TIMEOUT_MS;
    async applySecurityAuthentication(context) {
        await super.applySecurityAuthentication(context);
        const deadline = currentDeadline();
        const left = deadline === undefined ? Infinity : deadline - Date.now();
        context.setSignal(AbortSignal.timeout(Math.max(1, Math.min(this.requestTimeoutMs, left))));
        const method = String(context.getHttpMethod());
        if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
            context.setQueryParam('fieldValidation', 'Strict');
        }
    }
}
/** Classifies an error thrown by a client call. */
function classify(e) {
    if (e instanceof ApiException) {
        const h = (e.headers ?? {});
        const ra = Number(h['retry-after'] ?? h['Retry-After']);
        return {
            kind: 'status',
            code: e.code,
            retryAfterMs: Number.isFinite(ra) && ra >= 0 ? ra * 1000 : undefined,
        };
    }
    const err = e;
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
        return { kind: 'timeout' };
    if (err?.cause?.name === 'TimeoutError' || err?.cause?.name === 'AbortError')
        return { kind: 'timeout' };
    const code = err?.cause?.code;
    if (err?.name === 'TypeError' ||
        (code && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_\w+)$/.test(code)))
        return { kind: 'connection', code };
    return { kind: 'other' };
}
/** Whether the request failed because it (or the deadline around it) ran out of time. */
function isTimeout(e) {
    return classify(e).kind === 'timeout';
}
/**
 * Runs one API request, repeating it after a retriable failure with exponential backoff (or the
 * server's `Retry-After`), at most `attempts` times and never past the surrounding
 * {@link withDeadline}. The last error is rethrown unchanged.
 */
async function withRetries(options, fn) {
    const attempts = options.attempts ?? 5;
    const base = options.baseMs ?? 500;
    const pause = options.sleep ?? defaultSleep;
    for (let attempt = 1;; attempt++) {
        try {
            return await fn();
        }
        catch (e) {
            const f = classify(e);
            const retriable = f.kind === 'status'
                ? f.code === 429 || (options.idempotent && f.code >= 500)
                : options.idempotent && (f.kind === 'connection' || f.kind === 'timeout');
            const deadline = currentDeadline();
            if (!retriable || attempt >= attempts)
                throw e;
            let wait = Math.min(8000, base * 2 ** (attempt - 1));
            wait = Math.round(wait / 2 + (Math.random() * wait) / 2);
            if (f.kind === 'status' && f.retryAfterMs !== undefined)
                wait = Math.min(f.retryAfterMs, 30_000);
            if (deadline !== undefined && Date.now() + wait >= deadline)
                throw e;
            const why = f.kind === 'status'
                ? `the API server answered ${f.code}`
                : f.kind === 'timeout'
                    ? 'the API server did not answer in time'
                    : `the connection failed${f.kind === 'connection' && f.code ? ` (${f.code})` : ''}`;
            options.logger?.warning(`${options.what}: ${why}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})`);
            await pause(wait);
        }
    }
}

;// CONCATENATED MODULE: ./src/k8s/client.ts
/**
 * Connecting to a Kubernetes API server with the official `@kubernetes/client-node` 2.x client:
 * a kubeconfig given as YAML text (the action's secret input), a kubeconfig file (the CLI), or
 * the in-cluster service account. Errors from the API server (`Status` objects, see the
 * Kubernetes API conventions) become readable messages; a user's mistake (unknown object,
 * rejected credentials, invalid object) becomes a {@link ConfigError}.
 */







/**
 * Credentials of every kubeconfig loaded by {@link connect} in this process: the API server's
 * answers (a `Status` message, a proxy's error page) are outside text and may echo them.
 */
const loadedSecrets = new Set();
/** `text` with every loaded kubeconfig credential and every credential-shaped value as `***`. */
function redactK8s(text) {
    return (0,redact/* redactSecrets */.fp)(text, [...loadedSecrets]);
}
/**
 * Builds the clients for {@link ClusterOptions}.
 * @throws ConfigError (input `kubeconfig`/`context`) when the kubeconfig cannot be parsed or the
 *   context does not exist
 */
function connect(options) {
    if (options.clients)
        return options.clients;
    // Per-request timeouts and fieldValidation=Strict on writes (see transport.ts).
    const kc = new RunbookKubeConfig();
    try {
        if (options.kubeconfig && options.kubeconfig.trim())
            kc.loadFromString(options.kubeconfig);
        else if (options.kubeconfigFile === 'default') {
            // loadFromDefault() falls back to http://localhost:8080 when it finds nothing, which
            // fails later with an error about TLS that names no kubeconfig.
            const files = (process.env.KUBECONFIG ?? '').split(external_node_path_.delimiter).filter(Boolean);
            const home = (0,external_node_path_.join)((0,external_node_os_.homedir)(), '.kube', 'config');
            if (!files.some((f) => (0,external_node_fs_.existsSync)(f)) &&
                !(0,external_node_fs_.existsSync)(home) &&
                !process.env.KUBERNETES_SERVICE_HOST) {
                throw new errors/* ConfigError */.xL(`no kubeconfig found (${files.length ? `$KUBECONFIG=${files.join(external_node_path_.delimiter)} does not exist` : '$KUBECONFIG is unset'}, no ${home}, not in a cluster): pass --kubeconfig FILE, set $KUBECONFIG, or create ${home}`, undefined, 'kubeconfig');
            }
            kc.loadFromDefault();
        }
        else if (options.kubeconfigFile)
            kc.loadFromFile(options.kubeconfigFile);
        else if (!process.env.KUBERNETES_SERVICE_HOST) {
            throw new errors/* ConfigError */.xL('is empty and this process does not run in a cluster (KUBERNETES_SERVICE_HOST is unset): pass the kubeconfig YAML', undefined, 'kubeconfig');
        }
        else
            kc.loadFromCluster();
    }
    catch (e) {
        if (e instanceof errors/* ConfigError */.xL)
            throw e;
        // The parser's message may quote the document; never echo it.
        throw new errors/* ConfigError */.xL(`cannot load the kubeconfig: ${e.name === 'YAMLException'
            ? 'invalid YAML'
            : redactK8s(String(e.message).split('\n')[0]).slice(0, 120)}`, undefined, 'kubeconfig');
    }
    if (options.context) {
        if (!kc.getContextObject(options.context)) {
            throw new errors/* ConfigError */.xL(`context '${options.context}' is not in the kubeconfig (contexts: ${kc.contexts.map((c) => c.name).join(', ') || 'none'})`, undefined, 'context');
        }
        kc.setCurrentContext(options.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster)
        throw new errors/* ConfigError */.xL('the kubeconfig has no current cluster', undefined, 'kubeconfig');
    const serverUrl = (() => {
        try {
            return new URL(cluster.server);
        }
        catch {
            return undefined;
        }
    })();
    if (serverUrl && (serverUrl.username || serverUrl.password)) {
        // fetch refuses such a URL; the password is masked (see kubeconfigSecrets) but never sent.
        throw new errors/* ConfigError */.xL(`cluster '${cluster.name}': the server URL carries credentials (${redactK8s(cluster.server)}); put them in the user entry (token, or username and password) instead`, undefined, 'kubeconfig');
    }
    const ctx = kc.getContextObject(kc.getCurrentContext());
    const namespace = options.namespace || ctx?.namespace || 'default';
    const secrets = kubeconfigSecrets(kc);
    for (const s of secrets)
        loadedSecrets.add(s);
    return {
        kc,
        namespace,
        apps: kc.makeApiClient(dist/* AppsV1Api */.eY6),
        core: kc.makeApiClient(dist/* CoreV1Api */.f5Y),
        batch: kc.makeApiClient(dist/* BatchV1Api */.Q8C),
        networking: kc.makeApiClient(dist/* NetworkingV1Api */.sGP),
        objects: dist/* KubernetesObjectApi */.e1Y.makeApiClient(kc),
        secrets,
        server: redactK8s(cluster.server),
    };
}
/** Credentials found in a loaded kubeconfig: tokens, passwords, client keys, auth-provider tokens. */
function kubeconfigSecrets(kc) {
    const out = [];
    for (const u of kc.users) {
        for (const v of [u.token, u.password, u.keyData])
            if (v)
                out.push(v);
        const cfg = u.authProvider?.config;
        if (cfg && typeof cfg === 'object') {
            for (const k of ['access-token', 'id-token', 'refresh-token', 'client-secret']) {
                if (typeof cfg[k] === 'string' && cfg[k])
                    out.push(cfg[k]);
            }
        }
    }
    // A server URL may carry user information (`https://user:password@host`).
    for (const c of kc.clusters) {
        try {
            const pw = new URL(c.server).password;
            if (pw)
                out.push(pw, decodeURIComponent(pw));
        }
        catch {
            // not a URL: nothing to collect
        }
    }
    return [...new Set(out)];
}
/** Request options that send a patch with the given content type (the client defaults to JSON patch). */
function patchAs(strategy) {
    return (0,dist/* setHeaderOptions */.OkF)('Content-Type', strategy);
}

/** Extracts the HTTP code and the Kubernetes `Status` from an error of the client, if it is one. */
function apiStatus(e) {
    if (!(e instanceof dist/* ApiException */.UJ4))
        return undefined;
    let body = e.body;
    if (typeof body === 'string') {
        try {
            body = JSON.parse(body);
        }
        catch {
            body = { message: body.slice(0, 300) };
        }
    }
    return {
        code: e.code,
        reason: body?.reason,
        message: redactK8s(body?.message ?? (e.code === 401 ? 'Unauthorized' : `HTTP ${e.code}`)),
        details: body?.details,
    };
}
/**
 * Runs one API call and translates its failure: 404 → ConfigError "<what> not found" naming
 * `input`; 401/403 → ConfigError about the credentials; 409/422 → ConfigError with the server's
 * message; other errors pass through (a network failure or a server bug is not a user mistake).
 */
async function call(what, input, fn) {
    try {
        return await fn();
    }
    catch (e) {
        const st = apiStatus(e);
        if (!st) {
            // A network error's message may quote the server URL with its user information.
            // Some errors (a DOMException from an aborted or timed-out request) have a read-only
            // message: those are left as they are, their text is ours, not the server's.
            if (e instanceof Error && !(e instanceof errors/* ConfigError */.xL)) {
                const redacted = redactK8s(e.message);
                if (redacted !== e.message) {
                    try {
                        e.message = redacted;
                    }
                    catch {
                        throw new Error(redacted, { cause: e });
                    }
                }
            }
            throw e;
        }
        if (st.code === 404)
            throw new errors/* ConfigError */.xL(`${what} not found`, undefined, input);
        if (st.code === 401)
            throw new errors/* ConfigError */.xL(`the API server rejected the credentials (401 Unauthorized) while reading ${what}`, undefined, 'kubeconfig');
        if (st.code === 403)
            throw new errors/* ConfigError */.xL(`forbidden (403): ${st.message}`, undefined, 'kubeconfig');
        if (st.code === 409 || st.code === 422 || st.code === 400)
            throw new errors/* ConfigError */.xL(`${what}: ${st.message} (${st.code} ${st.reason ?? ''})`.trim(), undefined, input);
        throw new Error(`${what}: API server answered ${st.code} ${st.reason ?? ''}: ${st.message}`, {
            cause: e,
        });
    }
}
/** A failed rollout or Job: the reason is the Kubernetes one (e.g. `ProgressDeadlineExceeded`). */
class RolloutError extends Error {
    reason;
    name = 'RolloutError';
    constructor(message, 
    /** `ProgressDeadlineExceeded`, `BackoffLimitExceeded`, `DeadlineExceeded`, `Timeout`, ... */
    reason) {
        super(message);
        this.reason = reason;
    }
}
/** Resolves poll options to concrete values (all durations in milliseconds). */
function pollSettings(o) {
    return {
        intervalMs: o.pollIntervalMs ?? 2000,
        timeoutMs: o.timeoutMs ?? 600_000,
        sleep: o.sleep ?? errors/* sleep */.yy,
    };
}
/** Logger helper: `debug` the API server URL once per connection. */
function describeConnection(c, logger) {
    logger.debug(`API server ${c.server}, namespace ${c.namespace}`);
}

// EXTERNAL MODULE: ./src/backfill/spec.ts + 18 modules
var backfill_spec = __webpack_require__(707);
;// CONCATENATED MODULE: ./src/backfill/kubernetes.ts
/**
 * `runner: kubernetes`: the execute as a Kubernetes Indexed Job, one index per partition, so a
 * backfill of a private database runs inside the cluster and is not bound to a CI runner's job
 * time limit.
 *
 * The Job follows "Jobs" in the Kubernetes documentation (kubernetes.io/docs/concepts/
 * workloads/controllers/job/, "Completion mode" and "Backoff limit per index"):
 * `completionMode: Indexed`, `completions` = `parallelism` = partitions, `backoffLimitPerIndex`
 * retries of each index, `restartPolicy: Never`. Each pod runs the CLI image (pinned by digest)
 * as `runbook backfill execute --partition-index $(JOB_COMPLETION_INDEX) --run-token T`; the
 * database URL comes from a Secret through `secretKeyRef` and never appears in the Job; the spec
 * is a ConfigMap owned by the Job. The first index creates the run (or adopts the unfinished
 * run of the same spec) and its partitions; every index then works its own key range, and the
 * checkpoint rows make a retried or resubmitted index resume where it stopped.
 *
 * This side follows the Job with `@kubernetes/client-node`, streams each index's log into the
 * step log, and on cancel deletes the Job (the checkpoint keeps the work).
 */





const DIGEST = /^[^\s@]+@sha256:[0-9a-f]{64}$/;
const INDEX = 'batch.kubernetes.io/job-completion-index';
/**
 * The Job and ConfigMap for a spec (exported for tests and for `--dry-run` style printing).
 * @throws ConfigError for an image not pinned by digest, a bad secret reference or partitions
 */
function indexedJobManifest(spec, specText, options, runToken) {
    if (!DIGEST.test(options.image)) {
        throw new errors/* ConfigError */.xL(`must be pinned by digest (name@sha256:<64 hex digits>), got '${options.image}': a tag can move while a backfill runs, and every index must run the same code`, undefined, 'image');
    }
    const [secretName, secretKey = 'DATABASE_URL'] = options.databaseSecret.split('/');
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(secretName ?? '') || !secretKey) {
        throw new errors/* ConfigError */.xL(`expected a Secret name or name/key, got '${options.databaseSecret}'`, undefined, 'database-secret');
    }
    const n = options.partitions ?? spec.partitions;
    if (!Number.isInteger(n) || n < 1 || n > backfill_spec/* MAX_PARTITIONS */.zR) {
        throw new errors/* ConfigError */.xL(`must be an integer from 1 to ${backfill_spec/* MAX_PARTITIONS */.zR}, got ${n}`, undefined, 'partitions');
    }
    const base = `backfill-${spec.name.replace(/[^a-z0-9-]/g, '-')}`.slice(0, 40);
    const labels = {
        'app.kubernetes.io/name': 'runbook-backfill',
        'app.kubernetes.io/managed-by': 'runbook-actions',
        'runbook.dev/backfill': spec.name.replace(/[^a-z0-9._-]/g, '-').slice(0, 63),
    };
    const args = [
        'backfill',
        'execute',
        '--spec',
        '/etc/runbook/spec.yml',
        '--partitions',
        String(n),
        '--partition-index',
        '$(JOB_COMPLETION_INDEX)',
        '--run-token',
        runToken,
        '--lock-wait',
        '60s',
        ...(options.batchSize ? ['--batch-size', String(options.batchSize)] : []),
    ];
    const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { generateName: `${base}-`, namespace: options.namespace, labels },
        spec: {
            completionMode: 'Indexed',
            completions: n,
            parallelism: n,
            backoffLimitPerIndex: options.backoffLimitPerIndex ?? 3,
            // Every index must finish: the Job fails once an index used up its retries.
            maxFailedIndexes: 0,
            template: {
                metadata: { labels },
                spec: {
                    restartPolicy: 'Never',
                    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
                    containers: [
                        {
                            name: 'backfill',
                            image: options.image,
                            args,
                            env: [
                                {
                                    name: 'DATABASE_URL',
                                    valueFrom: { secretKeyRef: { name: secretName, key: secretKey } },
                                },
                            ],
                            volumeMounts: [{ name: 'spec', mountPath: '/etc/runbook', readOnly: true }],
                        },
                    ],
                    volumes: [{ name: 'spec', configMap: { name: '' } }],
                },
            },
        },
    };
    const configMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: '', namespace: options.namespace, labels },
        data: { 'spec.yml': specText },
    };
    return { job, configMap };
}
/**
 * Submits the execute as an Indexed Job, follows it to the end and streams each index's log.
 * @returns the outcome; `status` is `Failed` when an index failed after its retries
 * @throws ConfigError for bad inputs or a Job the API server rejects
 */
async function executeInKubernetes(options, logger) {
    const spec = (0,backfill_spec/* loadBackfillSpec */.C8)(options.spec);
    const specText = (0,external_node_fs_.readFileSync)(options.spec, 'utf8');
    const c = connect(options);
    const namespace = options.namespace || c.namespace;
    const poll = pollSettings(options);
    const runToken = (0,external_node_crypto_.randomUUID)().slice(0, 13);
    const { job: body, configMap } = indexedJobManifest(spec, specText, { ...options, namespace }, runToken);
    const started = Date.now();
    // The spec first (a generated name), then the Job that mounts it, then the ConfigMap handed
    // to the Job as its owner so that deleting the Job deletes it (a Job template is immutable).
    configMap.metadata = {
        ...configMap.metadata,
        name: undefined,
        generateName: `${body.metadata.generateName}spec-`,
    };
    const cm = await call(`configmap in namespace '${namespace}'`, 'namespace', () => c.core.createNamespacedConfigMap({ namespace, body: configMap }));
    const cmName = cm.metadata.name;
    body.spec.template.spec.volumes[0].configMap.name = cmName;
    let job;
    try {
        job = await c.batch.createNamespacedJob({ namespace, body, fieldManager: 'runbook-actions' });
    }
    catch (e) {
        await c.core.deleteNamespacedConfigMap({ name: cmName, namespace }).catch(() => { });
        const st = apiStatus(e);
        if (st && (st.code === 422 || st.code === 400))
            throw new errors/* ConfigError */.xL(st.message);
        return call(`job in namespace '${namespace}'`, 'namespace', () => Promise.reject(e));
    }
    const name = job.metadata.name;
    const uid = job.metadata.uid;
    await call(`configmap '${cmName}'`, undefined, () => c.core.patchNamespacedConfigMap({
        name: cmName,
        namespace,
        body: {
            metadata: {
                ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid }],
            },
        },
    }, patchAs(dist/* PatchStrategy */.Qve.MergePatch)));
    logger.info(`job "${name}" created in namespace "${namespace}": ${body.spec.completions} index(es), image ${options.image}, database URL from secret ${options.databaseSecret}`);
    const seen = new Map();
    const attempts = new Map();
    const lastLine = new Map();
    const pull = async () => {
        const pods = await call(`pods of job '${name}'`, undefined, () => c.core.listNamespacedPod({ namespace, labelSelector: `controller-uid=${uid}` }));
        for (const pod of pods.items) {
            const podName = pod.metadata.name;
            const index = Number(pod.metadata?.annotations?.[INDEX] ?? pod.metadata?.labels?.[INDEX]);
            if (!attempts.has(index))
                attempts.set(index, new Set());
            attempts.get(index).add(podName);
            if (pod.status?.phase === 'Pending')
                continue;
            let text;
            try {
                text = await c.core.readNamespacedPodLog({ name: podName, namespace });
            }
            catch {
                continue;
            }
            const lines = String(text ?? '').split('\n');
            if (lines[lines.length - 1] === '')
                lines.pop();
            for (const line of lines.slice(seen.get(podName) ?? 0)) {
                logger.info(`[#${index}] ${line}`);
                if (/progress:|Run #\d+ |failed|error/i.test(line))
                    lastLine.set(index, line);
            }
            seen.set(podName, lines.length);
        }
        return pods.items;
    };
    const outcome = (status, j, pods) => {
        const n = body.spec.completions;
        return {
            job: name,
            namespace,
            status,
            reason: j.status?.conditions?.find((x) => x.type === status)?.reason,
            completedIndexes: j.status?.completedIndexes ?? '',
            failedIndexes: j.status?.failedIndexes ?? '',
            runToken,
            durationMs: Date.now() - started,
            indexes: Array.from({ length: n }, (_, i) => {
                const mine = pods.filter((p) => Number(p.metadata?.annotations?.[INDEX] ?? p.metadata?.labels?.[INDEX]) === i);
                const phases = mine.map((p) => p.status?.phase ?? 'Pending');
                return {
                    index: i,
                    phase: phases.includes('Succeeded')
                        ? 'Succeeded'
                        : phases.includes('Running')
                            ? 'Running'
                            : phases.length && !phases.includes('Pending')
                                ? 'Failed'
                                : 'Pending',
                    attempts: attempts.get(i)?.size ?? 0,
                    lastLine: lastLine.get(i),
                };
            }),
        };
    };
    for (;;) {
        if (options.signal?.aborted) {
            logger.warning(`cancelled: deleting job "${name}" (its indexes stop; the checkpoint keeps every committed batch and the next execute resumes)`);
            const pods = await pull().catch(() => []);
            await c.batch
                .deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' })
                .catch(() => { });
            await c.core.deleteNamespacedConfigMap({ name: cmName, namespace }).catch(() => { });
            return outcome('Cancelled', job, pods);
        }
        job = await call(`job '${name}'`, undefined, () => c.batch.readNamespacedJob({ name, namespace }));
        const pods = await pull();
        const done = job.status?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
        if (done) {
            const r = outcome(done.type, job, pods);
            logger.info(`job "${name}" ${done.type === 'Complete' ? 'completed' : `failed (${done.reason}; failed indexes ${r.failedIndexes})`}: completed indexes ${r.completedIndexes || 'none'}`);
            return r;
        }
        if (Date.now() - started >= poll.timeoutMs) {
            logger.warning(`job "${name}" still running after ${Math.round(poll.timeoutMs / 1000)} s; left running`);
            return outcome('Timeout', job, pods);
        }
        await poll.sleep(poll.intervalMs);
    }
}


/***/ })

};
