/**
 * Server-side apply of manifest files (kubernetes.io/docs/reference/using-api/server-side-apply/),
 * as `kubectl apply --server-side --field-manager=<m> [--force-conflicts]` does: each object is
 * sent as an `application/apply-patch+yaml` PATCH with `fieldManager`, through the client's
 * `KubernetesObjectApi` (which finds each kind's resource path by API discovery).
 *
 * Nothing is half applied by a user's mistake: every file is parsed and checked first (YAML,
 * `apiVersion`/`kind`/`metadata.name`, known kind, an existing namespace), then every object is
 * applied with `dryRun=All` and `fieldValidation=Strict` (the server validates against its
 * schema, refuses unknown fields and reports conflicts without persisting), and only then for
 * real.
 *
 * A Namespace and its contents in one apply: the server refuses a dry run of an object whose
 * namespace does not exist yet (404 `namespaces "<ns>" not found`, from the `NamespaceLifecycle`
 * admission plugin), so those objects are dry-run right after their Namespace is created; when
 * that dry run fails, the Namespaces this apply created (still empty) are deleted again.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isScalar, type Node } from 'yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ConfigError, type Logger, type SourceLocation } from '../errors.js';
import { apiStatus, connect, PatchStrategy, type ClusterOptions } from './client.js';
import { withRetries } from './transport.js';

/** One object read from a manifest file. */
export interface ManifestObject {
  object: KubernetesObject & Record<string, any>;
  location: SourceLocation;
}

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

function expand(path: string, input: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ConfigError(`no such file or directory: ${path}`, undefined, input);
  }
  if (!st.isDirectory()) return [path];
  // Like `kubectl apply -f <dir>`: the directory's own files, not its subdirectories.
  return readdirSync(path, { encoding: 'utf8' })
    .filter((f) => MANIFEST_EXTENSIONS.test(f))
    .sort()
    .map((f) => join(path, f))
    .filter((f) => statSync(f).isFile());
}

/**
 * Reads manifest files and directories (a directory's own `*.yaml`, `*.yml`, `*.json` files, not
 * its subdirectories, as `kubectl apply -f <dir>`), one or more
 * YAML documents per file.
 * @throws ConfigError with file and line for invalid YAML or an object without `apiVersion`,
 *   `kind` or `metadata.name` (or `metadata.generateName` when `allowGenerateName`)
 */
export function readManifests(
  paths: string[],
  input = 'manifests',
  options: { allowGenerateName?: boolean } = {},
): ManifestObject[] {
  if (paths.length === 0)
    throw new ConfigError('at least one file or directory is required', undefined, input);
  const out: ManifestObject[] = [];
  for (const file of paths.flatMap((p) => expand(p, input))) {
    const text = readFileSync(file, 'utf8');
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc });
    if (!Array.isArray(docs)) continue; // an empty stream
    for (const doc of docs) {
      if (doc.errors.length) {
        const err = doc.errors[0];
        const pos = lc.linePos(err.pos[0]);
        throw new ConfigError(
          `invalid YAML: ${err.message.split('\n')[0]}`,
          { file, line: pos.line, column: pos.col },
          input,
        );
      }
      if (doc.contents === null) continue;
      const start = (doc.contents as Node).range?.[0] ?? 0;
      const line = lc.linePos(start).line;
      const value = doc.toJS();
      if (value === null || value === undefined) continue;
      const lineOfKey = (key: string) => {
        if (!isMap(doc.contents)) return line;
        const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === key);
        const r = (pair?.key as Node | undefined)?.range;
        return r ? lc.linePos(r[0]).line : line;
      };
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError('a manifest must be a mapping (an object)', { file, line }, input);
      }
      for (const key of ['apiVersion', 'kind']) {
        if (typeof value[key] !== 'string' || !value[key]) {
          throw new ConfigError(`${key} is required`, { file, line }, input);
        }
      }
      const generated =
        options.allowGenerateName && typeof value.metadata?.generateName === 'string';
      if (!generated && (typeof value.metadata?.name !== 'string' || !value.metadata.name)) {
        throw new ConfigError(
          `${value.kind}: metadata.name is required`,
          { file, line: lineOfKey('metadata') },
          input,
        );
      }
      out.push({ object: value, location: { file, line } });
    }
  }
  if (out.length === 0)
    throw new ConfigError(`no objects found in ${paths.join(', ')}`, undefined, input);
  return out;
}

