/**
 * Deployment rollouts: `set-image`, `wait` and `undo`, with the semantics of
 * `kubectl set image`, `kubectl rollout status` and `kubectl rollout undo`
 * (kubectl's `polymorphichelpers/rollout_status.go` and `polymorphichelpers/rollback.go`).
 */
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { ConfigError, type Logger } from '../errors.js';
import {
  call,
  connect,
  patchAs,
  PatchStrategy,
  pollSettings,
  RolloutError,
  apiStatus,
  type Clients,
  type ClusterOptions,
  type PollOptions,
} from './client.js';
import { idempotent } from './request.js';
import { currentDeadline, isTimeout, withDeadline, withRetries } from './transport.js';

/** Annotation the Deployment controller puts on Deployments and ReplicaSets. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Annotation `kubectl --record` and `kubectl annotate` use for the reason of a change. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

/** A container → image map, e.g. `{ api: 'valuecanvas/api:v1.2.0' }`. */
export type ImageMap = Record<string, string>;

/**
 * Parses `container=image:tag` entries (one per item, as `kubectl set image` takes them).
 * `*=image` sets every container.
 * @throws ConfigError (input `images`) for an entry without `=` or with an empty side
 */
export function parseImages(entries: string[], input = 'images'): ImageMap {
  const out: ImageMap = {};
  for (const e of entries) {
    const i = e.indexOf('=');
    const name = e.slice(0, i).trim();
    const image = e.slice(i + 1).trim();
    if (i <= 0 || !name || !image || /\s/.test(image)) {
      throw new ConfigError(
        `'${e}' is not container=image (e.g. api=valuecanvas/api:v1.2.0)`,
        undefined,
        input,
      );
    }
    out[name] = image;
  }
  if (Object.keys(out).length === 0)
    throw new ConfigError('at least one container=image is required', undefined, input);
  return out;
}

/** The images of a pod template's containers and init containers. */
export function templateImages(template: V1PodTemplateSpec | undefined): ImageMap {
  const out: ImageMap = {};
  for (const c of [
    ...(template?.spec?.initContainers ?? []),
    ...(template?.spec?.containers ?? []),
  ]) {
    out[c.name] = c.image ?? '';
  }
  return out;
}

/** Revision number of a Deployment or ReplicaSet (0 when the annotation is missing). */
export function revisionOf(o: { metadata?: { annotations?: Record<string, string> } }): number {
  const v = Number(o.metadata?.annotations?.[REVISION_ANNOTATION]);
  return Number.isFinite(v) ? v : 0;
}

async function readDeployment(
  c: Clients,
  name: string,
  namespace: string,
  logger?: Logger,
): Promise<V1Deployment> {
  return idempotent(
    `deployment '${name}' in namespace '${namespace}'`,
    'deployment',
    () => c.apps.readNamespacedDeployment({ name, namespace }),
    logger,
  );
}

/** Sleeps `ms`, or less when the surrounding deadline ends sooner. */
async function pause(poll: { sleep: (ms: number) => Promise<void> }, ms: number): Promise<void> {
  const deadline = currentDeadline();
  const left = deadline === undefined ? ms : Math.max(0, deadline - Date.now());
  await poll.sleep(Math.min(ms, left));
}

/** Options of {@link setImage}. */
export interface SetImageOptions extends ClusterOptions, PollOptions {
  deployment: string;
  /** Container name → new image. `*` means every container. */
  images: ImageMap;
  /** Recorded as the `kubernetes.io/change-cause` annotation (shown by `kubectl rollout history`). */
  changeCause?: string;
}

/** What {@link setImage} changed. */
export interface SetImageResult {
  deployment: string;
  namespace: string;
  /** Images before the change (container → image): the rollback target. */
  previousImages: ImageMap;
  /** Images after the change. */
  images: ImageMap;
  /** False when every container already ran the requested image (nothing was patched). */
  changed: boolean;
  /** Revision before the change (`deployment.kubernetes.io/revision`), 0 when unknown. */
  previousRevision: number;
  /** Revision the controller assigned to the new pod template (equals previousRevision when unchanged). */
  revision: number;
  changeCause?: string;
}

