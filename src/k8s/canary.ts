/**
 * Canary traffic through one of three traffic routers, behind the same set-weight, promote and
 * abort commands:
 *
 * - ingress-nginx canary annotations
 *   (kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/#canary):
 *   a second Ingress for the same host carries `nginx.ingress.kubernetes.io/canary: "true"` and
 *   `nginx.ingress.kubernetes.io/canary-weight: "<n>"`, the share of requests (out of
 *   `canary-weight-total`, default 100) routed to the canary Service;
 * - Gateway API `HTTPRoute` backend weights (gateway-api.sigs.k8s.io/reference/spec/#httpbackendref,
 *   gateway-api.sigs.k8s.io/guides/traffic-splitting/): in every rule whose `backendRefs` name
 *   both Services, the canary gets weight `w` and the stable `100 - w` (weights are relative);
 * - Istio `VirtualService` route weights
 *   (istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRouteDestination):
 *   in every `http` route whose destinations are both Services (by `host`), the canary gets
 *   `w` percent and the stable `100 - w`.
 *
 * The Gateway API and Istio routes are custom resources: they are changed with a JSON merge
 * patch of the whole rule list guarded by the read `resourceVersion` (custom resources take no
 * strategic merge patch).
 */
import type { KubernetesObject, V1Ingress } from '@kubernetes/client-node';
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
import { idempotent } from './request.js';
import { withRetries } from './transport.js';
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

/**
 * Which object routes the canary's traffic, and how.
 * - `ingress-nginx`: `ingress` is the canary Ingress (the one with the canary annotation);
 * - `gateway-api`: `name` is the `gateway.networking.k8s.io/v1` HTTPRoute, `canaryService` and
 *   `stableService` the Services its `backendRefs` name;
 * - `istio`: `name` is the VirtualService (`apiVersion` default `networking.istio.io/v1`),
 *   `canaryService` and `stableService` the destination hosts (a short name also matches
 *   `<name>.<namespace>.svc.cluster.local`).
 */
export type TrafficRouter =
  | { kind: 'ingress-nginx'; ingress: string }
  | { kind: 'gateway-api'; name: string; canaryService: string; stableService: string }
  | {
      kind: 'istio';
      name: string;
      canaryService: string;
      stableService: string;
      apiVersion?: string;
    };

/** The router kinds, as the action's `router` input and the plan's `deploy.router.kind` name them. */
export const ROUTER_KINDS = ['ingress-nginx', 'gateway-api', 'istio'] as const;

/**
 * Builds a {@link TrafficRouter} from flat fields (action inputs, CLI flags, a plan's
 * `deploy.router`).
 * @param fields `kind` (default `ingress-nginx`), `name` (the HTTPRoute or VirtualService; for
 *   ingress-nginx the canary Ingress, else `ingress`), `canaryService`, `stableService`
 * @param inputs the names of the inputs or flags, for errors
 * @throws ConfigError naming the missing or unknown input
 */
export function parseRouter(
  fields: {
    kind?: string;
    name?: string;
    ingress?: string;
    canaryService?: string;
    stableService?: string;
    apiVersion?: string;
  },
  inputs: {
    kind: string;
    name: string;
    ingress: string;
    canaryService: string;
    stableService: string;
  } = {
    kind: 'router',
    name: 'route',
    ingress: 'ingress',
    canaryService: 'canary-service',
    stableService: 'stable-service',
  },
): TrafficRouter {
  const kind = fields.kind || 'ingress-nginx';
  if (kind === 'ingress-nginx') {
    const ingress = fields.ingress || fields.name;
    if (!ingress)
      throw new ConfigError('is required (the canary Ingress)', undefined, inputs.ingress);
    return { kind, ingress };
  }
  if (kind !== 'gateway-api' && kind !== 'istio')
    throw new ConfigError(
      `'${kind}' is not a traffic router (one of ${ROUTER_KINDS.join(', ')})`,
      undefined,
      inputs.kind,
    );
  const what = kind === 'gateway-api' ? 'the HTTPRoute' : 'the VirtualService';
  if (!fields.name)
    throw new ConfigError(`is required for ${kind} (${what})`, undefined, inputs.name);
  if (!fields.canaryService)
    throw new ConfigError(
      `is required for ${kind} (the canary Service)`,
      undefined,
      inputs.canaryService,
    );
  if (!fields.stableService)
    throw new ConfigError(
      `is required for ${kind} (the stable Service)`,
      undefined,
      inputs.stableService,
    );
  if (fields.canaryService === fields.stableService)
    throw new ConfigError(
      `must differ from ${inputs.stableService} ('${fields.stableService}')`,
      undefined,
      inputs.canaryService,
    );
  return kind === 'istio'
    ? {
        kind,
        name: fields.name,
        canaryService: fields.canaryService,
        stableService: fields.stableService,
        ...(fields.apiVersion ? { apiVersion: fields.apiVersion } : {}),
      }
    : {
        kind,
        name: fields.name,
        canaryService: fields.canaryService,
        stableService: fields.stableService,
      };
}

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

