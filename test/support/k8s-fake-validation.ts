/**
 * Validation of objects written to the fake Kubernetes API server, from published schemas rather
 * than hand-written rules where a schema says it:
 *
 * - types, formats and required fields: the JSON schemas generated from the Kubernetes OpenAPI
 *   document by `kubernetes-models` (built-in kinds), `@kubernetes-models/gateway-api`
 *   (HTTPRoute) and `@kubernetes-models/istio` (VirtualService);
 * - unknown fields (`fieldValidation=Strict`, and always for server-side apply): the OpenAPI
 *   model attribute maps that ship with `@kubernetes/client-node` (`V1Deployment.getAttributeTypeMap()`...);
 * - the checks the schema cannot express, from the API server's validation code
 *   (k8s.io/kubernetes `pkg/apis/apps/validation`, `pkg/apis/core/validation`,
 *   `pkg/apis/batch/validation`): DNS-1123 names, a Deployment selector that selects its
 *   template, container images, unique container names, a Job's restart policy, port ranges.
 *
 * Error shapes follow the API server: a value of the wrong type is a decoding error (400
 * BadRequest), an unknown field under `Strict` is 400 `strict decoding error: unknown field`
 * (server-side apply: `field not declared in schema`), and a semantic error is 422 Invalid
 * `<Kind>.<group> "<name>" is invalid: <field>: <message>` with one cause per field.
 */
import * as k8s from '@kubernetes/client-node';
import { isObj, StatusError, type Obj } from './k8s-fake-patch.js';
import { type ResourceType } from './k8s-fake-store.js';

type Validator = (data: Obj) => AjvError[];
interface AjvError {
  instancePath: string;
  keyword: string;
  params: Obj;
  message?: string;
}

/** apiVersion/kind → the model module and class of its schema. */
const MODEL_MODULES: Record<string, [string, string]> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'Namespace'],
  'v1/Pod': ['kubernetes-models/v1/Pod', 'Pod'],
  'v1/Service': ['kubernetes-models/v1/Service', 'Service'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'ConfigMap'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'Secret'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'ServiceAccount'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'Deployment'],
  'apps/v1/ReplicaSet': ['kubernetes-models/apps/v1/ReplicaSet', 'ReplicaSet'],
  'batch/v1/Job': ['kubernetes-models/batch/v1/Job', 'Job'],
  'batch/v1/CronJob': ['kubernetes-models/batch/v1/CronJob', 'CronJob'],
  'networking.k8s.io/v1/Ingress': ['kubernetes-models/networking.k8s.io/v1/Ingress', 'Ingress'],
  'gateway.networking.k8s.io/v1/HTTPRoute': [
    '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute',
    'HTTPRoute',
  ],
  // Istio's v1 VirtualService has the v1beta1 schema (istio.io: "v1 is identical to v1beta1").
  'networking.istio.io/v1/VirtualService': [
    '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService',
    'VirtualService',
  ],
  'networking.istio.io/v1beta1/VirtualService': [
    '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService',
    'VirtualService',
  ],
};

const validators = new Map<string, Validator>();

/** Loads the schema models once (they are ES modules, so this is asynchronous). */
export async function loadSchemas(): Promise<void> {
  if (validators.size) return;
  await Promise.all(
    Object.entries(MODEL_MODULES).map(async ([k, [m, cls]]) => {
      const mod = (await import(m)) as Record<string, new (o: Obj) => { validate(): void }>;
      const Model = mod[cls];
      const [apiVersion] = [k.slice(0, k.lastIndexOf('/'))];
      validators.set(k, (data) => {
        try {
          new Model({ ...data, apiVersion, kind: cls }).validate();
          return [];
        } catch (e) {
          const errors = (e as { errors?: AjvError[] }).errors;
          if (!errors) throw e;
          return errors;
        }
      });
    }),
  );
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface Cause {
  reason: string;
  message: string;
  field: string;
}

/** `spec/template/spec/containers/0/image` → `spec.template.spec.containers[0].image`. */
function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function goType(t: string): string {
  return t === 'integer' ? 'int32' : t === 'object' ? 'map[string]interface {}' : t;
}

/**
 * Walks `value` against the client-node model `type` and returns the paths of fields the model
 * does not declare (`spec.template.spec.containers[0].imagee`).
 */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  if (value === null || value === undefined) return [];
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    return Array.isArray(value)
      ? value.flatMap((v, i) => unknownFields(v, arr[1], `${path}[${i}]`))
      : [];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return isObj(value)
      ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1], `${path}.${k}`))
      : [];
  }
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Obj[] }>)[type];
  if (!model?.getAttributeTypeMap || !isObj(value)) return [];
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type as string]));
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const at = attrs.get(k);
    const p = path ? `${path}.${k}` : k;
    if (!at) out.push(p);
    else out.push(...unknownFields(v, at, p));
  }
  return out;
}