/**
 * Sets container images of a Deployment, as `kubectl set image` does: one strategic merge patch
 * of `spec.template.spec.containers` (and `initContainers`) by container name, carrying the
 * `kubernetes.io/change-cause` annotation and the read `resourceVersion` (a concurrent change
 * answers 409 and the patch is retried on a fresh read, up to 3 times). Then waits until the
 * controller has observed the new generation, to report the new revision. It does not wait for
 * the rollout: use {@link waitForRollout}.
 *
 * @throws ConfigError when the Deployment does not exist (input `deployment`) or names a container
 *   it does not have (input `images`)
 */
export async function setImage(options: SetImageOptions, logger: Logger): Promise<SetImageResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const name = options.deployment;
  const poll = pollSettings(options);
  for (let attempt = 1; ; attempt++) {
    const d = await readDeployment(c, name, namespace, logger);
    const previousImages = templateImages(d.spec?.template);
    const spec = d.spec?.template?.spec;
    const containers = new Set((spec?.containers ?? []).map((x) => x.name));
    const inits = new Set((spec?.initContainers ?? []).map((x) => x.name));
    const wanted: ImageMap = {};
    for (const [container, image] of Object.entries(options.images)) {
      if (container === '*') {
        for (const n of [...containers, ...inits]) wanted[n] = image;
      } else if (!containers.has(container) && !inits.has(container)) {
        throw new ConfigError(
          `deployment '${name}' has no container named '${container}' (containers: ${[...containers, ...inits].join(', ')})`,
          undefined,
          'images',
        );
      } else wanted[container] = image;
    }
    const previousRevision = revisionOf(d);
    const images = { ...previousImages, ...wanted };
    const changed = Object.entries(wanted).some(([k, v]) => previousImages[k] !== v);
    if (!changed) {
      logger.info(`deployment "${name}" already runs ${describeImages(wanted)}; nothing to change`);
      return {
        deployment: name,
        namespace,
        previousImages,
        images,
        changed,
        previousRevision,
        revision: previousRevision,
      };
    }
    const pick = (set: Set<string>) =>
      Object.entries(wanted)
        .filter(([k]) => set.has(k))
        .map(([n, image]) => ({ name: n, image }));
    const templateSpec: Record<string, unknown> = {};
    if (pick(containers).length) templateSpec.containers = pick(containers);
    if (pick(inits).length) templateSpec.initContainers = pick(inits);
    const body = {
      metadata: {
        resourceVersion: d.metadata?.resourceVersion,
        ...(options.changeCause
          ? { annotations: { [CHANGE_CAUSE_ANNOTATION]: options.changeCause } }
          : {}),
      },
      spec: { template: { spec: templateSpec } },
    };
    let patched: V1Deployment;
    try {
      // Guarded by the read resourceVersion, so repeating it after a lost answer is harmless.
      patched = await withRetries(
        { idempotent: true, what: `patch deployment '${name}'`, logger },
        () =>
          c.apps.patchNamespacedDeployment(
            { name, namespace, body, fieldManager: 'runbook-actions' },
            patchAs(PatchStrategy.StrategicMergePatch),
          ),
      );
    } catch (e) {
      if (apiStatus(e)?.code === 409 && attempt < 3) {
        logger.info(`deployment "${name}" changed while patching; retrying on a fresh read`);
        continue;
      }
      return call(`deployment '${name}'`, 'images', () => Promise.reject(e));
    }
    for (const [k, v] of Object.entries(wanted)) {
      if (previousImages[k] !== v)
        logger.info(`deployment "${name}": container ${k}: ${previousImages[k]} → ${v}`);
    }
    const generation = patched.metadata?.generation ?? 0;
    // The controller observes a new generation within moments; do not hang when it is down.
    const deadline = Date.now() + Math.min(poll.timeoutMs, 30_000);
    let current = patched;
    while ((current.status?.observedGeneration ?? 0) < generation && Date.now() < deadline) {
      await poll.sleep(Math.min(poll.intervalMs, 250));
      current = await readDeployment(c, name, namespace, logger);
    }
    const revision = revisionOf(current);
    logger.info(
      `deployment "${name}" image updated (revision ${previousRevision} → ${revision || 'pending'})`,
    );
    return {
      deployment: name,
      namespace,
      previousImages,
      images,
      changed,
      previousRevision,
      revision,
      changeCause: options.changeCause,
    };
  }
}

