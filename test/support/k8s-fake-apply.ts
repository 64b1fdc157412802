/**
 * Field ownership in the fake API server, after kubernetes.io/docs/reference/using-api/server-side-apply/:
 *
 * - every write records, per field manager, the fields it set: `operation: Apply` for
 *   `application/apply-patch+yaml`, `Update` for the other writes (which take over the fields
 *   they change from every other manager);
 * - an apply that sets a field another manager owns to a different value is a 409 Conflict
 *   naming each field and its manager ("conflict with \"<manager>\" using <apiVersion>: .spec.x");
 *   with `force=true` the fields move to the applier and are removed from the other manager's
 *   entry, whose `operation` stays what it was;
 * - a field an applier set before and leaves out of its next apply is removed from the object
 *   when no other manager owns it ("Field removal");
 * - `metadata.managedFields` lists each manager with `operation`, `apiVersion`, `time`,
 *   `fieldsType: FieldsV1` and its `fieldsV1` set.
 *
 * Simplification: a field is a leaf path of nested maps; a list is one field (real apply merges
 * lists with `x-kubernetes-list-map-keys` item by item).
 */
import { clone, isObj, StatusError, strategicMergePatch, type Obj } from './k8s-fake-patch.js';
import { apiVersionOf, type Stored } from './k8s-fake-store.js';

/** The parts of an object that carry fields a manager can own. */
export function ownedPart(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata') {
      const m: Obj = {};
      if (v?.labels !== undefined) m.labels = v.labels;
      if (v?.annotations !== undefined) m.annotations = v.annotations;
      if (Object.keys(m).length) out.metadata = m;
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** Leaf paths (`.spec.template.spec.containers`) and their JSON values. */
export function leafPaths(v: unknown, prefix = ''): [string, string][] {
  if (isObj(v)) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0 && prefix) return [];
    return entries.flatMap(([k, x]) => leafPaths(x, `${prefix}.${k}`));
  }
  if (v === undefined) return [];
  return [[prefix, JSON.stringify(v)]];
}

function removePath(o: Obj, path: string): void {
  const parts = path.split('.').slice(1);
  const last = parts.pop()!;
  const chain: Obj[] = [o];
  let cur: any = o;
  for (const p of parts) {
    cur = cur?.[p];
    if (!isObj(cur)) return;
    chain.push(cur);
  }
  delete cur[last];
  // drop maps left empty by the removal
  for (let i = parts.length - 1; i >= 0; i--) {
    if (Object.keys(chain[i + 1]).length === 0) delete chain[i][parts[i]];
    else break;
  }
}

function fieldsV1(paths: Iterable<string>): Obj {
  const out: Obj = {};
  for (const p of paths) {
    let cur = out;
    for (const k of p.split('.').slice(1)) cur = cur[`f:${k}`] ??= {};
  }
  return out;
}

/** Writes `metadata.managedFields` from the stored ownership. */
export function writeManagedFields(s: Stored): void {
  const entries = [...s.managers.entries()].filter(([, m]) => m.fields.size > 0);
  if (entries.length === 0) {
    delete s.obj.metadata.managedFields;
    return;
  }
  s.obj.metadata.managedFields = entries.map(([manager, m]) => ({
    manager,
    operation: m.operation,
    apiVersion: apiVersionOf(s.type),
    time: m.time,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldsV1(m.fields),
  }));
}

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * Records a non-apply write by `manager`: the fields whose value it changed become its own
 * (operation `Update`) and leave every other manager's set.
 */
export function recordUpdate(s: Stored, before: Obj | undefined, manager: string): void {
  const old = new Map(before ? leafPaths(ownedPart(before)) : []);
  const changed = leafPaths(ownedPart(s.obj))
    .filter(([p, v]) => old.get(p) !== v)
    .map(([p]) => p);
  if (!before) for (const p of leafPaths(ownedPart(s.obj)).map(([p]) => p)) changed.push(p);
  if (changed.length === 0 && before) return;
  for (const [m, e] of s.managers) if (m !== manager) for (const p of changed) e.fields.delete(p);
  const mine = s.managers.get(manager);
  const fields = new Set([...(mine?.operation === 'Update' ? mine.fields : []), ...changed]);
  // A manager that both applies and updates has two entries in a real server; the fake keeps
  // the apply entry and records the update's fields in it when the manager already applied.
  if (mine?.operation === 'Apply') for (const p of changed) mine.fields.add(p);
  else s.managers.set(manager, { operation: 'Update', fields, time: nowIso() });
  writeManagedFields(s);
}

/**
 * Computes the object a server-side apply results in, and the ownership after it.
 * @param current the stored object (undefined: the apply creates it)
 * @returns the new object content and a function that records the ownership once it is stored
 * @throws StatusError 409 Conflict (without force) naming every conflicting field
 */
export function serverSideApply(
  current: Stored | undefined,
  body: Obj,
  manager: string,
  force: boolean,
): { next: Obj; record: (s: Stored) => void } {
  const applied = new Map(leafPaths(ownedPart(body)));
  if (!current) {
    const next = clone(body);
    return {
      next,
      record: (s) => {
        s.managers.set(manager, {
          operation: 'Apply',
          fields: new Set(applied.keys()),
          time: nowIso(),
        });
        writeManagedFields(s);
      },
    };
  }
  const now = new Map(leafPaths(ownedPart(current.obj)));
  const conflicts: [string, string][] = [];
  for (const [p, v] of applied) {
    for (const [m, e] of current.managers) {
      if (m !== manager && e.fields.has(p) && now.has(p) && now.get(p) !== v)
        conflicts.push([p, m]);
    }
  }
  if (conflicts.length && !force) {
    const av = apiVersionOf(current.type);
    const msg = `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map(([p, m]) => `conflict with "${m}" using ${av}: ${p}`).join('\n')}`;
    throw new StatusError(409, 'Conflict', msg, {
      name: current.obj.metadata.name,
      group: current.type.group || undefined,
      kind: current.type.plural,
      causes: conflicts.map(([p, m]) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with "${m}" using ${av}`,
        field: p,
      })),
    });
  }
  const previous = current.managers.get(manager);
  const othersOwn = (p: string) =>
    [...current.managers.entries()].some(([m, e]) => m !== manager && e.fields.has(p));
  const removed =
    previous?.operation === 'Apply'
      ? [...previous.fields].filter((p) => !applied.has(p) && !othersOwn(p))
      : [];
  const next = strategicMergePatch(current.obj, ownedPart(body)) as Obj;
  for (const p of removed) removePath(next, p);
  return {
    next,
    record: (s) => {
      for (const [m, e] of s.managers)
        if (m !== manager) for (const p of applied.keys()) e.fields.delete(p);
      s.managers.set(manager, {
        operation: 'Apply',
        fields: new Set(applied.keys()),
        time: nowIso(),
      });
      writeManagedFields(s);
    },
  };
}