/** Options of {@link applyManifests}. */
export interface ApplyOptions extends ClusterOptions {
  /** Files and directories. */
  manifests: string[];
  /** Field manager recorded in `managedFields` (default `runbook-actions`). */
  fieldManager?: string;
  /**
   * Take over fields another manager owns (`--force-conflicts`). Default true: the workflow's
   * manifests are the source of truth. With false, a conflict is an error naming the fields.
   */
  force?: boolean;
  /** Only validate on the server (`dryRun=All`), change nothing. */
  dryRun?: boolean;
}

/** One applied object. */
export interface AppliedObject {
  kind: string;
  name: string;
  namespace?: string;
  /**
   * `created`, `configured` (resourceVersion changed), `unchanged`, `validated` (dry run), or
   * `not validated` (dry run of an object whose Namespace this apply would create: the server
   * cannot validate it before the Namespace exists).
   */
  action: 'created' | 'configured' | 'unchanged' | 'validated' | 'not validated';
  location: SourceLocation;
}

/** What {@link applyManifests} applied. */
export interface ApplyResult {
  fieldManager: string;
  dryRun: boolean;
  objects: AppliedObject[];
}

function label(o: KubernetesObject): string {
  return `${o.kind}/${o.metadata?.name}`;
}

/**
 * Applies manifests with server-side apply.
 * @throws ConfigError with the object's file and line for an unknown kind, an invalid object (422)
 *   or a field conflict (409) found in the dry run; nothing has been applied then
 */