/** Formats an image map as `api=repo:tag, worker=repo:tag`. */
export function describeImages(images: ImageMap): string {
  return Object.entries(images)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** One evaluation of a Deployment's rollout, as `kubectl rollout status` prints it. */
export interface RolloutStatus {
  done: boolean;
  /** kubectl's line, e.g. `Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been updated...`. */
  message: string;
  /** Set when the rollout has failed (`ProgressDeadlineExceeded`) or cannot progress (paused). */
  failure?: string;
  /** Why it failed: `ProgressDeadlineExceeded` or `DeploymentPaused`. */
  reason?: 'ProgressDeadlineExceeded' | 'DeploymentPaused';
}

/**
 * The rules of `kubectl rollout status` for a Deployment (kubectl `DeploymentStatusViewer`):
 * the spec update must be observed (`generation <= status.observedGeneration`); the
 * `Progressing` condition with reason `ProgressDeadlineExceeded` is a failure; then
 * `updatedReplicas == spec.replicas`, `replicas == updatedReplicas` (old replicas terminated) and
 * `availableReplicas == updatedReplicas`.
 *
 * One departure: a paused Deployment (`spec.paused`) that has not rolled out is a failure
 * (reason `DeploymentPaused`) instead of a wait that can only end at the timeout, since the
 * controller neither progresses nor checks the progress deadline while it is paused. A paused
 * Deployment whose rollout is complete is done.
 */
export function deploymentRolloutStatus(d: V1Deployment): RolloutStatus {
  const st = rolloutRules(d);
  const observed = (d.metadata?.generation ?? 0) <= (d.status?.observedGeneration ?? 0);
  if (st.done || st.failure || !d.spec?.paused || !observed) return st;
  const name = d.metadata?.name;
  const failure = `deployment "${name}" is paused, so its rollout cannot finish (${st.message.replace(/\.\.\.$/, '')}); resume it with 'kubectl rollout resume deployment/${name}'`;
  return { done: false, message: st.message, failure, reason: 'DeploymentPaused' };
}

function rolloutRules(d: V1Deployment): RolloutStatus {
  const name = d.metadata?.name;
  const st = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (st.observedGeneration ?? 0)) {
    return { done: false, message: 'Waiting for deployment spec update to be observed...' };
  }
  const progressing = st.conditions?.find((x) => x.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    const msg = `deployment "${name}" exceeded its progress deadline`;
    return {
      done: false,
      message: msg,
      failure: progressing.message ? `${msg}: ${progressing.message}` : msg,
      reason: 'ProgressDeadlineExceeded',
    };
  }
  const desired = d.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const replicas = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  if (updated < desired) {
    return {
      done: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`,
    };
  }
  if (replicas > updated) {
    return {
      done: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...`,
    };
  }
  if (available < updated) {
    return {
      done: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    };
  }
  return { done: true, message: `deployment "${name}" successfully rolled out` };
}

/** Options of {@link waitForRollout}. */
export interface WaitOptions extends ClusterOptions, PollOptions {
  deployment: string;
}

/** A finished rollout. */
export interface WaitResult {
  deployment: string;
  namespace: string;
  revision: number;
  images: ImageMap;
  replicas: number;
  /** Wall time spent waiting, in milliseconds. */
  durationMs: number;
  /** The distinct progress lines, in order. */
  progress: string[];
}

/**
 * Waits until a Deployment has rolled out, with the rules of {@link deploymentRolloutStatus},
 * logging each new progress line.
 * @throws RolloutError reason `ProgressDeadlineExceeded` when the controller reports the
 *   deadline exceeded, `DeploymentPaused` when the Deployment is paused before its rollout
 *   finished, `Timeout` after `timeoutMs`
 * @throws ConfigError when the Deployment does not exist
 */
export async function waitForRollout(options: WaitOptions, logger: Logger): Promise<WaitResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const poll = pollSettings(options);
  const started = Date.now();
  const progress: string[] = [];
  const timedOut = (why: string) =>
    new RolloutError(
      `timed out after ${Math.round(poll.timeoutMs / 1000)} s waiting for deployment "${options.deployment}": ${why}`,
      'Timeout',
    );
  try {
    return await withDeadline(started + poll.timeoutMs, () =>
      waitLoop(c, options, namespace, poll, started, progress, timedOut, logger),
    );
  } catch (e) {
    if (isTimeout(e)) {
      const last = progress[progress.length - 1];
      throw timedOut(
        `the API server did not answer in time${last ? ` (last status: ${last})` : ''}`,
      );
    }
    throw e;
  }
}

