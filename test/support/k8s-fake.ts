/**
 * A FAKE Kubernetes API server for tests (node:http). No real API server can run here, so the
 * rollout engine and real `kubectl` (test/k8s/kubectl-conformance.test.ts, the fake's judge)
 * are driven against this one. It follows:
 *
 * - the Kubernetes API conventions
 *   (github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md):
 *   `resourceVersion` on every write, `generation`/`observedGeneration`, `Status` objects for
 *   errors, conditions;
 * - API concepts (kubernetes.io/docs/reference/using-api/api-concepts/): discovery (`/api`,
 *   `/apis`, `/apis/<group>/<version>`, `/version`), list with label and field selectors, watch
 *   (`?watch=1`, newline-delimited `WatchEvent`s from a `resourceVersion` or with the current
 *   objects as `ADDED` first, `timeoutSeconds`), `dryRun=All`, `fieldValidation`, namespaces
 *   that must exist (404 `namespaces "x" not found`, the `NamespaceLifecycle` admission plugin);
 * - patch formats (k8s-fake-patch.ts), server-side apply and field ownership (k8s-fake-apply.ts),
 *   schema validation (k8s-fake-validation.ts), the Deployment controller
 *   (k8s-fake-deployments.ts), the Job controller and pod logs (k8s-fake-jobs.ts); the resource
 *   types, selectors and watch history are in k8s-fake-store.ts.
 *
 * Faults for the unhappy paths: {@link FakeKubernetes.fault} answers matching requests with a
 * status (e.g. 500, 429 with `Retry-After`) or never answers them (a hung API server).
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import {
  clone,
  isObj,
  jsonPatch,
  mergePatch,
  notFound,
  StatusError,
  strategicMergePatch,
  type Obj,
} from './k8s-fake-patch.js';
import {
  apiVersionOf,
  groupResource,
  RESOURCES,
  Store,
  type ResourceType,
  type Stored,
  type WatchEvent,
} from './k8s-fake-store.js';
import { loadSchemas, validateObject } from './k8s-fake-validation.js';
import { deploymentTick } from './k8s-fake-deployments.js';
import { defaultJob, jobTick, podLog, type JobControllerOptions } from './k8s-fake-jobs.js';
import { recordUpdate, serverSideApply } from './k8s-fake-apply.js';

export { mergePatch, strategicMergePatch, jsonPatch, StatusError } from './k8s-fake-patch.js';

/** Options of {@link startFakeKubernetes}. All times are milliseconds. */
export interface FakeKubernetesOptions extends JobControllerOptions {
  /** Interval of the simulated controllers (default 20 ms). */
  tickMs?: number;
  /** Progress deadline used instead of `spec.progressDeadlineSeconds` (default: that field). */
  progressDeadlineMs?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /**
   * Namespaces that exist from the start (default `default`, `kube-system`, `kube-public`,
   * `kube-node-lease`, as in a new cluster). {@link FakeKubernetes.seed} creates the namespace
   * of a seeded object when it is missing.
   */
  namespaces?: string[];
}

/** A fault injected into matching requests, see {@link FakeKubernetes.fault}. */
export interface Fault {
  /** HTTP method to match (default: any). */
  method?: string;
  /** Matched against the path with its query (default: any). */
  path?: RegExp;
  /** How many matching requests fail (default 1; Infinity for all). */
  times?: number;
  /** Answer with this status code and a `Status` object (e.g. 500, 503, 429). */
  status?: number;
  /** `Retry-After` header in seconds (with `status`). */
  retryAfterSeconds?: number;
  /** Never answer (a hung API server); the connection stays open until the client gives up. */
  hang?: boolean;
}