/** Options of {@link stepCanaryWeights}, {@link abortCanary} and {@link promoteCanary}. */
export interface CanaryOptions extends ClusterOptions, PollOptions {
  /** Name of the canary Ingress (ingress-nginx; the one with the `canary` annotation). */
  ingress?: string;
  /** The traffic router; default ingress-nginx with `ingress`. */
  router?: TrafficRouter;
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
  /** Name of the routing object (the canary Ingress, the HTTPRoute or the VirtualService). */
  ingress: string;
  /** The routing object as `kind/name`: `ingress/billing-canary`, `httproute/billing`, `virtualservice/billing`. */
  resource: string;
  /** The router kind. */
  router: TrafficRouter['kind'];
  namespace: string;
  previousWeight: number;
  /** Weight now in place (0 after abort and promote). */
  weight: number;
  /** Whether the Ingress is still a canary (`canary: "true"`). */
  enabled: boolean;
  steps: WeightStep[];
}

async function readIngress(
  c: Clients,
  name: string,
  namespace: string,
  logger?: Logger,
): Promise<V1Ingress> {
  return idempotent(
    `ingress '${name}' in namespace '${namespace}'`,
    'ingress',
    () => c.networking.readNamespacedIngress({ name, namespace }),
    logger,
  );
}

/** Reading and writing the canary weight of one router. */
interface RouterIO {
  name: string;
  resource: string;
  kind: TrafficRouter['kind'];
  read(): Promise<CanaryState>;
  /** Sets the canary weight (and, for ingress-nginx, whether the canary is on). */
  set(weight: number, enabled: boolean): Promise<{ before: CanaryState; after: CanaryState }>;
}

/** The router of the options: `router`, else ingress-nginx with `ingress`. */
export function routerOf(options: Pick<CanaryOptions, 'router' | 'ingress'>): TrafficRouter {
  if (options.router) return options.router;
  if (!options.ingress)
    throw new ConfigError('is required (the canary Ingress)', undefined, 'ingress');
  return { kind: 'ingress-nginx', ingress: options.ingress };
}

function routerIO(c: Clients, router: TrafficRouter, namespace: string, logger: Logger): RouterIO {
  if (router.kind === 'ingress-nginx') {
    const name = router.ingress;
    return {
      name,
      kind: router.kind,
      resource: `ingress/${name}`,
      read: async () => canaryState(await readIngress(c, name, namespace, logger)),
      set: (weight, enabled) =>
        patchCanary(
          c,
          name,
          namespace,
          { [CANARY_ANNOTATION]: String(enabled), [CANARY_WEIGHT_ANNOTATION]: String(weight) },
          logger,
        ),
    };
  }
  return routeIO(c, router, namespace, logger);
}

/** Whether an Istio destination host names the Service (short name or FQDN in the namespace). */
function hostIs(host: unknown, service: string, namespace: string): boolean {
  return (
    typeof host === 'string' &&
    (host === service ||
      host === `${service}.${namespace}` ||
      host === `${service}.${namespace}.svc` ||
      host === `${service}.${namespace}.svc.cluster.local`)
  );
}

type Route = KubernetesObject & { spec?: Record<string, any> };