async function waitLoop(
  c: Clients,
  options: WaitOptions,
  namespace: string,
  poll: ReturnType<typeof pollSettings>,
  started: number,
  progress: string[],
  timedOut: (why: string) => RolloutError,
  logger: Logger,
): Promise<WaitResult> {
  for (;;) {
    const d = await readDeployment(c, options.deployment, namespace, logger);
    const st = deploymentRolloutStatus(d);
    if (progress[progress.length - 1] !== st.message) {
      progress.push(st.message);
      logger.info(st.message);
    }
    if (st.failure) throw new RolloutError(st.failure, st.reason ?? 'ProgressDeadlineExceeded');
    if (st.done) {
      return {
        deployment: options.deployment,
        namespace,
        revision: revisionOf(d),
        images: templateImages(d.spec?.template),
        replicas: d.spec?.replicas ?? 1,
        durationMs: Date.now() - started,
        progress,
      };
    }
    if (Date.now() - started >= poll.timeoutMs) throw timedOut(st.message);
    await pause(poll, poll.intervalMs);
  }
}

/** Options of {@link undoRollout}. */
export interface UndoOptions extends ClusterOptions, PollOptions {
  deployment: string;
  /** Revision to go back to; 0 or unset = the previous one. */
  toRevision?: number;
  /** Wait for the rollback to roll out (default true). */
  wait?: boolean;
}

/** What {@link undoRollout} did. */
export interface UndoResult {
  deployment: string;
  namespace: string;
  /** Revision that was running before the undo. */
  fromRevision: number;
  /** Revision whose pod template was restored. */
  toRevision: number;
  /** Revision number after the undo (the controller gives the restored template a new number). */
  revision: number;
  previousImages: ImageMap;
  images: ImageMap;
  /** True when the current template already matched the target revision (nothing patched). */
  skipped: boolean;
  wait?: WaitResult;
}

const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

function withoutHash(t: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const copy: V1PodTemplateSpec = structuredClone(t ?? {});
  if (copy.metadata?.labels) {
    delete copy.metadata.labels['pod-template-hash'];
  }
  return copy;
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
}

/**
 * Whether a failed JSON patch guarded by `test /metadata/resourceVersion` failed because the
 * Deployment changed after it was read. A real API server answers a failed `test` operation with
 * 422, reason `Invalid`, the generic message "the server rejected our request due to an error in
 * our request", and the json-patch library's text ("testing value /metadata/resourceVersion
 * failed: test failed") only as a cause of type `UnexpectedServerResponse`
 * (k8s.io/apiserver `pkg/endpoints/handlers/patch.go`, `jsonPatcher.applyJSPatch`, through
 * `errors.NewGenericServerResponse`). Neither text is a contract, so a 422 is judged by reading
 * the Deployment again: a different `resourceVersion` means a concurrent change. A 409 Conflict
 * is one by definition.
 */
async function changedMeanwhile(
  c: Clients,
  read: V1Deployment,
  e: unknown,
  logger: Logger,
): Promise<boolean> {
  const st = apiStatus(e);
  if (st?.code === 409) return true;
  if (st?.code !== 422) return false;
  const name = read.metadata?.name ?? '';
  const namespace = read.metadata?.namespace ?? '';
  const now = await readDeployment(c, name, namespace, logger);
  return now.metadata?.resourceVersion !== read.metadata?.resourceVersion;
}

/**
 * Rolls a Deployment back as `kubectl rollout undo` does: lists the ReplicaSets the Deployment
 * owns (its label selector, then the owner reference's uid), picks the previous revision (the
 * second highest `deployment.kubernetes.io/revision`) or `toRevision`, and replaces the
 * Deployment's pod template with that ReplicaSet's (without the `pod-template-hash` label) and
 * its annotations with the ReplicaSet's (a JSON patch guarded by a `test` of the read
 * `resourceVersion`). Then waits for the rollout unless `wait: false`.
 *
 * @throws ConfigError when the Deployment is paused, has no earlier revision, or `toRevision` is
 *   not in its history (input `to-revision`)
 * @throws RolloutError when the rollback itself fails to roll out
 */
