/**
 * Canary traffic with the ingress-nginx canary annotations
 * (kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/#canary):
 * a second Ingress for the same host carries `nginx.ingress.kubernetes.io/canary: "true"` and
 * `nginx.ingress.kubernetes.io/canary-weight: "<n>"`, the share of requests (out of
 * `canary-weight-total`, default 100) routed to the canary Service.
 */
import type { V1Ingress } from '@kubernetes/client-node';
import { ConfigError, type Logger } from '../errors.js';
import {
  apiStatus,
  call,
  connect,
  patchAs,
  PatchStrategy,
  pollSettings,
  type Clients,
  type ClusterOptions,
  type PollOptions,
} from './client.js';
import {
  setImage,
  waitForRollout,
  type ImageMap,
  type SetImageResult,
  type WaitResult,
} from './rollout.js';

export const CANARY_ANNOTATION = 'nginx.ingress.kubernetes.io/canary';
export const CANARY_WEIGHT_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight';
export const CANARY_WEIGHT_TOTAL_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight-total';

/** The canary state of an Ingress. */
export interface CanaryState {
  /** `canary` annotation is "true". */
  enabled: boolean;
  /** `canary-weight`, 0 when unset. */
  weight: number;
  /** `canary-weight-total`, 100 when unset. */
  total: number;
}

/** Reads the canary annotations of an Ingress. */
export function canaryState(ing: V1Ingress): CanaryState {
  const a = ing.metadata?.annotations ?? {};
  const total = Number(a[CANARY_WEIGHT_TOTAL_ANNOTATION] ?? 100);
  return {
    enabled: a[CANARY_ANNOTATION] === 'true',
    weight: Number(a[CANARY_WEIGHT_ANNOTATION] ?? 0) || 0,
    total: Number.isFinite(total) && total > 0 ? total : 100,
  };
}

/**
 * Parses a list of weights (`1,5,20,50,100`).
 * @throws ConfigError (input `weights`) for a non-integer, a value outside 0..`total`, or an empty list
 */
export function parseWeights(items: (string | number)[], total = 100, input = 'weights'): number[] {
  const out = items.map((raw) => {
    const s = String(raw).trim().replace(/%$/, '');
    const n = Number(s);
    if (!/^\d+$/.test(s) || n > total) {
      throw new ConfigError(`'${raw}' is not a weight between 0 and ${total}`, undefined, input);
    }
    return n;
  });
  if (out.length === 0)
    throw new ConfigError('at least one weight is required (e.g. 1,5,20,50,100)', undefined, input);
  return out;
}

/** Options of {@link stepCanaryWeights}. */
export interface CanaryOptions extends ClusterOptions, PollOptions {
  /** Name of the canary Ingress (the one with the `canary` annotation). */
  ingress: string;
}

/** Options of {@link stepCanaryWeights}. */
export interface StepWeightsOptions extends CanaryOptions {
  /** Weights to set in order, e.g. `[1, 5, 20, 50, 100]`; one weight sets it once. */
  weights: number[];
  /** Pause after every step but the last, in milliseconds (default 0). */
  pauseMs?: number;
  /** Called after each weight is set (before the pause): e.g. run an analysis; throw to stop. */
  onStep?: (weight: number, index: number) => Promise<void>;
}

/** One weight change. */
export interface WeightStep {
  weight: number;
  /** When the weight was set (ISO 8601). */
  at: string;
}

/** What {@link stepCanaryWeights}, {@link abortCanary} or {@link promoteCanary} changed. */
export interface CanaryResult {
  ingress: string;
  namespace: string;
  previousWeight: number;
  /** Weight now in place (0 after abort and promote). */
  weight: number;
  /** Whether the Ingress is still a canary (`canary: "true"`). */
  enabled: boolean;
  steps: WeightStep[];
}

async function readIngress(c: Clients, name: string, namespace: string): Promise<V1Ingress> {
  return call(`ingress '${name}' in namespace '${namespace}'`, 'ingress', () =>
    c.networking.readNamespacedIngress({ name, namespace }),
  );
}