function routeIO(
  c: Clients,
  router: Extract<TrafficRouter, { kind: 'gateway-api' | 'istio' }>,
  namespace: string,
  logger: Logger,
): RouterIO {
  const gateway = router.kind === 'gateway-api';
  const apiVersion = gateway
    ? 'gateway.networking.k8s.io/v1'
    : (router.apiVersion ?? 'networking.istio.io/v1');
  const kind = gateway ? 'HTTPRoute' : 'VirtualService';
  const what = `${kind.toLowerCase()} '${router.name}' in namespace '${namespace}'`;
  const listKey = gateway ? 'rules' : 'http';
  const refsKey = gateway ? 'backendRefs' : 'route';
  const isCanary = (ref: any) =>
    gateway
      ? ref?.name === router.canaryService && (!ref.kind || ref.kind === 'Service')
      : hostIs(ref?.destination?.host, router.canaryService, namespace);
  const isStable = (ref: any) =>
    gateway
      ? ref?.name === router.stableService && (!ref.kind || ref.kind === 'Service')
      : hostIs(ref?.destination?.host, router.stableService, namespace);
  const read = () =>
    idempotent(
      what,
      'route',
      () =>
        c.objects.read({
          apiVersion,
          kind,
          metadata: { name: router.name, namespace },
        }) as Promise<Route>,
      logger,
    );
  /** The rules that split traffic between both Services. */
  const splitting = (route: Route): any[] => {
    const rules: any[] = route.spec?.[listKey] ?? [];
    const found = rules.filter(
      (r) => (r?.[refsKey] ?? []).some(isCanary) && (r?.[refsKey] ?? []).some(isStable),
    );
    if (found.length === 0) {
      const named = [
        ...new Set(
          rules.flatMap((r) =>
            (r?.[refsKey] ?? []).map((x: any) => (gateway ? x?.name : x?.destination?.host)),
          ),
        ),
      ];
      throw new ConfigError(
        `${kind} '${router.name}' has no ${gateway ? 'rule whose backendRefs' : 'http route whose destinations'} name both the stable Service '${router.stableService}' and the canary Service '${router.canaryService}' (it names: ${named.join(', ') || 'nothing'}); add both, the canary with weight 0`,
        undefined,
        'route',
      );
    }
    if (!gateway) {
      for (const r of found) {
        const others = (r.route as any[]).filter(
          (x) => !isCanary(x) && !isStable(x) && (x.weight ?? 0) > 0,
        );
        if (others.length)
          throw new ConfigError(
            `VirtualService '${router.name}' also sends traffic to ${others.map((x) => x.destination?.host).join(', ')} in the route with both Services; the canary weight and the stable weight must add up to 100`,
            undefined,
            'route',
          );
      }
    }
    return found;
  };
  const stateOf = (route: Route): CanaryState => {
    const [rule] = splitting(route);
    const refs: any[] = rule[refsKey];
    const cw = Number(refs.find(isCanary)?.weight ?? (gateway ? 1 : refs.length === 1 ? 100 : 0));
    const sw = Number(refs.find(isStable)?.weight ?? (gateway ? 1 : refs.length === 1 ? 100 : 0));
    const weight = gateway ? (cw + sw > 0 ? Math.round((cw * 100) / (cw + sw)) : 0) : cw;
    return { enabled: weight > 0, weight, total: 100 };
  };
  return {
    name: router.name,
    kind: router.kind,
    resource: `${kind.toLowerCase()}/${router.name}`,
    read: async () => stateOf(await read()),
    set: async (weight) => {
      for (let attempt = 1; ; attempt++) {
        const route = await read();
        const before = stateOf(route);
        const spec = structuredClone(route.spec ?? {});
        const rules = splitting({ ...route, spec });
        for (const rule of rules) {
          for (const ref of rule[refsKey]) {
            if (isCanary(ref)) ref.weight = weight;
            else if (isStable(ref)) ref.weight = 100 - weight;
          }
        }
        const body = {
          apiVersion,
          kind,
          metadata: {
            name: router.name,
            namespace,
            resourceVersion: route.metadata?.resourceVersion,
          },
          spec: { [listKey]: spec[listKey] },
        };
        try {
          const out = (await withRetries(
            { idempotent: true, what: `patch ${kind.toLowerCase()} '${router.name}'`, logger },
            () =>
              c.objects.patch(
                body,
                undefined,
                undefined,
                'runbook-actions',
                undefined,
                PatchStrategy.MergePatch,
              ),
          )) as Route;
          return { before, after: stateOf(out) };
        } catch (e) {
          if (apiStatus(e)?.code === 409 && attempt < 3) continue;
          return call(what, 'route', () => Promise.reject(e));
        }
      }
    },
  };
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
  logger: Logger,
): Promise<{ before: CanaryState; after: CanaryState }> {
  for (let attempt = 1; ; attempt++) {
    const ing = await readIngress(c, name, namespace, logger);
    if (ing.metadata?.annotations?.[CANARY_ANNOTATION] === undefined) {
      throw new ConfigError(
        `ingress '${name}' has no ${CANARY_ANNOTATION} annotation: name the canary Ingress, not the stable one`,
        undefined,
        'ingress',
      );
    }
    const before = canaryState(ing);
    try {
      // Guarded by the read resourceVersion, so repeating it after a lost answer is harmless.
      const out = await withRetries(
        { idempotent: true, what: `patch ingress '${name}'`, logger },
        () =>
          c.networking.patchNamespacedIngress(
            {
              name,
              namespace,
              body: { metadata: { resourceVersion: ing.metadata?.resourceVersion, annotations } },
              fieldManager: 'runbook-actions',
            },
            patchAs(PatchStrategy.MergePatch),
          ),
      );
      return { before, after: canaryState(out) };
    } catch (e) {
      if (apiStatus(e)?.code === 409 && attempt < 3) continue;
      return call(`ingress '${name}'`, 'ingress', () => Promise.reject(e));
    }
  }
}