export async function applyManifests(options: ApplyOptions, logger: Logger): Promise<ApplyResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const fieldManager = options.fieldManager || 'runbook-actions';
  const force = options.force ?? true;
  const items = readManifests(options.manifests);
  const namespaced = new Map<object, boolean>();
  const resource = (apiVersion: string, kind: string) =>
    (
      c.objects as unknown as {
        resource(a: string, k: string): Promise<{ namespaced: boolean } | undefined>;
      }
    ).resource(apiVersion, kind);
  for (const { object, location } of items) {
    let r;
    try {
      r = await resource(object.apiVersion!, object.kind!);
    } catch (e) {
      if (apiStatus(e)?.code === 404) r = undefined;
      else throw e;
    }
    if (!r)
      throw new ConfigError(
        `the server does not know kind ${object.kind} in ${object.apiVersion}`,
        location,
        'manifests',
      );
    if (r.namespaced)
      object.metadata = { ...object.metadata, namespace: object.metadata?.namespace || namespace };
    namespaced.set(object, r.namespaced);
  }
  // Namespaces the objects live in: existing, created by this apply, or a mistake.
  const inBatch = new Set(
    items
      .filter((m) => m.object.kind === 'Namespace' && m.object.apiVersion === 'v1')
      .map((m) => m.object.metadata!.name!),
  );
  const missing = new Set<string>();
  for (const m of items) {
    const ns = namespaced.get(m.object) ? m.object.metadata?.namespace : undefined;
    if (!ns || missing.has(ns)) continue;
    const exists = await namespaceExists(c, ns, logger);
    if (exists) continue;
    if (!inBatch.has(ns)) {
      throw new ConfigError(
        `${label(m.object)}: namespace '${ns}' does not exist (create it first, or add a v1 Namespace '${ns}' to the manifests)`,
        m.location,
        'manifests',
      );
    }
    missing.add(ns);
  }
  const deferred = (m: ManifestObject) =>
    namespaced.get(m.object) === true && missing.has(m.object.metadata?.namespace ?? '');
  const send = async (m: ManifestObject, dryRun: boolean) => {
    try {
      // Server-side apply is idempotent: repeating it after a lost answer is harmless.
      return await withRetries({ idempotent: true, what: `apply ${label(m.object)}`, logger }, () =>
        c.objects.patch(
          structuredClone(m.object),
          undefined,
          dryRun ? 'All' : undefined,
          fieldManager,
          force,
          PatchStrategy.ServerSideApply,
        ),
      );
    } catch (e) {
      const st = apiStatus(e);
      if (!st) throw e;
      if (st.code === 401 || st.code === 403)
        throw new ConfigError(
          `the API server refused ${label(m.object)} (${st.code}): ${st.message}`,
          undefined,
          'kubeconfig',
        );
      if (st.code >= 400 && st.code < 500) {
        const hint =
          st.code === 409
            ? ' (another field manager owns these fields; apply with force to take them over)'
            : '';
        throw new ConfigError(`${label(m.object)}: ${st.message}${hint}`, m.location, 'manifests');
      }
      throw new Error(`${label(m.object)}: API server answered ${st.code}: ${st.message}`, {
        cause: e,
      });
    }
  };
  const now = items.filter((m) => !deferred(m));
  const later = items.filter(deferred);
  await logger.group(`server-side dry run of ${now.length} object(s)`, async () => {
    for (const m of now) {
      await send(m, true);
      logger.info(`${label(m.object)} (${m.location.file}:${m.location.line}) ok`);
    }
    for (const m of later) {
      logger.info(
        `${label(m.object)} (${m.location.file}:${m.location.line}): dry run after namespace '${m.object.metadata?.namespace}' is created`,
      );
    }
  });
  if (options.dryRun) {
    return {
      fieldManager,
      dryRun: true,
      objects: items.map((m) => ({
        kind: m.object.kind!,
        name: m.object.metadata!.name!,
        namespace: m.object.metadata?.namespace,
        action: deferred(m) ? ('not validated' as const) : ('validated' as const),
        location: m.location,
      })),
    };
  }
  const objects: AppliedObject[] = [];
  const isNewNamespace = (m: ManifestObject) =>
    m.object.kind === 'Namespace' &&
    m.object.apiVersion === 'v1' &&
    missing.has(m.object.metadata!.name!);
  const first = items.filter(isNewNamespace);
  const rest = items.filter((m) => !isNewNamespace(m));
  for (const m of first) objects.push(await applyOne(m));
  if (later.length) {
    try {
      await logger.group(
        `server-side dry run of ${later.length} object(s) in new namespaces`,
        async () => {
          for (const m of later) {
            await send(m, true);
            logger.info(`${label(m.object)} (${m.location.file}:${m.location.line}) ok`);
          }
        },
      );
    } catch (e) {
      for (const m of first) {
        const name = m.object.metadata!.name!;
        await c.core.deleteNamespace({ name }).catch((err: unknown) => {
          logger.warning(
            `could not delete namespace '${name}' again: ${String((err as Error).message).split('\n')[0]}`,
          );
        });
      }
      if (e instanceof ConfigError) {
        throw new ConfigError(
          `${e.message.replace(/^input 'manifests': [^:]+:\d+: /, '')} (nothing else applied; the new namespace(s) ${first.map((m) => `'${m.object.metadata!.name}'`).join(', ')} created for this dry run were deleted again)`,
          e.location,
          'manifests',
        );
      }
      throw e;
    }
  }
  for (const m of rest) objects.push(await applyOne(m));
  return { fieldManager, dryRun: false, objects };

  async function applyOne(m: ManifestObject): Promise<AppliedObject> {
    let before: string | undefined;
    try {
      const cur = await c.objects.read({
        apiVersion: m.object.apiVersion!,
        kind: m.object.kind!,
        metadata: { name: m.object.metadata!.name!, namespace: m.object.metadata?.namespace },
      });
      before = cur.metadata?.resourceVersion;
    } catch (e) {
      if (apiStatus(e)?.code !== 404) throw e;
    }
    const out = await send(m, false);
    const action: AppliedObject['action'] =
      before === undefined
        ? 'created'
        : out.metadata?.resourceVersion === before
          ? 'unchanged'
          : 'configured';
    logger.info(
      `${label(m.object).toLowerCase()} ${action} (server-side, field manager ${fieldManager})`,
    );
    return {
      kind: m.object.kind!,
      name: m.object.metadata!.name!,
      namespace: m.object.metadata?.namespace,
      action,
      location: m.location,
    };
  }
}

/** Whether a namespace exists (a read of `v1/namespaces/<name>`; 404 means no). */
async function namespaceExists(
  c: ReturnType<typeof connect>,
  name: string,
  logger: Logger,
): Promise<boolean> {
  try {
    await withRetries({ idempotent: true, what: `read namespace '${name}'`, logger }, () =>
      c.core.readNamespace({ name }),
    );
    return true;
  } catch (e) {
    const st = apiStatus(e);
    if (st?.code === 404) return false;
    // No permission to read namespaces: let the dry run decide.
    if (st?.code === 403) return true;
    throw e;
  }
}
