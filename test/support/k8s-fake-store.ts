/**
 * The fake Kubernetes API server's storage: the resource types it serves, objects with
 * `resourceVersion`, `generation` and `uid` as the API conventions describe them
 * (github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md),
 * label and field selectors (kubernetes.io/docs/concepts/overview/working-with-objects/labels/
 * and .../field-selectors/), and the event history that watches replay
 * (kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
 */
import { randomUUID } from 'node:crypto';
import { canonical, clone, isObj, StatusError, type Obj } from './k8s-fake-patch.js';

/** One resource type the fake serves. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Subresources, e.g. `log` of pods, `status`, `scale`. */
  subresources?: string[];
  categories?: string[];
}

/** Every resource type of the fake: built-in kinds and the two traffic-routing CRDs. */
export const RESOURCES: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    subresources: ['log', 'status'],
    categories: ['all'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    subresources: ['status'],
    categories: ['all'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespaced: true,
    shortNames: ['cm'],
  },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    shortNames: ['sa'],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    subresources: ['status', 'scale'],
    categories: ['all'],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    subresources: ['status', 'scale'],
    categories: ['all'],
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    namespaced: true,
    subresources: ['status'],
    categories: ['all'],
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    namespaced: true,
    shortNames: ['cj'],
    subresources: ['status'],
    categories: ['all'],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    namespaced: true,
    shortNames: ['ing'],
    subresources: ['status'],
  },
  // Gateway API (gateway-api.sigs.k8s.io/reference/spec/) and Istio (istio.io/latest/docs/reference/config/networking/virtual-service/)
  {
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    kind: 'HTTPRoute',
    plural: 'httproutes',
    namespaced: true,
    subresources: ['status'],
    categories: ['gateway-api'],
  },
  {
    group: 'networking.istio.io',
    version: 'v1',
    kind: 'VirtualService',
    plural: 'virtualservices',
    namespaced: true,
    shortNames: ['vs'],
    categories: ['istio-io', 'networking-istio-io'],
  },
  {
    group: 'networking.istio.io',
    version: 'v1beta1',
    kind: 'VirtualService',
    plural: 'virtualservices',
    namespaced: true,
    shortNames: ['vs'],
    categories: ['istio-io', 'networking-istio-io'],
  },
];

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `plural.group` (or `plural` in the core group), as error messages name a resource. */
export function groupResource(t: ResourceType): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

/** One stored object and what the fake tracks beside it. */
export interface Stored {
  type: ResourceType;
  obj: Obj;
  /**
   * Server-side apply field ownership: manager → its operation and the leaf paths it owns
   * (a simplification of `managedFields`' `fieldsV1` sets).
   */
  managers: Map<string, { operation: 'Apply' | 'Update'; fields: Set<string>; time: string }>;
  /** Deployment: time of the last progress (epoch milliseconds). */
  lastProgress?: number;
  /** Pod: log lines per container. */
  logs?: Map<string, string[]>;
}

/** A change as a watch reports it. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
  resourceVersion: number;
  stored: Stored;
}

// ---- selectors ---------------------------------------------------------------------------

type Requirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

/**
 * Parses a label selector: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
 * @throws StatusError 400 for a malformed selector
 */
export function parseLabelSelector(s: string | null | undefined): Requirement[] {
  if (!s) return [];
  return splitTop(s).map((part) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = m[3]
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      return { key: m[1], op: m[2] as 'in' | 'notin', values };
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(part);
    if (m) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
    m = /^(!?)([\w./-]+)$/.exec(part);
    if (m) return { key: m[2], op: m[1] ? '!exists' : 'exists' };
    throw new StatusError(400, 'BadRequest', `unable to parse requirement: found '${part}'`);
  });
}

function matches(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    if (r.op === 'exists') return has;
    if (r.op === '!exists') return !has;
    if (r.op === 'in') return has && r.values.includes(l[r.key]);
    if (r.op === 'notin') return !has || !r.values.includes(l[r.key]);
    return false;
  });
}

/** Field selectors every resource supports, plus the ones some kinds add. */
const FIELDS: Record<string, (o: Obj) => string | undefined> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace,
};
const KIND_FIELDS: Record<string, Record<string, (o: Obj) => string | undefined>> = {
  Pod: {
    'status.phase': (o) => o.status?.phase,
    'spec.nodeName': (o) => o.spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => o.spec?.restartPolicy,
  },
  Job: { 'status.successful': (o) => String(o.status?.succeeded ?? 0) },
  ReplicaSet: { 'status.replicas': (o) => String(o.status?.replicas ?? 0) },
  Namespace: { 'status.phase': (o) => o.status?.phase },
};

/**
 * Parses a field selector (`metadata.name=x,metadata.namespace!=y`) for a kind.
 * @throws StatusError 400 for a field the kind does not support, worded as the API server does
 */
export function parseFieldSelector(
  s: string | null | undefined,
  kind: string,
): ((o: Obj) => boolean)[] {
  if (!s) return [];
  const fields = { ...FIELDS, ...KIND_FIELDS[kind] };
  return splitTop(s).map((part) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new StatusError(400, 'BadRequest', `invalid selector: '${part}'`);
    const get = fields[m[1]];
    if (!get) throw new StatusError(400, 'BadRequest', `field label not supported: ${m[1]}`);
    const want = m[3];
    return m[2] === '!=' ? (o: Obj) => get(o) !== want : (o: Obj) => get(o) === want;
  });
}