/**
 * A canary command that failed part-way: `state` says where the traffic is now (the last weight
 * that was set, or the weight before the command when none was), so the caller can report it
 * and name the undo. The original error is the `cause`.
 */
export class CanaryStepError extends Error {
  override readonly name = 'CanaryStepError';
  constructor(
    message: string,
    readonly state: CanaryResult,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Steps the canary weight through `weights` in order (e.g. 1 → 5 → 20 → 50 → 100), turning the
 * canary on, pausing `pauseMs` between steps and calling `onStep` after each.
 * @throws ConfigError for a weight outside 0..`canary-weight-total` (input `weights`), a missing
 *   or non-canary routing object (input `ingress` or `route`); nothing is changed in those cases
 * @throws CanaryStepError when a step fails after the first weight was read (a lost API server,
 *   an `onStep` that throws): its `state` has the weight in place and the steps done
 */
export async function stepCanaryWeights(
  options: StepWeightsOptions,
  logger: Logger,
): Promise<CanaryResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const poll = pollSettings(options);
  const io = routerIO(c, routerOf(options), namespace, logger);
  const current = await io.read();
  const weights = parseWeights(options.weights, current.total);
  const steps: WeightStep[] = [];
  let previousWeight = current.weight;
  let weight = current.weight;
  let enabled = current.enabled;
  const state = (): CanaryResult => ({
    ingress: io.name,
    resource: io.resource,
    router: io.kind,
    namespace,
    previousWeight,
    weight,
    enabled,
    steps: [...steps],
  });
  for (const [i, w] of weights.entries()) {
    let before: CanaryState;
    let after: CanaryState;
    try {
      ({ before, after } = await io.set(w, true));
    } catch (e) {
      if (e instanceof ConfigError && i === 0) throw e;
      throw new CanaryStepError(
        `${io.resource}: setting the canary weight to ${w}% failed (step ${i + 1}/${weights.length}); the canary is at ${weight}%: ${(e as Error).message}`,
        state(),
        { cause: e },
      );
    }
    if (i === 0) previousWeight = before.weight;
    weight = after.weight;
    enabled = true;
    steps.push({ weight: w, at: new Date().toISOString() });
    logger.info(
      `${io.resource}: canary weight ${before.weight}% → ${w}% (step ${i + 1}/${weights.length})`,
    );
    try {
      if (options.onStep) await options.onStep(w, i);
    } catch (e) {
      if (e instanceof CanaryStepError) throw e;
      throw new CanaryStepError(
        `${io.resource}: step ${i + 1}/${weights.length} at ${w}% failed: ${(e as Error).message}`,
        state(),
        { cause: e },
      );
    }
    if (i < weights.length - 1 && (options.pauseMs ?? 0) > 0) {
      logger.info(`pausing ${Math.round((options.pauseMs ?? 0) / 1000)} s before the next step`);
      await poll.sleep(options.pauseMs ?? 0);
    }
  }
  return state();
}

/** Sets one canary weight; {@link stepCanaryWeights} with a single step. */
export async function setCanaryWeight(
  options: CanaryOptions & { weight: number },
  logger: Logger,
): Promise<CanaryResult> {
  return stepCanaryWeights({ ...options, weights: [options.weight] }, logger);
}

/**
 * Aborts a canary: weight 0, so the stable Service carries all traffic. An ingress-nginx canary
 * Ingress stays a canary (`canary: "true"`), ready for the next attempt.
 */
export async function abortCanary(options: CanaryOptions, logger: Logger): Promise<CanaryResult> {
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const io = routerIO(c, routerOf(options), namespace, logger);
  const { before } = await io.set(0, true);
  logger.info(`${io.resource}: canary aborted, weight ${before.weight}% → 0%`);
  return {
    ingress: io.name,
    resource: io.resource,
    router: io.kind,
    namespace,
    previousWeight: before.weight,
    weight: 0,
    enabled: io.kind === 'ingress-nginx',
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
  const io = routerIO(c, routerOf(options), namespace, logger);
  await io.read();
  if (target) {
    set = await setImage({ ...options, clients: c, namespace, ...target }, logger);
    if (set.changed && options.onImageSet) await options.onImageSet(set);
    wait = await waitForRollout(
      { ...options, clients: c, namespace, deployment: target.deployment },
      logger,
    );
  }
  const { before } = await io.set(0, false);
  logger.info(
    `${io.resource}: canary promoted (canary off, stable carries 100%; was ${before.weight}%)`,
  );
  return {
    ingress: io.name,
    resource: io.resource,
    router: io.kind,
    namespace,
    previousWeight: before.weight,
    weight: 0,
    enabled: false,
    steps: [{ weight: 0, at: new Date().toISOString() }],
    setImage: set,
    wait,
  };
}
