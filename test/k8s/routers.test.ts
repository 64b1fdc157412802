/**
 * set-weight → promote → abort through the Gateway API (HTTPRoute backend weights) and Istio
 * (VirtualService route weights) routers, against the fake's custom resources.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { recordingLogger } from '../../src/errors.js';
import {
  abortCanary,
  parseRouter,
  promoteCanary,
  stepCanaryWeights,
  waitForRollout,
  type TrafficRouter,
} from '../../src/k8s/index.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment, httpRoute, virtualService } from '../support/k8s-fixtures.js';

let fake: FakeKubernetes;
let kubeconfig: string;
beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 5 });
  kubeconfig = fake.kubeconfig({ namespace: 'billing' });
});
afterAll(() => fake.close());
const fast = { pollIntervalMs: 10, timeoutMs: 20_000 };

const cases: [string, string, TrafficRouter, () => [number, number]][] = [
  [
    'Gateway API HTTPRoute',
    'HTTPRoute',
    { kind: 'gateway-api', name: 'api-route', canaryService: 'api-canary', stableService: 'api' },
    () => {
      const refs = fake.get('HTTPRoute', 'billing', 'api-route')!.spec.rules[0].backendRefs;
      return [refs[0].weight, refs[1].weight];
    },
  ],
  [
    'Istio VirtualService',
    'VirtualService',
    { kind: 'istio', name: 'api-vs', canaryService: 'api-canary', stableService: 'api' },
    () => {
      const route = fake.get('VirtualService', 'billing', 'api-vs')!.spec.http[0].route;
      return [route[0].weight, route[1].weight];
    },
  ],
];

describe.each(cases)('%s', (_title, kind, router, weights) => {
  test('set-weight steps the canary, abort sends everything back, promote moves the stable Deployment and turns the canary off', async () => {
    const stable = `api-${kind.toLowerCase()}`;
    fake.seed(deployment(stable, 'billing', 'repo/api:v1', 2));
    fake.seed(
      kind === 'HTTPRoute'
        ? httpRoute('api-route', 'billing', 'api', 'api-canary')
        : virtualService('api-vs', 'billing', 'api', 'api-canary'),
    );
    const log = recordingLogger();
    const seen: [number, number][] = [];
    const r = await stepCanaryWeights(
      { kubeconfig, router, weights: [1, 5, 20], onStep: async () => void seen.push(weights()) },
      log,
    );
    expect(seen).toEqual([
      [99, 1],
      [95, 5],
      [80, 20],
    ]);
    expect(r.resource).toBe(
      `${kind.toLowerCase()}/${router.kind === 'ingress-nginx' ? '' : router.name}`,
    );
    expect(r.previousWeight).toBe(0);
    expect(r.weight).toBe(20);
    expect(log.lines).toContain(`${r.resource}: canary weight 5% → 20% (step 3/3)`);
    // custom resources take a JSON merge patch guarded by the read resourceVersion
    const patches = fake.requests.filter(
      (x) =>
        x.method === 'PATCH' &&
        x.path.includes(kind === 'HTTPRoute' ? '/httproutes/' : '/virtualservices/'),
    );
    expect(patches.every((x) => x.contentType === 'application/merge-patch+json')).toBe(true);
    expect(patches.every((x) => typeof (x.body as any).metadata.resourceVersion === 'string')).toBe(
      true,
    );

    const a = await abortCanary({ kubeconfig, router }, log);
    expect(a.previousWeight).toBe(20);
    expect(weights()).toEqual([100, 0]);

    await stepCanaryWeights({ kubeconfig, router, weights: [50] }, log);
    await waitForRollout({ kubeconfig, deployment: stable, ...fast }, log);
    const p = await promoteCanary(
      { kubeconfig, router, deployment: stable, images: { api: 'repo/api:v2' }, ...fast },
      log,
    );
    expect(p.previousWeight).toBe(50);
    expect(p.enabled).toBe(false);
    expect(weights()).toEqual([100, 0]);
    expect(fake.get('Deployment', 'billing', stable)!.spec.template.spec.containers[0].image).toBe(
      'repo/api:v2',
    );
    expect(p.wait?.revision).toBe(2);
  });
});

describe('router mistakes', () => {
  test('a route that does not name both Services is refused before anything changes', async () => {
    fake.seed(httpRoute('other-route', 'billing', 'api', 'web-canary', 10));
    const router: TrafficRouter = {
      kind: 'gateway-api',
      name: 'other-route',
      canaryService: 'api-canary',
      stableService: 'api',
    };
    const before = fake.get('HTTPRoute', 'billing', 'other-route')!.metadata.resourceVersion;
    await expect(
      stepCanaryWeights({ kubeconfig, router, weights: [5] }, recordingLogger()),
    ).rejects.toThrow(
      "input 'route': HTTPRoute 'other-route' has no rule whose backendRefs name both the stable Service 'api' and the canary Service 'api-canary' (it names: api, web-canary)",
    );
    expect(fake.get('HTTPRoute', 'billing', 'other-route')!.metadata.resourceVersion).toBe(before);
    await expect(
      stepCanaryWeights(
        { kubeconfig, router: { ...router, name: 'missing' }, weights: [5] },
        recordingLogger(),
      ),
    ).rejects.toThrow("input 'route': httproute 'missing' in namespace 'billing' not found");
  });

  test('parseRouter names the missing input', () => {
    expect(parseRouter({ ingress: 'billing-canary' })).toEqual({
      kind: 'ingress-nginx',
      ingress: 'billing-canary',
    });
    expect(() => parseRouter({ kind: 'gateway-api', name: 'r', canaryService: 'c' })).toThrow(
      "input 'stable-service': is required for gateway-api (the stable Service)",
    );
    expect(() => parseRouter({ kind: 'linkerd', name: 'r' })).toThrow(
      "input 'router': 'linkerd' is not a traffic router (one of ingress-nginx, gateway-api, istio)",
    );
    expect(() => parseRouter({ kind: 'istio', canaryService: 'a', stableService: 'b' })).toThrow(
      "input 'route': is required for istio (the VirtualService)",
    );
  });
});
