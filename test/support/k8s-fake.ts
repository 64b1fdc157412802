/**
 * A FAKE Kubernetes API server for tests (node:http). It is not Kubernetes: it implements just
 * the REST paths the `rollout` engine uses, with the shapes and behaviour described in
 *
 * - the Kubernetes API conventions
 *   (github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md):
 *   `metadata.resourceVersion` changes on every write, `metadata.generation` changes when `spec`
 *   changes and `status.observedGeneration` follows once a controller has seen it, `Status`
 *   objects for errors (404 NotFound, 409 AlreadyExists/Conflict, 422 Invalid, 401 Unauthorized),
 *   `status.conditions` with `type`, `status`, `reason`, `message`;
 * - the API reference (kubernetes.io/docs/reference/kubernetes-api/): apps/v1 Deployment and
 *   ReplicaSet, networking.k8s.io/v1 Ingress, batch/v1 Job and CronJob, v1 Pod and its `log`
 *   subresource, discovery documents (`APIResourceList`);
 * - patching (kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):
 *   `application/json-patch+json`, `application/merge-patch+json`,
 *   `application/strategic-merge-patch+json` (lists of containers, env, ports, volumes merged by
 *   their patch merge key) and `application/apply-patch+yaml` (server-side apply,
 *   kubernetes.io/docs/reference/using-api/server-side-apply/: `fieldManager`, `force`, 409
 *   conflicts naming the fields another manager owns; field ownership is tracked per leaf path,
 *   a simplification of managed fields);
 * - the Deployment controller's documented behaviour (kubernetes.io/docs/concepts/workloads/
 *   controllers/deployment/): a new ReplicaSet per pod template, `pod-template-hash` label,
 *   `deployment.kubernetes.io/revision` annotations (a rolled-back template's ReplicaSet gets the
 *   next revision), surge-then-scale-down progress, `Progressing` condition with reason
 *   `ProgressDeadlineExceeded` after the progress deadline.
 *
 * Simulation rules: a tick runs every `tickMs`. A Deployment whose pod template has an image
 * containing `bad` never gets ready pods and, `progressDeadlineMs` after its last progress, gets
 * `ProgressDeadlineExceeded`. A Job pod whose image contains `fail` fails; after `backoffLimit`
 * retries the Job gets the `Failed` condition with reason `BackoffLimitExceeded`. Pod logs are
 * generated lines (start, the container's command and args, the outcome).
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';

type Obj = Record<string, any>;

interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const RESOURCES: ResourceType[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true },
  { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true },
  { group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    namespaced: true,
  },
];

function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Patch merge keys of the strategic merge patch (from the API types' `patchMergeKey` tags). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  conditions: 'type',
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strategic merge patch: as merge patch, but lists with a patch merge key merge item by item. */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return clone(rest);
  }
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else if (Array.isArray(v) && MERGE_KEYS[k] && Array.isArray(out[k])) {
      const key = MERGE_KEYS[k];
      const list: unknown[] = [...out[k]];
      for (const item of v) {
        const idx = list.findIndex((e) => isObj(e) && isObj(item) && e[key] === item[key]);
        if (isObj(item) && item.$patch === 'delete') {
          if (idx >= 0) list.splice(idx, 1);
        } else if (idx >= 0) list[idx] = strategicMergePatch(list[idx], item);
        else list.push(clone(item));
      }
      out[k] = list;
    } else out[k] = strategicMergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  return path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 JSON patch (add, replace, remove, test). @throws a 422 StatusError on a bad op */
export function jsonPatch(target: Obj, ops: Obj[]): Obj {
  const doc = clone(target);
  for (const op of ops) {
    const parts = pointer(String(op.path ?? ''));
    const last = parts.pop();
    let parent: any = doc;
    for (const p of parts) {
      parent = parent?.[Array.isArray(parent) ? Number(p) : p];
    }
    if (parent === undefined || last === undefined)
      throw new StatusError(422, 'Invalid', `jsonpatch ${op.op}: path ${op.path} does not exist`);
    const key: any = Array.isArray(parent) ? (last === '-' ? parent.length : Number(last)) : last;
    if (op.op === 'test') {
      if (JSON.stringify(parent[key]) !== JSON.stringify(op.value))
        throw new StatusError(
          422,
          'Invalid',
          `jsonpatch test operation does not apply: ${op.path}`,
        );
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(key, 1);
      else delete parent[key];
    } else if (op.op === 'add' && Array.isArray(parent)) parent.splice(key, 0, clone(op.value));
    else if (op.op === 'add' || op.op === 'replace') parent[key] = clone(op.value);
    else throw new StatusError(422, 'Invalid', `jsonpatch: unsupported op ${op.op}`);
  }
  return doc;
}