/** The client-node model name of a built-in kind (`V1Deployment`), if there is one. */
function modelName(t: ResourceType): string | undefined {
  if (t.version !== 'v1') return undefined;
  if (!['', 'apps', 'batch', 'networking.k8s.io'].includes(t.group)) return undefined;
  return `V1${t.kind}`;
}

/** How a write reached the server, for the wording of decoding errors. */
export type WriteKind = 'apply' | 'json';

/**
 * Checks an object about to be stored (or dry-run).
 * @param strict `fieldValidation=Strict`: refuse unknown fields (server-side apply always does)
 * @throws StatusError 400 for a wrong type or (strict) an unknown field, 422 for an invalid value
 */
export function validateObject(t: ResourceType, o: Obj, how: WriteKind, strict: boolean): void {
  const gvk = `${t.group ? `${t.group}/` : ''}${t.version}/${t.kind}`;
  const typed = `(${t.group ? `${t.group}/` : ''}${t.version}, Kind=${t.kind})`;
  const name = o.metadata?.name;
  const model = modelName(t);
  if (model && (strict || how === 'apply')) {
    const { status: _s, ...rest } = o;
    const unknown = unknownFields(rest, model);
    if (unknown.length) {
      throw new StatusError(
        400,
        'BadRequest',
        how === 'apply'
          ? `failed to create typed patch object ${typed}: ${unknown.map((u) => `.${u}: field not declared in schema`).join(', ')}`
          : `strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`,
      );
    }
  }
  const causes: Cause[] = [];
  const validate = validators.get(gvk);
  if (validate) {
    for (const e of validate(o)) {
      const field = fieldPath(e.instancePath);
      if (e.keyword === 'type' || e.keyword === 'format') {
        const want = String(e.params.type ?? e.params.format);
        throw new StatusError(
          400,
          'BadRequest',
          how === 'apply'
            ? `failed to create typed patch object ${typed}: .${field}: expected ${want}, got ${typeof at(o, e.instancePath)}`
            : `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: json: cannot unmarshal ${typeof at(o, e.instancePath)} into Go struct field .${field} of type ${goType(want)}`,
        );
      }
      if (e.keyword === 'required') {
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: field ? `${field}.${e.params.missingProperty}` : String(e.params.missingProperty),
        });
      } else if (e.keyword === 'enum') {
        causes.push({
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(at(o, e.instancePath))}: supported values: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
          field,
        });
      } else {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(at(o, e.instancePath))}: ${e.message ?? e.keyword}`,
          field,
        });
      }
    }
  }
  semantic(t, o, causes);
  if (causes.length) {
    const gk = t.group ? `${t.kind}.${t.group}` : t.kind;
    const seen = new Set<string>();
    const unique = causes.filter((c) => {
      const k = `${c.field}|${c.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    throw new StatusError(
      422,
      'Invalid',
      `${gk} "${name ?? ''}" is invalid: ${unique.length > 1 ? '[' : ''}${unique.map((c) => `${c.field}: ${c.message}`).join(', ')}${unique.length > 1 ? ']' : ''}`,
      { name, group: t.group || undefined, kind: t.kind, causes: unique },
    );
  }
}

function at(o: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .filter(Boolean)
    .reduce<unknown>((v, p) => (v as Obj | undefined)?.[p], o);
}