/**
 * Sets the canary annotations with a JSON merge patch that carries the read `resourceVersion`
 * (a concurrent change answers 409; retried on a fresh read up to 3 times).
 * @throws ConfigError when the Ingress does not exist or is not a canary Ingress (it has no
 *   `nginx.ingress.kubernetes.io/canary` annotation at all: turning a stable Ingress into a
 *   canary would move its traffic)
 */
async function patchCanary(
  c: Clients,
  name: string,
  namespace: string,
  annotations: Record<string, string>,
): Promise<{ before: CanaryState; after: CanaryState }> {
  for (let attempt = 1; ; attempt++) {
    const ing = await readIngress(c, name, namespace);
    if (ing.metadata?.annotations?.[CANARY_ANNOTATION] === undefined) {
      throw new ConfigError(
        `ingress '${name}' has no ${CANARY_ANNOTATION} annotation: name the canary Ingress, not the stable one`,
        undefined,
        'ingress',
      );
    }
    const before = canaryState(ing);
    try {
      const out = await c.networking.patchNamespacedIngress(
        {
          name,
          namespace,
          body: { metadata: { resourceVersion: ing.metadata?.resourceVersion, annotations } },
          fieldManager: 'runbook-actions',
        },
        patchAs(PatchStrategy.MergePatch),
      );
      return { before, after: canaryState(out) };
    } catch (e) {
      if (apiStatus(e)?.code === 409 && attempt < 3) continue;
      return call(`ingress '${name}'`, 'ingress', () => Promise.reject(e));
    }
  }
}

/**
 * Steps the canary weight through `weights` in order (e.g. 1 → 5 → 20 → 50 → 100), turning the
 * canary on, pausing `pauseMs` between steps and calling `onStep` after each.
 * @throws ConfigError for a weight outside 0..`canary-weight-total` (input `weights`), a missing
 *   Ingress or a non-canary Ingress (input `ingress`); nothing is changed in those cases
 */
export async function stepCanaryWeights(
  options: StepWeightsOptions,
  logger: Logger,
): Promise<CanaryResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const poll = pollSettings(options);
  const current = canaryState(await readIngress(c, options.ingress, namespace));
  const weights = parseWeights(options.weights, current.total);
  const steps: WeightStep[] = [];
  let previousWeight = current.weight;
  let weight = current.weight;
  for (const [i, w] of weights.entries()) {
    const { before, after } = await patchCanary(c, options.ingress, namespace, {
      [CANARY_ANNOTATION]: 'true',
      [CANARY_WEIGHT_ANNOTATION]: String(w),
    });
    if (i === 0) previousWeight = before.weight;
    weight = after.weight;
    steps.push({ weight: w, at: new Date().toISOString() });
    logger.info(
      `ingress "${options.ingress}": canary weight ${before.weight}% → ${w}% (step ${i + 1}/${weights.length})`,
    );
    if (options.onStep) await options.onStep(w, i);
    if (i < weights.length - 1 && (options.pauseMs ?? 0) > 0) {
      logger.info(`pausing ${Math.round((options.pauseMs ?? 0) / 1000)} s before the next step`);
      await poll.sleep(options.pauseMs ?? 0);
    }
  }
  return { ingress: options.ingress, namespace, previousWeight, weight, enabled: true, steps };
}

/** Sets one canary weight; {@link stepCanaryWeights} with a single step. */
export async function setCanaryWeight(
  options: CanaryOptions & { weight: number },
  logger: Logger,
): Promise<CanaryResult> {
  return stepCanaryWeights({ ...options, weights: [options.weight] }, logger);
}

/**
 * Aborts a canary: weight 0, so the stable Ingress carries all traffic; the Ingress stays a
 * canary (`canary: "true"`), ready for the next attempt.
 */
export async function abortCanary(options: CanaryOptions, logger: Logger): Promise<CanaryResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const { before } = await patchCanary(c, options.ingress, namespace, {
    [CANARY_ANNOTATION]: 'true',
    [CANARY_WEIGHT_ANNOTATION]: '0',
  });
  logger.info(`ingress "${options.ingress}": canary aborted, weight ${before.weight}% → 0%`);
  return {
    ingress: options.ingress,
    namespace,
    previousWeight: before.weight,
    weight: 0,
    enabled: true,
    steps: [{ weight: 0, at: new Date().toISOString() }],
  };
}