/** An error answered as a Kubernetes `Status` object. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
  toStatus(): Obj {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

/** Options of {@link startFakeKubernetes}. All times are milliseconds. */
export interface FakeKubernetesOptions {
  /** Interval of the simulated controllers (default 20 ms). */
  tickMs?: number;
  /** Progress deadline used instead of `spec.progressDeadlineSeconds` (default: that field). */
  progressDeadlineMs?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /** Log lines each Job pod prints before it finishes (default 3). */
  jobLogLines?: number;
  /** Runs Jobs it accepts instead of the built-in one-pod simulation (see k8s-indexed-job.ts). */
  jobController?: FakeJobController;
}

/** A pluggable Job controller: `tick` returns true for the Jobs it runs. */
export interface FakeJobController {
  tick(job: Obj, api: FakeControllerApi): boolean;
  /** Called when a Job is deleted. */
  deleted?(job: Obj): void;
}

/** What a {@link FakeJobController} may do to the store. */
export interface FakeControllerApi {
  /** Stores a pod; push to `logs` to make lines appear in its `log` subresource. */
  createPod(pod: Obj, namespace: string): { obj: Obj; logs: string[] };
  /** A stored object (e.g. a Secret or ConfigMap the pod refers to). */
  get(kind: string, namespace: string, name: string): Obj | undefined;
  /** Marks an object changed (new resourceVersion). */
  bump(obj: Obj): void;
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
  /**
   * `deployment=image` entries: a rollout of that Deployment to a pod template with that image
   * never gets ready pods, as with an image containing `bad` (e.g. one Deployment fails on an
   * image another runs fine; a rollout already complete stays complete).
   */
  stuck: Set<string>;
  /** Runs one controller tick now (tests normally let the timer do it). */
  tick(): void;
  close(): Promise<void>;
}

interface Stored {
  type: ResourceType;
  obj: Obj;
  /** Server-side-apply field ownership: leaf path → manager. */
  owners: Map<string, string>;
  /** Deployment: time of the last progress; Job pods: their log lines. */
  lastProgress?: number;
}

function leafPaths(v: unknown, prefix = ''): [string, string][] {
  if (isObj(v)) {
    return Object.entries(v).flatMap(([k, x]) => leafPaths(x, `${prefix}.${k}`));
  }
  return [[prefix, JSON.stringify(v)]];
}

/** Key-order independent JSON, so equal templates hash equally whatever order a client sent. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    isObj(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

function templateHash(template: unknown): string {
  return createHash('sha256').update(canonical(template)).digest('hex').slice(0, 10);
}

const DNS1123 = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Starts the fake API server on 127.0.0.1 and a free port.
 * @returns handles to the store and a kubeconfig pointing at it
 */