function podSpecChecks(spec: Obj | undefined, base: string, causes: Cause[], kind: string): void {
  if (!isObj(spec)) return;
  const names = new Set<string>();
  const all: [Obj, string][] = [
    ...((spec.initContainers ?? []) as Obj[]).map((c, i): [Obj, string] => [
      c,
      `${base}.initContainers[${i}]`,
    ]),
    ...((spec.containers ?? []) as Obj[]).map((c, i): [Obj, string] => [
      c,
      `${base}.containers[${i}]`,
    ]),
  ];
  if (!Array.isArray(spec.containers) || spec.containers.length === 0)
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value',
      field: `${base}.containers`,
    });
  for (const [c, p] of all) {
    if (!isObj(c)) continue;
    if (typeof c.name !== 'string' || !DNS1123_LABEL.test(c.name))
      causes.push({
        reason: c.name ? 'FieldValueInvalid' : 'FieldValueRequired',
        message: c.name
          ? `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`
          : 'Required value',
        field: `${p}.name`,
      });
    else if (names.has(c.name))
      causes.push({
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: "${c.name}"`,
        field: `${p}.name`,
      });
    names.add(c.name);
    if (!c.image)
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${p}.image` });
    for (const [j, port] of ((c.ports ?? []) as Obj[]).entries()) {
      const n = port?.containerPort;
      if (typeof n === 'number' && (n < 1 || n > 65535))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${n}: must be between 1 and 65535, inclusive`,
          field: `${p}.ports[${j}].containerPort`,
        });
    }
  }
  if (kind === 'Job' && !['OnFailure', 'Never'].includes(spec.restartPolicy)) {
    causes.push(
      spec.restartPolicy
        ? {
            reason: 'FieldValueNotSupported',
            message: `Unsupported value: "${spec.restartPolicy}": supported values: "OnFailure", "Never"`,
            field: `${base}.restartPolicy`,
          }
        : {
            reason: 'FieldValueRequired',
            message: 'Required value: valid values: "OnFailure", "Never"',
            field: `${base}.restartPolicy`,
          },
    );
  }
}

function semantic(t: ResourceType, o: Obj, causes: Cause[]): void {
  const name = o.metadata?.name;
  const nameRule =
    t.kind === 'Namespace' || t.kind === 'Service' ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  if (typeof name !== 'string' || !name) {
    if (!o.metadata?.generateName)
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      });
  } else if (!nameRule.test(name) || name.length > (nameRule === DNS1123_LABEL ? 63 : 253)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 ${nameRule === DNS1123_LABEL ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      field: 'metadata.name',
    });
  }
  for (const [k, v] of Object.entries((o.metadata?.labels ?? {}) as Obj)) {
    if (typeof v === 'string' && v.length > 63)
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${v}": must be no more than 63 characters`,
        field: `metadata.labels`,
      });
    if (!/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k))
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'`,
        field: 'metadata.labels',
      });
  }
  const spec = o.spec;
  if (t.kind === 'Deployment' || t.kind === 'ReplicaSet') {
    if (typeof spec?.replicas === 'number' && spec.replicas < 0)
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
        field: 'spec.replicas',
      });
    const sel: Obj = spec?.selector?.matchLabels ?? {};
    const labels: Obj = spec?.template?.metadata?.labels ?? {};
    if (
      isObj(spec?.selector) &&
      Object.keys(sel).length === 0 &&
      !(spec.selector.matchExpressions ?? []).length
    )
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: 'spec.selector',
      });
    else if (isObj(spec?.selector) && Object.entries(sel).some(([k, v]) => labels[k] !== v))
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: map[string]string{${Object.entries(labels)
          .map(([k, v]) => `"${k}":"${v}"`)
          .join(', ')}}: \`selector\` does not match template \`labels\``,
        field: 'spec.template.metadata.labels',
      });
    podSpecChecks(spec?.template?.spec, 'spec.template.spec', causes, t.kind);
  } else if (t.kind === 'Job') {
    podSpecChecks(spec?.template?.spec, 'spec.template.spec', causes, 'Job');
    if (spec?.completionMode === 'Indexed' && spec?.completions == null)
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: when completion mode is Indexed',
        field: 'spec.completions',
      });
  } else if (t.kind === 'CronJob') {
    podSpecChecks(
      spec?.jobTemplate?.spec?.template?.spec,
      'spec.jobTemplate.spec.template.spec',
      causes,
      'Job',
    );
  } else if (t.kind === 'Pod') {
    podSpecChecks(spec, 'spec', causes, 'Pod');
  }
}