export async function undoRollout(options: UndoOptions, logger: Logger): Promise<UndoResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const name = options.deployment;
  for (let attempt = 1; ; attempt++) {
    let d = await readDeployment(c, name, namespace, logger);
    // Like the ReplicaSet list, the current template must be the controller's view of it.
    const poll = pollSettings(options);
    const observeBy = Date.now() + Math.min(poll.timeoutMs, 30_000);
    while (
      (d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0) &&
      Date.now() < observeBy
    ) {
      await poll.sleep(Math.min(poll.intervalMs, 250));
      d = await readDeployment(c, name, namespace, logger);
    }
    if (d.spec?.paused) {
      throw new ConfigError(
        `you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/${name}'`,
        undefined,
        'deployment',
      );
    }
    const selector = Object.entries(d.spec?.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = await idempotent(
      `replicasets of deployment '${name}'`,
      'deployment',
      () => c.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector || undefined }),
      logger,
    );
    const owned = list.items.filter((rs: V1ReplicaSet) =>
      rs.metadata?.ownerReferences?.some(
        (o) => o.uid === d.metadata?.uid && o.kind === 'Deployment',
      ),
    );
    const fromRevision = revisionOf(d);
    let target: V1ReplicaSet | undefined;
    const wanted = options.toRevision ?? 0;
    if (wanted > 0) {
      target = owned.find((rs) => revisionOf(rs) === wanted);
      if (!target) {
        const known = owned.map(revisionOf).sort((a, b) => a - b);
        throw new ConfigError(
          `unable to find specified revision ${wanted} in history (revisions: ${known.join(', ') || 'none'})`,
          undefined,
          'to-revision',
        );
      }
    } else {
      const sorted = [...owned].sort((a, b) => revisionOf(b) - revisionOf(a));
      target = sorted[1];
      if (!target) {
        const only = sorted[0]
          ? `it has only revision ${revisionOf(sorted[0])} (${describeImages(templateImages(sorted[0].spec?.template))})`
          : 'it owns no ReplicaSet';
        const limit = d.spec?.revisionHistoryLimit;
        const why =
          limit === 0
            ? '; its revisionHistoryLimit is 0, so old ReplicaSets are deleted and nothing can be rolled back to'
            : '';
        throw new ConfigError(
          `no rollout history found for deployment "${name}": ${only}, no earlier revision to go back to${why}`,
          undefined,
          'deployment',
        );
      }
    }
    const toRevision = revisionOf(target);
    const previousImages = templateImages(d.spec?.template);
    const template = withoutHash(target.spec?.template);
    const images = templateImages(template);
    if (stable(withoutHash(d.spec?.template)) === stable(template)) {
      logger.info(
        `deployment "${name}": skipped rollback (current template already matches revision ${toRevision})`,
      );
      return {
        deployment: name,
        namespace,
        fromRevision,
        toRevision,
        revision: fromRevision,
        previousImages,
        images,
        skipped: true,
      };
    }
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata?.annotations ?? {}))
      if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
    for (const [k, v] of Object.entries(target.metadata?.annotations ?? {}))
      if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
    const body = [
      { op: 'test', path: '/metadata/resourceVersion', value: d.metadata?.resourceVersion },
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ];
    try {
      await withRetries({ idempotent: true, what: `roll back deployment '${name}'`, logger }, () =>
        c.apps.patchNamespacedDeployment(
          { name, namespace, body, fieldManager: 'runbook-actions' },
          patchAs(PatchStrategy.JsonPatch),
        ),
      );
    } catch (e) {
      if (attempt < 3 && (await changedMeanwhile(c, d, e, logger))) {
        logger.info(`deployment "${name}" changed while rolling back; retrying on a fresh read`);
        continue;
      }
      return call(`deployment '${name}'`, 'deployment', () => Promise.reject(e));
    }
    logger.info(
      `deployment "${name}" rolled back from revision ${fromRevision} to the template of revision ${toRevision} (${describeImages(images)})`,
    );
    let wait: WaitResult | undefined;
    let revision: number;
    if (options.wait ?? true) {
      wait = await waitForRollout({ ...options, clients: c, namespace }, logger);
      revision = wait.revision;
    } else {
      revision = revisionOf(await readDeployment(c, name, namespace, logger));
    }
    return {
      deployment: name,
      namespace,
      fromRevision,
      toRevision,
      revision,
      previousImages,
      images,
      skipped: false,
      wait,
    };
  }
}