// ---- the store ---------------------------------------------------------------------------

/** The fake's objects, their resource versions and change history. */
export class Store {
  private rv = 1000;
  private readonly objects = new Map<string, Stored>();
  /** The last changes, for watches that start from a resourceVersion. */
  readonly history: WatchEvent[] = [];
  readonly listeners = new Set<(e: WatchEvent) => void>();

  /** The current resourceVersion of the whole store. */
  get resourceVersion(): number {
    return this.rv;
  }

  typeOfKind(kind: string, apiVersion?: string): ResourceType | undefined {
    return RESOURCES.find(
      (r) => r.kind === kind && (!apiVersion || apiVersionOf(r) === apiVersion),
    );
  }

  private key(t: ResourceType, ns: string, name: string): string {
    // One storage per group and kind: served versions are views of the same objects.
    return `${t.group}|${t.plural}|${t.namespaced ? ns : ''}|${name}`;
  }

  get(t: ResourceType, ns: string, name: string): Stored | undefined {
    return this.objects.get(this.key(t, ns, name));
  }

  /** Records a change: a new resourceVersion on the object and an event for watches. */
  private emit(type: WatchEvent['type'], s: Stored): void {
    const e: WatchEvent = {
      type,
      object: clone(s.obj),
      resourceVersion: Number(s.obj.metadata.resourceVersion),
      stored: s,
    };
    this.history.push(e);
    if (this.history.length > 5000) this.history.splice(0, 1000);
    for (const l of this.listeners) l(e);
  }

  /** Gives the object a new resourceVersion and tells watches (call after changing `s.obj`). */
  touch(s: Stored): void {
    s.obj.metadata.resourceVersion = String(++this.rv);
    this.emit('MODIFIED', s);
  }

  namespaceExists(ns: string): boolean {
    const t = this.typeOfKind('Namespace')!;
    return this.objects.has(this.key(t, '', ns));
  }

  /**
   * Stores a new object: uid, creationTimestamp, generation 1, a resourceVersion; a
   * `generateName` becomes a name. The caller has validated it.
   */
  insert(t: ResourceType, o: Obj, ns: string): Stored {
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
    o.metadata = o.metadata ?? {};
    if (t.namespaced) o.metadata.namespace = ns;
    else delete o.metadata.namespace;
    if (!o.metadata.name && o.metadata.generateName) {
      o.metadata.name = `${o.metadata.generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    }
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.generation = 1;
    o.metadata.resourceVersion = String(++this.rv);
    const s: Stored = { type: t, obj: o, managers: new Map(), lastProgress: Date.now() };
    this.objects.set(this.key(t, ns, o.metadata.name), s);
    this.emit('ADDED', s);
    return s;
  }

  /**
   * Replaces an object's content after a write: identity fields and status are kept, the
   * generation is incremented when `spec` changed, the resourceVersion when anything did.
   * @returns whether anything changed
   */
  commit(s: Stored, next: Obj, options: { keepStatus?: boolean } = {}): boolean {
    const before = canonical(s.obj);
    next.metadata = { ...next.metadata };
    for (const k of ['uid', 'creationTimestamp', 'namespace', 'name', 'generation']) {
      if (s.obj.metadata[k] === undefined) delete next.metadata[k];
      else next.metadata[k] = s.obj.metadata[k];
    }
    next.metadata.resourceVersion = s.obj.metadata.resourceVersion;
    next.apiVersion = s.obj.apiVersion;
    next.kind = s.obj.kind;
    if (options.keepStatus !== false) {
      if (s.obj.status === undefined) delete next.status;
      else next.status = s.obj.status;
    }
    if (canonical(next) === before) return false;
    if (canonical(next.spec) !== canonical(s.obj.spec)) next.metadata.generation += 1;
    s.obj = next;
    this.touch(s);
    return true;
  }

  remove(s: Stored): void {
    this.objects.delete(this.key(s.type, s.obj.metadata.namespace ?? '', s.obj.metadata.name));
    s.obj.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', s);
  }

  /** Objects of a type in a namespace ('' = every namespace), filtered by selectors. */
  list(
    t: ResourceType,
    ns: string,
    labelSelector?: string | null,
    fieldSelector?: string | null,
  ): Stored[] {
    const labels = parseLabelSelector(labelSelector);
    const fields = parseFieldSelector(fieldSelector, t.kind);
    return [...this.objects.values()].filter(
      (s) =>
        s.type.group === t.group &&
        s.type.plural === t.plural &&
        (!t.namespaced || !ns || s.obj.metadata.namespace === ns) &&
        matches(labels, s.obj.metadata.labels) &&
        fields.every((f) => f(s.obj)),
    );
  }

  /** A filter for watch events with the same rules as {@link list}. */
  filter(
    t: ResourceType,
    ns: string,
    labelSelector?: string | null,
    fieldSelector?: string | null,
  ): (e: WatchEvent) => boolean {
    const labels = parseLabelSelector(labelSelector);
    const fields = parseFieldSelector(fieldSelector, t.kind);
    return (e) =>
      e.stored.type.group === t.group &&
      e.stored.type.plural === t.plural &&
      (!t.namespaced || !ns || e.object.metadata.namespace === ns) &&
      matches(labels, e.object.metadata.labels) &&
      fields.every((f) => f(e.object));
  }

  all(): Stored[] {
    return [...this.objects.values()];
  }
}

/** Whether `v` is a plain JSON object (re-exported for the controllers). */
export { isObj };
