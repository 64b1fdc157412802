/**
 * The fake Kubernetes API server's patch formats and its `Status` error
 * (kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):
 * RFC 7386 JSON merge patch, strategic merge patch (lists merged by their `patchMergeKey`) and
 * RFC 6902 JSON patch, with the API server's error shapes.
 */

/** A JSON object. */
export type Obj = Record<string, any>;

export const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const clone = <T>(v: T): T => structuredClone(v);

/**
 * An error answered as a Kubernetes `Status` object (API conventions, "Response Status Kind").
 */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers?: Record<string, string>,
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

/** 404 NotFound for `resource.group "name"`, as `errors.NewNotFound` words it. */
export function notFound(group: string, plural: string, name: string): StatusError {
  const gr = group ? `${plural}.${group}` : plural;
  return new StatusError(404, 'NotFound', `${gr} "${name}" not found`, {
    name,
    group: group || undefined,
    kind: plural,
  });
}

/** Patch merge keys of the strategic merge patch (from the API types' `patchMergeKey` tags). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  conditions: 'type',
  tolerations: 'key',
  hostAliases: 'ip',
};

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

/**
 * The 422 a real API server answers when a JSON patch cannot be applied: the generic message of
 * `errors.NewGenericServerResponse` with the json-patch library's error as the only cause, of
 * type `UnexpectedServerResponse` (k8s.io/apiserver `pkg/endpoints/handlers/patch.go`,
 * `jsonPatcher.applyJSPatch`; k8s.io/apimachinery `pkg/api/errors/errors.go`).
 */
function jsonPatchRejected(libraryMessage: string): StatusError {
  return new StatusError(
    422,
    'Invalid',
    'the server rejected our request due to an error in our request',
    { causes: [{ reason: 'UnexpectedServerResponse', message: libraryMessage }] },
  );
}

/**
 * RFC 6902 JSON patch (add, replace, remove, test), with the error texts of
 * github.com/evanphx/json-patch, the library the API server uses.
 * @throws StatusError 422 as a real server answers a failed operation
 */
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
      throw jsonPatchRejected(`${op.op} operation does not apply: doc is missing path: ${op.path}`);
    const key: any = Array.isArray(parent) ? (last === '-' ? parent.length : Number(last)) : last;
    if (op.op === 'test') {
      if (JSON.stringify(parent[key]) !== JSON.stringify(op.value))
        throw jsonPatchRejected(`testing value ${op.path} failed: test failed`);
    } else if (op.op === 'remove') {
      if (!(key in parent))
        throw jsonPatchRejected(`remove operation does not apply: doc is missing path: ${op.path}`);
      if (Array.isArray(parent)) parent.splice(key, 1);
      else delete parent[key];
    } else if (op.op === 'add' && Array.isArray(parent)) parent.splice(key, 0, clone(op.value));
    else if (op.op === 'add') parent[key] = clone(op.value);
    else if (op.op === 'replace') {
      if (!(key in parent))
        throw jsonPatchRejected(
          `replace operation does not apply: doc is missing key: ${op.path}: missing value`,
        );
      parent[key] = clone(op.value);
    } else throw new StatusError(400, 'BadRequest', `Unexpected kind: ${op.op}`);
  }
  return doc;
}

/** Key-order independent JSON, so equal objects compare equal whatever order a client sent. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    isObj(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

/**
 * An object without the values a typed client adds when it encodes an unset field: `null`,
 * empty objects and empty lists (`creationTimestamp: null`, `resources: {}`), so that a template
 * sent back by kubectl compares equal to the stored one, as the API server's decoding and
 * defaulting make them equal.
 */
export function pruneEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneEmpty);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    const p = pruneEmpty(x);
    if (p === null || p === undefined) continue;
    if (isObj(p) && Object.keys(p).length === 0) continue;
    if (Array.isArray(p) && p.length === 0) continue;
    out[k] = p;
  }
  return out;
}