/** Options of {@link promoteCanary}. */
export interface PromoteOptions extends CanaryOptions {
  /** The stable Deployment to move to the canary's images first; give it with `images` or not at all. */
  deployment?: string;
  /** Container → image the stable Deployment moves to; give it with `deployment` or not at all. */
  images?: ImageMap;
  changeCause?: string;
  /**
   * Names of the action inputs or CLI flags that carry `deployment` and `images`, used in the
   * ConfigError when only one of them is given (default `deployment` and `images`).
   */
  inputNames?: { deployment?: string; images?: string };
  /**
   * Called as soon as the stable Deployment's images were changed, before its rollout is waited
   * for: a promotion that fails after this point has changed the stable Deployment, and the
   * caller needs `previousRevision` to undo it.
   */
  onImageSet?: (result: SetImageResult) => void | Promise<void>;
}

/** What {@link promoteCanary} did. */
export interface PromoteResult extends CanaryResult {
  /** Set when the stable Deployment was updated first. */
  setImage?: SetImageResult;
  wait?: WaitResult;
}

/**
 * The stable Deployment and images a promotion moves, or `undefined` when neither is given.
 * Turning the canary off while only one of them is given would send all traffic to the stable
 * Deployment still on the old images, so that is refused.
 * @throws ConfigError naming `inputNames.deployment` (default `deployment`) when images are given
 *   without a Deployment, or `inputNames.images` (default `images`) when a Deployment is given
 *   without images (an empty map counts as not given)
 */
export function promoteTarget(
  options: Pick<PromoteOptions, 'deployment' | 'images' | 'inputNames'>,
): { deployment: string; images: ImageMap } | undefined {
  const { deployment, images } = options;
  const hasImages = images !== undefined && Object.keys(images).length > 0;
  if (hasImages && !deployment) {
    throw new ConfigError(
      'is required when images are given (the stable Deployment to update)',
      undefined,
      options.inputNames?.deployment ?? 'deployment',
    );
  }
  if (deployment && !hasImages) {
    throw new ConfigError(
      `is required when the stable Deployment '${deployment}' is given (the images to move it to before the canary is turned off; without them the stable Deployment would carry all traffic on its old images)`,
      undefined,
      options.inputNames?.images ?? 'images',
    );
  }
  return deployment && hasImages ? { deployment, images: images } : undefined;
}

/**
 * Promotes a canary: when `deployment` and `images` are given, first sets the stable Deployment
 * to those images and waits for its rollout; then turns the canary off (`canary: "false"`,
 * weight 0), so the stable Ingress carries 100% of traffic.
 * @throws ConfigError when only one of `deployment` and `images` is given (see
 *   {@link promoteTarget}; checked before anything is read or changed), or the Ingress is missing
 *   or not a canary Ingress (input `ingress`)
 * @throws RolloutError when the stable Deployment fails to roll out (the canary is left as is;
 *   `onImageSet` has been called with the revision to undo the stable Deployment to)
 */
export async function promoteCanary(
  options: PromoteOptions,
  logger: Logger,
): Promise<PromoteResult> {
  const target = promoteTarget(options);
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  let set: SetImageResult | undefined;
  let wait: WaitResult | undefined;
  await readIngress(c, options.ingress, namespace);
  if (target) {
    set = await setImage({ ...options, clients: c, namespace, ...target }, logger);
    if (set.changed && options.onImageSet) await options.onImageSet(set);
    wait = await waitForRollout(
      { ...options, clients: c, namespace, deployment: target.deployment },
      logger,
    );
  }
  const { before } = await patchCanary(c, options.ingress, namespace, {
    [CANARY_ANNOTATION]: 'false',
    [CANARY_WEIGHT_ANNOTATION]: '0',
  });
  logger.info(
    `ingress "${options.ingress}": canary promoted (canary off, stable carries 100%; was ${before.weight}%)`,
  );
  return {
    ingress: options.ingress,
    namespace,
    previousWeight: before.weight,
    weight: 0,
    enabled: false,
    steps: [{ weight: 0, at: new Date().toISOString() }],
    setImage: set,
    wait,
  };
}