/** A running fake, see {@link startFakeKubernetes}. */
export interface FakeKubernetes {
  url: string;
  port: number;
  /** A kubeconfig (YAML) whose current context points at the fake, with the token if set. */
  kubeconfig(options?: { namespace?: string; context?: string }): string;
  /** Creates or replaces an object directly (test fixture), as if it had been created earlier. */
  seed(obj: Obj): Obj;
  /** A stored object or undefined. */
  get(kind: string, namespace: string, name: string): Obj | undefined;
  /** Every stored object of a kind in a namespace. */
  list(kind: string, namespace: string): Obj[];
  /** Every request seen: method, path (with query) and content type. */
  requests: { method: string; path: string; contentType?: string; body?: unknown }[];
  /**
   * Called before each request is handled (after the body is read): tests use it to simulate a
   * concurrent writer, e.g. change an object between the engine's read and its patch.
   */
  onRequest?: (req: { method: string; path: string }) => void;
  /** Injects a fault; returns a function that removes it. */
  fault(f: Fault): () => void;
  /**
   * `deployment=image` entries: a rollout of that Deployment to a pod template with that image
   * never gets ready pods, as with an image containing `bad`.
   */
  stuck: Set<string>;
  /** Runs one controller tick now (tests normally let the timer do it). */
  tick(): void;
  close(): Promise<void>;
}

const NOT_FOUND = () =>
  new StatusError(404, 'NotFound', 'the server could not find the requested resource');

/**
 * Starts the fake API server on 127.0.0.1 and a free port.
 * @returns handles to the store and a kubeconfig pointing at it
 */