export async function startFakeKubernetes(
  options: FakeKubernetesOptions = {},
): Promise<FakeKubernetes> {
  const tickMs = options.tickMs ?? 20;
  const store = new Map<string, Stored>();
  const requests: FakeKubernetes['requests'] = [];
  const stuck = new Set<string>();
  let rv = 1000;
  const keyOf = (t: ResourceType, ns: string, name: string) =>
    `${apiVersionOf(t)}|${t.plural}|${t.namespaced ? ns : ''}|${name}`;
  const typeOfKind = (kind: string) => RESOURCES.find((r) => r.kind === kind);

  const bump = (o: Obj) => {
    o.metadata.resourceVersion = String(++rv);
  };

  function validate(t: ResourceType, o: Obj): void {
    const causes: Obj[] = [];
    const name = o.metadata?.name;
    if (!name || !DNS1123.test(name) || name.length > 253) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        field: 'metadata.name',
      });
    }
    const podSpec =
      t.kind === 'Deployment' || t.kind === 'Job'
        ? o.spec?.template?.spec
        : t.kind === 'CronJob'
          ? o.spec?.jobTemplate?.spec?.template?.spec
          : undefined;
    if (podSpec) {
      (podSpec.containers ?? []).forEach((c: Obj, i: number) => {
        if (!c.image)
          causes.push({
            reason: 'FieldValueRequired',
            message: 'Required value',
            field: `spec.template.spec.containers[${i}].image`,
          });
      });
    }
    if (causes.length) {
      throw new StatusError(
        422,
        'Invalid',
        `${t.kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        { name, group: t.group, kind: t.kind, causes },
      );
    }
  }

  function insert(t: ResourceType, o: Obj, ns: string): Stored {
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
    o.metadata = o.metadata ?? {};
    if (t.namespaced) o.metadata.namespace = ns;
    if (!o.metadata.name && o.metadata.generateName) {
      o.metadata.name = `${o.metadata.generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    }
    validate(t, o);
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString();
    o.metadata.generation = 1;
    bump(o);
    if (t.kind === 'Deployment') {
      o.spec.replicas = o.spec.replicas ?? 1;
      o.spec.progressDeadlineSeconds = o.spec.progressDeadlineSeconds ?? 600;
      o.status = o.status ?? { observedGeneration: 0 };
    }
    if (t.kind === 'Job') {
      o.spec.backoffLimit = o.spec.backoffLimit ?? 6;
      o.status = { active: 0, startTime: new Date().toISOString() };
    }
    const s: Stored = { type: t, obj: o, owners: new Map(), lastProgress: Date.now() };
    store.set(keyOf(t, ns, o.metadata.name), s);
    return s;
  }

  function list(t: ResourceType, ns: string, labelSelector?: string): Stored[] {
    const want = (labelSelector ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('='));
    return [...store.values()].filter(
      (s) =>
        s.type === t &&
        (!t.namespaced || s.obj.metadata.namespace === ns) &&
        want.every(([k, v]) => s.obj.metadata.labels?.[k] === v),
    );
  }

  /** Updates an object after a write: generation on spec change, resourceVersion on any change. */
  function commit(s: Stored, next: Obj): boolean {
    const before = canonical(s.obj);
    next.metadata = { ...next.metadata };
    for (const k of ['uid', 'creationTimestamp', 'namespace', 'name', 'generation']) {
      next.metadata[k] = s.obj.metadata[k];
    }
    next.metadata.resourceVersion = s.obj.metadata.resourceVersion;
    next.apiVersion = s.obj.apiVersion;
    next.kind = s.obj.kind;
    next.status = s.obj.status;
    validate(s.type, next);
    if (canonical(next) === before) return false;
    if (canonical(next.spec) !== canonical(s.obj.spec)) next.metadata.generation += 1;
    bump(next);
    s.obj = next;
    return true;
  }

  // ---- controllers -------------------------------------------------------------------------

  function deploymentTick(s: Stored, now: number): void {
    const d = s.obj;
    const ns = d.metadata.namespace;
    const rsType = typeOfKind('ReplicaSet')!;
    const owned = list(rsType, ns).filter((r) =>
      r.obj.metadata.ownerReferences?.some((o: Obj) => o.uid === d.metadata.uid),
    );
    const hash = templateHash(d.spec.template);
    let changed = false;
    let progressed = false;
    let newRs = owned.find((r) => r.obj.metadata.labels?.['pod-template-hash'] === hash);
    const maxRev = Math.max(
      0,
      ...owned.map((r) =>
        Number(r.obj.metadata.annotations?.['deployment.kubernetes.io/revision']),
      ),
    );
    if ((d.status.observedGeneration ?? 0) < d.metadata.generation) {
      const cause = d.metadata.annotations?.['kubernetes.io/change-cause'];
      if (!newRs) {
        const template = clone(d.spec.template);
        template.metadata = template.metadata ?? {};
        template.metadata.labels = { ...template.metadata.labels, 'pod-template-hash': hash };
        newRs = insert(
          rsType,
          {
            metadata: {
              name: `${d.metadata.name}-${hash}`,
              labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
              annotations: { 'deployment.kubernetes.io/revision': String(maxRev + 1) },
              ownerReferences: [
                {
                  apiVersion: 'apps/v1',
                  kind: 'Deployment',
                  name: d.metadata.name,
                  uid: d.metadata.uid,
                  controller: true,
                },
              ],
            },
            spec: {
              replicas: 0,
              selector: {
                matchLabels: { ...d.spec.selector?.matchLabels, 'pod-template-hash': hash },
              },
              template,
            },
            status: { replicas: 0, readyReplicas: 0, availableReplicas: 0 },
          },
          ns,
        );
      } else if (
        Number(newRs.obj.metadata.annotations?.['deployment.kubernetes.io/revision']) !== maxRev
      ) {
        newRs.obj.metadata.annotations['deployment.kubernetes.io/revision'] = String(maxRev + 1);
        bump(newRs.obj);
      }
      if (cause) {
        newRs.obj.metadata.annotations['kubernetes.io/change-cause'] = cause;
      }
      d.metadata.annotations = {
        ...d.metadata.annotations,
        'deployment.kubernetes.io/revision':
          newRs.obj.metadata.annotations['deployment.kubernetes.io/revision'],
      };
      d.status.observedGeneration = d.metadata.generation;
      s.lastProgress = now;
      progressed = true;
      changed = true;
    }
    if (!newRs) return;
    const desired = d.spec.replicas;
    const olds = owned.filter((r) => r !== newRs);
    const oldTotal = () => olds.reduce((n, r) => n + r.obj.spec.replicas, 0);
    const bad = (d.spec.template.spec?.containers ?? []).some(
      (c: Obj) =>
        String(c.image).includes('bad') || stuck.has(`${d.metadata.name}=${String(c.image)}`),
    );
    const n = newRs.obj;
    const setRs = (r: Stored, replicas: number, ready: number) => {
      r.obj.spec.replicas = replicas;
      r.obj.status = { replicas, readyReplicas: ready, availableReplicas: ready };
      bump(r.obj);
      progressed = true;
    };
    if (n.spec.replicas < desired && n.spec.replicas + oldTotal() < desired + 1) {
      setRs(newRs, n.spec.replicas + 1, n.status.readyReplicas ?? 0);
    } else if (n.spec.replicas > desired) {
      setRs(newRs, desired, Math.min(desired, n.status.readyReplicas ?? 0));
    }
    if (!bad && (n.status.readyReplicas ?? 0) < n.spec.replicas) {
      setRs(newRs, n.spec.replicas, (n.status.readyReplicas ?? 0) + 1);
    }
    if (oldTotal() > 0 && (n.status.readyReplicas ?? 0) + oldTotal() > desired) {
      const old = olds.filter((r) => r.obj.spec.replicas > 0)[0];
      setRs(old, old.obj.spec.replicas - 1, Math.max(0, old.obj.spec.replicas - 1));
    }
    const all = [newRs, ...olds];
    const replicas = all.reduce((a, r) => a + r.obj.spec.replicas, 0);
    const available = all.reduce((a, r) => a + (r.obj.status.availableReplicas ?? 0), 0);
    const complete = n.status.readyReplicas === desired && oldTotal() === 0;
    const nowIso = new Date(now).toISOString();
    if (progressed) s.lastProgress = now;
    const deadline = options.progressDeadlineMs ?? d.spec.progressDeadlineSeconds * 1000;
    let progressing: Obj;
    if (complete) {
      progressing = {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${n.metadata.name}" has successfully progressed.`,
      };
    } else if (now - (s.lastProgress ?? now) > deadline) {
      progressing = {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: `ReplicaSet "${n.metadata.name}" has timed out progressing.`,
      };
    } else {
      progressing = {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: `ReplicaSet "${n.metadata.name}" is progressing.`,
      };
    }
    const availableCond = {
      type: 'Available',
      status: available >= desired ? 'True' : 'False',
      reason: available >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      message:
        available >= desired
          ? 'Deployment has minimum availability.'
          : 'Deployment does not have minimum availability.',
    };
    const status = {
      observedGeneration: d.status.observedGeneration,
      replicas,
      updatedReplicas: n.spec.replicas,
      readyReplicas: available,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, replicas - available),
      conditions: [availableCond, progressing],
    };
    const prev = d.status.conditions?.find((c: Obj) => c.type === 'Progressing');
    const same =
      JSON.stringify({ ...status, conditions: undefined }) ===
        JSON.stringify({ ...d.status, conditions: undefined }) &&
      prev?.reason === progressing.reason;
    if (!same || changed) {
      for (const c of status.conditions) {
        const old = d.status.conditions?.find((x: Obj) => x.type === c.type);
        Object.assign(c, {
          lastUpdateTime: nowIso,
          lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : nowIso,
        });
      }
      d.status = status;
      bump(d);
    }
  }

  function jobTick(s: Stored, now: number): void {
    const job = s.obj;
    if (job.status.conditions?.some((c: Obj) => c.type === 'Complete' || c.type === 'Failed'))
      return;
    const ns = job.metadata.namespace;
    const podType = typeOfKind('Pod')!;
    const pods = list(podType, ns, `batch.kubernetes.io/controller-uid=${job.metadata.uid}`);
    const running = pods.find((p) => ['Pending', 'Running'].includes(p.obj.status.phase));
    const container = job.spec.template.spec.containers[0];
    const failing = String(container.image).includes('fail');
    const nowIso = new Date(now).toISOString();
    if (!running) {
      const failed = pods.filter((p) => p.obj.status.phase === 'Failed').length;
      const succeeded = pods.filter((p) => p.obj.status.phase === 'Succeeded').length;
      job.status.failed = failed || undefined;
      job.status.succeeded = succeeded || undefined;
      job.status.active = 0;
      if (succeeded > 0) {
        job.status.completionTime = nowIso;
        job.status.conditions = [
          {
            type: 'SuccessCriteriaMet',
            status: 'True',
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
            lastTransitionTime: nowIso,
          },
          {
            type: 'Complete',
            status: 'True',
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
            lastTransitionTime: nowIso,
          },
        ];
      } else if (failed > job.spec.backoffLimit) {
        job.status.conditions = [
          {
            type: 'FailureTarget',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastTransitionTime: nowIso,
          },
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastTransitionTime: nowIso,
          },
        ];
      } else {
        const labels = {
          ...job.spec.template.metadata?.labels,
          'batch.kubernetes.io/controller-uid': job.metadata.uid,
          'batch.kubernetes.io/job-name': job.metadata.name,
          'controller-uid': job.metadata.uid,
          'job-name': job.metadata.name,
        };
        const pod = insert(
          podType,
          {
            metadata: {
              generateName: `${job.metadata.name}-`,
              labels,
              ownerReferences: [
                {
                  apiVersion: 'batch/v1',
                  kind: 'Job',
                  name: job.metadata.name,
                  uid: job.metadata.uid,
                  controller: true,
                },
              ],
            },
            spec: clone(job.spec.template.spec),
            status: { phase: 'Pending' },
          },
          ns,
        );
        (pod as Stored & { logs: string[] }).logs = [];
        job.status.active = 1;
      }
      bump(job);
      return;
    }
    const pod = running as Stored & { logs: string[] };
    const lines = [
      `starting ${container.name} (${container.image})`,
      ...[...(container.command ?? []), ...(container.args ?? [])].map((a: string) => `$ ${a}`),
      ...Array.from({ length: options.jobLogLines ?? 3 }, (_, i) => `step ${i + 1}`),
    ];
    if (pod.obj.status.phase === 'Pending') {
      pod.obj.status = { phase: 'Running', startTime: nowIso };
      bump(pod.obj);
    } else if (pod.logs.length < lines.length) {
      pod.logs.push(lines[pod.logs.length]);
    } else {
      pod.logs.push(
        failing ? 'error: migration failed: relation "billing_audit_log" already exists' : 'done',
      );
      pod.obj.status = {
        phase: failing ? 'Failed' : 'Succeeded',
        startTime: pod.obj.status.startTime,
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            state: {
              terminated: { exitCode: failing ? 1 : 0, reason: failing ? 'Error' : 'Completed' },
            },
          },
        ],
      };
      bump(pod.obj);
    }
  }

  const controllerApi: FakeControllerApi = {
    createPod: (pod, ns) => {
      const stored = insert(typeOfKind('Pod')!, pod, ns) as Stored & { logs: string[] };
      stored.logs = [];
      return { obj: stored.obj, logs: stored.logs };
    },
    get: (kind, ns, name) => {
      const t = typeOfKind(kind);
      return t ? store.get(keyOf(t, ns, name))?.obj : undefined;
    },
    bump,
  };

  function tick(): void {
    const now = Date.now();
    for (const s of [...store.values()]) {
      if (s.type.kind === 'Deployment') deploymentTick(s, now);
      else if (s.type.kind === 'Job' && !options.jobController?.tick(s.obj, controllerApi))
        jobTick(s, now);
    }
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  function discovery(group: string, version: string): Obj | undefined {
    const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
    if (!resources.length) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: resources.map((r) => ({
        name: r.plural,
        singularName: r.kind.toLowerCase(),
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      })),
    };
  }

  function apply(
    s: Stored | undefined,
    t: ResourceType,
    ns: string,
    name: string,
    body: Obj,
    manager: string | undefined,
    force: boolean,
    dryRun: boolean,
  ): { obj: Obj; created: boolean } {
    if (!manager)
      throw new StatusError(
        400,
        'BadRequest',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    if (body.kind && body.kind !== t.kind)
      throw new StatusError(
        400,
        'BadRequest',
        `kind ${body.kind} does not match the path (${t.kind})`,
      );
    if (body.metadata?.name && body.metadata.name !== name)
      throw new StatusError(
        400,
        'BadRequest',
        'the name of the object does not match the name on the URL',
      );
    const leaves = leafPaths({
      metadata: { labels: body.metadata?.labels, annotations: body.metadata?.annotations },
      spec: body.spec,
      data: body.data,
    }).filter(([p, v]) => v !== undefined && p !== '');
    if (!s) {
      const o = clone(body);
      o.metadata = { ...o.metadata, name };
      if (dryRun) {
        validate(t, o);
        return { obj: o, created: true };
      }
      const created = insert(t, o, ns);
      for (const [p] of leaves) created.owners.set(p, manager);
      created.obj.metadata.managedFields = [
        { manager, operation: 'Apply', apiVersion: apiVersionOf(t) },
      ];
      return { obj: created.obj, created: true };
    }
    const current = new Map(
      leafPaths({
        metadata: { labels: s.obj.metadata.labels, annotations: s.obj.metadata.annotations },
        spec: s.obj.spec,
        data: s.obj.data,
      }),
    );
    const conflicts = leaves.filter(([p, v]) => {
      const owner = s.owners.get(p);
      return owner && owner !== manager && current.has(p) && current.get(p) !== v;
    });
    if (conflicts.length && !force) {
      const msg = `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map(([p]) => `conflict with "${s.owners.get(p)}": ${p}`).join(', ')}`;
      throw new StatusError(409, 'Conflict', msg, {
        name,
        kind: t.kind,
        causes: conflicts.map(([p]) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${s.owners.get(p)}"`,
          field: p,
        })),
      });
    }
    const next = strategicMergePatch(s.obj, {
      metadata: { labels: body.metadata?.labels, annotations: body.metadata?.annotations },
      spec: body.spec,
      data: body.data,
    }) as Obj;
    if (dryRun) {
      validate(t, next);
      return { obj: next, created: false };
    }
    commit(s, next);
    for (const [p] of leaves) s.owners.set(p, manager);
    const managers = new Set(s.owners.values());
    s.obj.metadata.managedFields = [...managers].map((m) => ({
      manager: m,
      operation: m === manager ? 'Apply' : 'Update',
    }));
    return { obj: s.obj, created: false };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0];
    const send = (code: number, body: unknown, type = 'application/json') => {
      res.writeHead(code, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    let body: any;
    try {
      body = raw
        ? contentType === 'application/apply-patch+yaml'
          ? parseYaml(raw)
          : JSON.parse(raw)
        : undefined;
    } catch (e) {
      throw new StatusError(400, 'BadRequest', `cannot decode body: ${(e as Error).message}`);
    }
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      contentType,
      body,
    });
    fake.onRequest?.({ method: req.method ?? 'GET', path: url.pathname + url.search });
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      throw new StatusError(401, 'Unauthorized', 'Unauthorized');
    }
    const segs = url.pathname.split('/').filter(Boolean);
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
    } else
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (rest.length === 0) {
      const d = discovery(group, version);
      if (!d)
        throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
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
    if (!t)
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    const gr = t.group ? `${t.plural}.${t.group}` : t.plural;
    const notFound = () =>
      new StatusError(404, 'NotFound', `${gr} "${name}" not found`, {
        name,
        group: t.group,
        kind: t.plural,
      });
    const s = name ? store.get(keyOf(t, ns, name)) : undefined;
    const dryRun = url.searchParams.get('dryRun') === 'All';
    const method = req.method ?? 'GET';

    if (method === 'GET' && !name) {
      const items = list(t, ns, url.searchParams.get('labelSelector') ?? undefined).map(
        (x) => x.obj,
      );
      return send(200, {
        kind: `${t.kind}List`,
        apiVersion: apiVersionOf(t),
        metadata: { resourceVersion: String(rv) },
        items,
      });
    }
    if (method === 'GET' && sub === 'log' && t.kind === 'Pod') {
      if (!s) throw notFound();
      const logs: string[] = (s as Stored & { logs?: string[] }).logs ?? [];
      return send(200, logs.map((l) => `${l}\n`).join(''), 'text/plain');
    }
    if (method === 'GET') {
      if (!s) throw notFound();
      return send(200, s.obj);
    }
    if (method === 'POST' && !name) {
      if (!isObj(body)) throw new StatusError(400, 'BadRequest', 'body must be an object');
      const n = body.metadata?.name;
      if (n && store.get(keyOf(t, ns, n)))
        throw new StatusError(409, 'AlreadyExists', `${gr} "${n}" already exists`, {
          name: n,
          group: t.group,
          kind: t.plural,
        });
      if (dryRun) return send(201, body);
      const created = insert(t, clone(body), ns);
      return send(201, created.obj);
    }
    if (method === 'DELETE' && name) {
      if (!s) throw notFound();
      store.delete(keyOf(t, ns, name));
      if (t.kind === 'Job') options.jobController?.deleted?.(s.obj);
      return send(200, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Success',
        details: { name, kind: t.plural },
      });
    }
    if (method === 'PATCH' && name) {
      const manager = url.searchParams.get('fieldManager') ?? undefined;
      const force = url.searchParams.get('force') === 'true';
      if (contentType === 'application/apply-patch+yaml') {
        const r = apply(s, t, ns, name, body ?? {}, manager, force, dryRun);
        return send(r.created ? 201 : 200, r.obj);
      }
      if (force)
        throw new StatusError(
          422,
          'Invalid',
          'force: Forbidden: may not be specified for non-apply patch',
        );
      if (!s) throw notFound();
      let next: Obj;
      if (contentType === 'application/strategic-merge-patch+json')
        next = strategicMergePatch(s.obj, body) as Obj;
      else if (contentType === 'application/merge-patch+json')
        next = mergePatch(s.obj, body) as Obj;
      else if (contentType === 'application/json-patch+json') {
        if (!Array.isArray(body))
          throw new StatusError(400, 'BadRequest', 'json patch must be a list of operations');
        next = jsonPatch(s.obj, body);
      } else
        throw new StatusError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        );
      const wantRv = next.metadata?.resourceVersion;
      if (
        wantRv &&
        contentType !== 'application/json-patch+json' &&
        isObj(body) &&
        body.metadata?.resourceVersion &&
        wantRv !== s.obj.metadata.resourceVersion
      ) {
        throw new StatusError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${gr} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, group: t.group, kind: t.plural },
        );
      }
      if (dryRun) return send(200, next);
      const owner = manager ?? 'unknown';
      const patchedLeaves =
        contentType === 'application/json-patch+json' ? [] : leafPaths(body).map(([p]) => p);
      commit(s, next);
      for (const p of patchedLeaves) s.owners.set(p, owner);
      return send(200, s.obj);
    }
    throw new StatusError(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource`,
    );
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      const err =
        e instanceof StatusError ? e : new StatusError(500, 'InternalError', String(e?.stack ?? e));
      res.writeHead(err.code, { 'content-type': 'application/json' });
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
    kubeconfig({ namespace = 'default', context = 'fake' } = {}) {
      const user = options.token ? `    token: ${options.token}\n` : '    username: tester\n';
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
      const t = typeOfKind(obj.kind);
      if (!t) throw new Error(`fake: unknown kind ${obj.kind}`);
      const ns = obj.metadata?.namespace ?? 'default';
      store.delete(keyOf(t, ns, obj.metadata.name));
      return insert(t, clone(obj), ns).obj;
    },
    get(kind, namespace, name) {
      const t = typeOfKind(kind);
      return t ? store.get(keyOf(t, namespace, name))?.obj : undefined;
    },
    list(kind, namespace) {
      const t = typeOfKind(kind);
      return t ? list(t, namespace).map((s) => s.obj) : [];
    },
    close: () =>
      new Promise<void>((r) => {
        clearInterval(timer);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return fake;
}