export async function startFakeKubernetes(
  options: FakeKubernetesOptions = {},
): Promise<FakeKubernetes> {
  await loadSchemas();
  const tickMs = options.tickMs ?? 20;
  const store = new Store();
  const requests: FakeKubernetes['requests'] = [];
  const stuck = new Set<string>();
  const faults: (Fault & { left: number })[] = [];
  const hung = new Set<ServerResponse>();
  const nsType = store.typeOfKind('Namespace')!;

  const createNamespace = (name: string) => {
    const s = store.insert(
      nsType,
      {
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      },
      '',
    );
    return s;
  };
  for (const ns of options.namespaces ?? [
    'default',
    'kube-system',
    'kube-public',
    'kube-node-lease',
  ])
    createNamespace(ns);

  /** Defaults the server fills in on create. */
  function defaults(t: ResourceType, o: Obj): void {
    if (t.kind === 'Deployment') {
      o.spec.replicas = o.spec.replicas ?? 1;
      o.spec.progressDeadlineSeconds = o.spec.progressDeadlineSeconds ?? 600;
      o.spec.revisionHistoryLimit = o.spec.revisionHistoryLimit ?? 10;
      o.spec.strategy = o.spec.strategy ?? {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      };
      o.status = { observedGeneration: 0 };
    }
    if (t.kind === 'Job') defaultJob(o);
    if (t.kind === 'Namespace') {
      o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
      o.spec = { finalizers: ['kubernetes'] };
      o.status = { phase: 'Active' };
    }
  }

  function checkNamespace(t: ResourceType, ns: string): void {
    if (t.namespaced && !store.namespaceExists(ns))
      throw new StatusError(404, 'NotFound', `namespaces "${ns}" not found`, {
        name: ns,
        kind: 'namespaces',
      });
  }

  /** Creates an object (POST, or an apply of a new object). */
  function create(t: ResourceType, o: Obj, ns: string, dryRun: boolean): Stored | Obj {
    checkNamespace(t, ns);
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
    o.metadata = { ...o.metadata };
    if (t.namespaced) o.metadata.namespace = ns;
    if (dryRun) return o;
    const s = store.insert(t, o, ns);
    defaults(t, s.obj);
    return s;
  }

  // ---- controllers -------------------------------------------------------------------------

  function tick(): void {
    const now = Date.now();
    for (const s of store.all()) {
      if (s.type.kind === 'Deployment')
        deploymentTick(store, s, now, { progressDeadlineMs: options.progressDeadlineMs, stuck });
      else if (s.type.kind === 'Job') jobTick(store, s, now, options);
    }
  }

  // ---- discovery ---------------------------------------------------------------------------

  const groups = () => {
    const out = new Map<string, string[]>();
    for (const r of RESOURCES)
      if (r.group) out.set(r.group, [...new Set([...(out.get(r.group) ?? []), r.version])]);
    return out;
  };
  function discovery(group: string, version: string): Obj | undefined {
    const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
    if (!resources.length) return undefined;
    const verbs = [
      'create',
      'delete',
      'deletecollection',
      'get',
      'list',
      'patch',
      'update',
      'watch',
    ];
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: resources.flatMap((r) => [
        {
          name: r.plural,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs,
          ...(r.shortNames ? { shortNames: r.shortNames } : {}),
          ...(r.categories ? { categories: r.categories } : {}),
        },
        ...(r.subresources ?? []).map((sub) => ({
          name: `${r.plural}/${sub}`,
          singularName: '',
          namespaced: r.namespaced,
          kind: sub === 'scale' ? 'Scale' : sub === 'log' ? 'Pod' : r.kind,
          ...(sub === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}),
          verbs: sub === 'log' ? ['get'] : ['get', 'patch', 'update'],
        })),
      ]),
    };
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  function view(t: ResourceType, o: Obj): Obj {
    // One storage per group: every served version shows the object with its own apiVersion.
    return o.apiVersion === apiVersionOf(t) ? o : { ...o, apiVersion: apiVersionOf(t) };
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceType,
    ns: string,
    url: URL,
  ): void {
    const match = store.filter(
      t,
      ns,
      url.searchParams.get('labelSelector'),
      url.searchParams.get('fieldSelector'),
    );
    const from = url.searchParams.get('resourceVersion');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const write = (type: string, object: Obj) =>
      res.write(`${JSON.stringify({ type, object: view(t, object) })}\n`);
    if (!from || from === '0') {
      for (const s of store.list(
        t,
        ns,
        url.searchParams.get('labelSelector'),
        url.searchParams.get('fieldSelector'),
      ))
        write('ADDED', clone(s.obj));
    } else {
      const since = Number(from);
      const oldest = store.history[0]?.resourceVersion ?? store.resourceVersion;
      if (since < oldest - 1) {
        write(
          'ERROR',
          new StatusError(
            410,
            'Expired',
            `too old resource version: ${since} (${oldest})`,
          ).toStatus(),
        );
        res.end();
        return;
      }
      for (const e of store.history)
        if (e.resourceVersion > since && match(e)) write(e.type, e.object);
    }
    const listener = (e: WatchEvent) => {
      if (match(e)) write(e.type, e.object);
    };
    store.listeners.add(listener);
    const seconds = Number(url.searchParams.get('timeoutSeconds') ?? 1800);
    const timer = setTimeout(() => res.end(), seconds * 1000);
    timer.unref();
    const stop = () => {
      clearTimeout(timer);
      store.listeners.delete(listener);
    };
    res.on('close', stop);
    req.on('close', stop);
  }

  function writeOptions(url: URL) {
    const dryRun = url.searchParams.get('dryRun');
    if (dryRun !== null && dryRun !== 'All')
      throw new StatusError(
        400,
        'BadRequest',
        `dryRun: Unsupported value: "${dryRun}": supported values: "All"`,
      );
    const fv = url.searchParams.get('fieldValidation') ?? 'Warn';
    if (!['Strict', 'Warn', 'Ignore'].includes(fv))
      throw new StatusError(
        400,
        'BadRequest',
        `fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`,
      );
    return {
      dryRun: dryRun === 'All',
      strict: fv === 'Strict',
      manager: url.searchParams.get('fieldManager') ?? undefined,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0];
    const method = req.method ?? 'GET';
    const send = (code: number, body: unknown, type = 'application/json') => {
      res.writeHead(code, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    let body: any;
    try {
      body = raw
        ? contentType === 'application/apply-patch+yaml' || contentType === 'application/yaml'
          ? parseYaml(raw)
          : JSON.parse(raw)
        : undefined;
    } catch (e) {
      throw new StatusError(
        400,
        'BadRequest',
        `error decoding patch: ${(e as Error).message.split('\n')[0]}`,
      );
    }
    const path = url.pathname + url.search;
    requests.push({ method, path, contentType, body });
    fake.onRequest?.({ method, path });
    const fault = faults.find(
      (f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(path)),
    );
    if (fault) {
      fault.left--;
      if (fault.hang) {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      const code = fault.status ?? 500;
      const reason =
        code === 429
          ? 'TooManyRequests'
          : code === 503
            ? 'ServiceUnavailable'
            : code === 504
              ? 'Timeout'
              : 'InternalError';
      const message =
        code === 429
          ? 'Too many requests, please try again later.'
          : code === 500
            ? 'Internal error occurred: etcdserver: request timed out'
            : 'the server is currently unable to handle the request';
      throw new StatusError(
        code,
        reason,
        message,
        fault.retryAfterSeconds !== undefined
          ? { retryAfterSeconds: fault.retryAfterSeconds }
          : undefined,
        fault.retryAfterSeconds !== undefined
          ? { 'retry-after': String(fault.retryAfterSeconds) }
          : undefined,
      );
    }
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      throw new StatusError(401, 'Unauthorized', 'Unauthorized');
    }
    const segs = url.pathname.split('/').filter(Boolean);
    if (url.pathname === '/version' || url.pathname === '/version/')
      return send(200, {
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.0-fake',
        gitCommit: '',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'go1.23',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    if (segs[0] === 'api' && segs.length === 1)
      return send(200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [
          { clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` },
        ],
      });
    if (segs[0] === 'apis' && segs.length === 1) {
      return send(200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups()].map(([name, versions]) => ({
          name,
          versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
          preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
        })),
      });
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const versions = groups().get(segs[1]);
      if (!versions) throw NOT_FOUND();
      return send(200, {
        kind: 'APIGroup',
        apiVersion: 'v1',
        name: segs[1],
        versions: versions.map((v) => ({ groupVersion: `${segs[1]}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${segs[1]}/${versions[0]}`, version: versions[0] },
      });
    }
    let group = '';
    let version: string;
    let rest: string[];
    if (segs[0] === 'api') {
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === 'apis') {
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    } else throw NOT_FOUND();
    if (rest.length === 0) {
      const d = discovery(group, version);
      if (!d) throw NOT_FOUND();
      return send(200, d);
    }
    let ns = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub] = rest;
    const t = RESOURCES.find(
      (r) => r.group === group && r.version === version && r.plural === plural,
    );
    if (!t) throw NOT_FOUND();
    if (sub && !(t.subresources ?? []).includes(sub)) throw NOT_FOUND();
    const gr = groupResource(t);
    const missing = () => notFound(t.group, t.plural, name);
    const s = name ? store.get(t, ns, name) : undefined;

    if (method === 'GET' && !name) {
      const w = url.searchParams.get('watch');
      if (w === 'true' || w === '1') return watch(req, res, t, ns, url);
      const items = store
        .list(t, ns, url.searchParams.get('labelSelector'), url.searchParams.get('fieldSelector'))
        .map((x) => view(t, x.obj));
      return send(200, {
        kind: `${t.kind}List`,
        apiVersion: apiVersionOf(t),
        metadata: { resourceVersion: String(store.resourceVersion) },
        items,
      });
    }
    if (method === 'GET' && sub === 'log') {
      if (!s) throw missing();
      return send(200, podLog(s, url.searchParams.get('container')), 'text/plain');
    }
    if (method === 'GET') {
      if (!s) throw missing();
      return send(200, view(t, s.obj));
    }
    if (method === 'POST' && !name) {
      const { dryRun, strict, manager } = writeOptions(url);
      if (!isObj(body))
        throw new StatusError(400, 'BadRequest', 'the body of the request was not an object');
      const n = body.metadata?.name;
      if (n && store.get(t, ns, n))
        throw new StatusError(409, 'AlreadyExists', `${gr} "${n}" already exists`, {
          name: n,
          group: t.group || undefined,
          kind: t.plural,
        });
      if (t.namespaced && body.metadata?.namespace && body.metadata.namespace !== ns)
        throw new StatusError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      const o = clone(body);
      validateObject(t, { ...o, metadata: { ...o.metadata, namespace: ns } }, 'json', strict);
      const created = create(t, o, ns, dryRun);
      if (dryRun) return send(201, created);
      const st = created as Stored;
      recordUpdate(st, undefined, manager ?? 'unknown');
      return send(201, view(t, st.obj));
    }
    if (method === 'DELETE' && name) {
      if (!s) throw missing();
      if (url.searchParams.get('dryRun') === 'All') return send(200, view(t, s.obj));
      store.remove(s);
      if (t.kind === 'Namespace')
        for (const x of store.all())
          if (x.type.namespaced && x.obj.metadata.namespace === name) store.remove(x);
      // Garbage collection of owned objects (background propagation)
      const sweep = (uid: string) => {
        for (const x of store.all())
          if (x.obj.metadata.ownerReferences?.some((o: Obj) => o.uid === uid)) {
            store.remove(x);
            sweep(x.obj.metadata.uid);
          }
      };
      sweep(s.obj.metadata.uid);
      return send(200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, group: t.group || undefined, kind: t.plural, uid: s.obj.metadata.uid },
      });
    }
    if (method === 'PUT' && name) {
      const { dryRun, strict, manager } = writeOptions(url);
      if (!s) throw missing();
      if (!isObj(body))
        throw new StatusError(400, 'BadRequest', 'the body of the request was not an object');
      if (
        body.metadata?.resourceVersion &&
        body.metadata.resourceVersion !== s.obj.metadata.resourceVersion
      )
        throw conflict(t, name);
      const next = clone(body);
      if (sub === 'status') {
        const out = { ...clone(s.obj), status: next.status };
        if (dryRun) return send(200, out);
        s.obj.status = next.status;
        store.touch(s);
        return send(200, view(t, s.obj));
      }
      validateObject(t, next, 'json', strict);
      if (dryRun) return send(200, next);
      const before = clone(s.obj);
      store.commit(s, next);
      recordUpdate(s, before, manager ?? 'unknown');
      return send(200, view(t, s.obj));
    }
    if (method === 'PATCH' && name) {
      const { dryRun, strict, manager } = writeOptions(url);
      const force = url.searchParams.get('force') === 'true';
      if (contentType === 'application/apply-patch+yaml') {
        if (!manager)
          throw new StatusError(
            422,
            'Invalid',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          );
        if (!isObj(body))
          throw new StatusError(400, 'BadRequest', 'the body of the request was not an object');
        if (body.kind && body.kind !== t.kind)
          throw new StatusError(
            400,
            'BadRequest',
            `the kind "${body.kind}" in the request does not match the kind of the URL "${t.kind}"`,
          );
        if (body.metadata?.name && body.metadata.name !== name)
          throw new StatusError(
            400,
            'BadRequest',
            'the name of the object (' +
              body.metadata.name +
              ') does not match the name on the URL (' +
              name +
              ')',
          );
        validateObject(
          t,
          { ...body, metadata: { ...body.metadata, name, namespace: ns || undefined } },
          'apply',
          true,
        );
        const { next, record } = serverSideApply(s, clone(body), manager, force);
        if (!s) {
          next.metadata = { ...next.metadata, name };
          const created = create(t, next, ns, dryRun);
          if (dryRun) return send(201, created);
          record(created as Stored);
          return send(201, view(t, (created as Stored).obj));
        }
        validateObject(t, next, 'json', false);
        if (dryRun) return send(200, next);
        store.commit(s, next);
        record(s);
        return send(200, view(t, s.obj));
      }
      if (force)
        throw new StatusError(
          422,
          'Invalid',
          'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
        );
      if (!s) throw missing();
      let next: Obj;
      if (contentType === 'application/strategic-merge-patch+json') {
        if (t.group.includes('.') && !['networking.k8s.io'].includes(t.group))
          throw new StatusError(
            415,
            'UnsupportedMediaType',
            'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
          );
        next = strategicMergePatch(s.obj, body) as Obj;
      } else if (contentType === 'application/merge-patch+json')
        next = mergePatch(s.obj, body) as Obj;
      else if (contentType === 'application/json-patch+json') {
        if (!Array.isArray(body))
          throw new StatusError(
            400,
            'BadRequest',
            'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
          );
        next = jsonPatch(s.obj, body);
      } else
        throw new StatusError(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json',
        );
      if (sub === 'status') {
        if (dryRun) return send(200, next);
        s.obj.status = next.status;
        store.touch(s);
        return send(200, view(t, s.obj));
      }
      if (
        next.metadata?.resourceVersion &&
        next.metadata.resourceVersion !== s.obj.metadata.resourceVersion
      )
        throw conflict(t, name);
      validateObject(t, next, 'json', strict);
      if (dryRun) return send(200, next);
      const before = clone(s.obj);
      store.commit(s, next);
      recordUpdate(
        s,
        before,
        manager ?? (String(req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown'),
      );
      return send(200, view(t, s.obj));
    }
    throw new StatusError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }

  function conflict(t: ResourceType, name: string): StatusError {
    return new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${groupResource(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: t.group || undefined, kind: t.plural },
    );
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      const err =
        e instanceof StatusError ? e : new StatusError(500, 'InternalError', String(e?.stack ?? e));
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(err.code, { 'content-type': 'application/json', ...err.headers });
      res.end(JSON.stringify(err.toStatus()));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const timer = setInterval(tick, tickMs);
  timer.unref();

  const fake: FakeKubernetes = {
    url,
    port,
    requests,
    stuck,
    tick,
    fault(f) {
      const entry = { ...f, left: f.times ?? 1 };
      faults.push(entry);
      return () => {
        entry.left = 0;
        for (const r of hung) r.destroy();
      };
    },
    kubeconfig({ namespace = 'default', context = 'fake' } = {}) {
      const user = options.token
        ? `    token: ${options.token}\n`
        : '    username: tester\n    password: tester-password\n';
      return [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${url}`,
        // client-node refuses plain http unless TLS verification is off (there is no TLS here).
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: tester',
        '  user:',
        user.trimEnd(),
        'contexts:',
        `- name: ${context}`,
        '  context:',
        '    cluster: fake',
        '    user: tester',
        `    namespace: ${namespace}`,
        `current-context: ${context}`,
        '',
      ].join('\n');
    },
    seed(obj) {
      const t = store.typeOfKind(obj.kind, obj.apiVersion) ?? store.typeOfKind(obj.kind);
      if (!t) throw new Error(`fake: unknown kind ${obj.kind}`);
      const ns = t.namespaced ? (obj.metadata?.namespace ?? 'default') : '';
      if (t.namespaced && !store.namespaceExists(ns)) createNamespace(ns);
      const old = store.get(t, ns, obj.metadata.name);
      if (old) store.remove(old);
      const o = clone(obj);
      validateObject(t, o, 'json', true);
      const s = store.insert(t, o, ns);
      defaults(t, s.obj);
      if (t.kind === 'Deployment' && obj.status) s.obj.status = clone(obj.status);
      return s.obj;
    },
    get(kind, namespace, name) {
      const t = store.typeOfKind(kind);
      return t ? store.get(t, namespace, name)?.obj : undefined;
    },
    list(kind, namespace) {
      const t = store.typeOfKind(kind);
      return t ? store.list(t, namespace).map((s) => s.obj) : [];
    },
    close: () =>
      new Promise<void>((r) => {
        clearInterval(timer);
        for (const h of hung) h.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return fake;
}
