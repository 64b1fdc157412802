import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { recordingLogger } from '../../src/errors.js';
import {
  abortCanary,
  promoteCanary,
  setCanaryWeight,
  stepCanaryWeights,
  parseWeights,
  waitForRollout,
} from '../../src/k8s/index.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment, ingress } from '../support/k8s-fixtures.js';

let fake: FakeKubernetes;
let kubeconfig: string;
beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 5 });
  kubeconfig = fake.kubeconfig({ namespace: 'scholarlink-prod' });
  fake.seed(ingress('billing', 'scholarlink-prod', 'billing'));
  fake.seed(ingress('billing-canary', 'scholarlink-prod', 'billing-canary', { weight: 0 }));
});
afterAll(() => fake.close());

const weightPatches = () =>
  fake.requests
    .filter((r) => r.method === 'PATCH' && r.path.includes('/ingresses/billing-canary'))
    .map((r) => (r.body as any).metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']);

describe('canary weights', () => {
  test('the weight steps 1/5/20/50/100 in order, pausing between steps; abort sets 0', async () => {
    const pauses: number[] = [];
    const seen: number[] = [];
    const log = recordingLogger();
    const before = fake.requests.length;
    const r = await stepCanaryWeights(
      {
        kubeconfig,
        ingress: 'billing-canary',
        weights: [1, 5, 20, 50, 100],
        pauseMs: 120_000,
        sleep: async (ms) => void pauses.push(ms),
        onStep: async (w) => {
          seen.push(
            Number(
              fake.get('Ingress', 'scholarlink-prod', 'billing-canary')!.metadata.annotations[
                'nginx.ingress.kubernetes.io/canary-weight'
              ],
            ),
          );
          expect(w).toBe(seen[seen.length - 1]);
        },
      },
      log,
    );
    expect(seen).toEqual([1, 5, 20, 50, 100]);
    expect(pauses).toEqual([120_000, 120_000, 120_000, 120_000]);
    expect(r.steps.map((s) => s.weight)).toEqual([1, 5, 20, 50, 100]);
    expect(r.previousWeight).toBe(0);
    expect(r.weight).toBe(100);
    const patches = fake.requests.slice(before).filter((x) => x.method === 'PATCH');
    expect(patches.every((p) => p.contentType === 'application/merge-patch+json')).toBe(true);
    expect(weightPatches()).toEqual(['1', '5', '20', '50', '100']);
    expect(log.lines).toContain('ingress/billing-canary: canary weight 20% → 50% (step 4/5)');
    // the stable Ingress is never touched
    expect(
      fake.requests.some((x) => x.method === 'PATCH' && /\/ingresses\/billing(\?|$)/.test(x.path)),
    ).toBe(false);

    const a = await abortCanary({ kubeconfig, ingress: 'billing-canary' }, log);
    expect(a.previousWeight).toBe(100);
    expect(a.weight).toBe(0);
    const ing = fake.get('Ingress', 'scholarlink-prod', 'billing-canary')!;
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary']).toBe('true');
  });

  test('promote moves the stable Deployment to the canary image, then turns the canary off', async () => {
    fake.seed(deployment('billing', 'scholarlink-prod', 'scholarlink/billing:1.0.0', 2));
    const log = recordingLogger();
    const fast = { pollIntervalMs: 5, timeoutMs: 20_000 };
    await waitForRollout({ kubeconfig, deployment: 'billing', ...fast }, log);
    await setCanaryWeight({ kubeconfig, ingress: 'billing-canary', weight: 50 }, log);
    const p = await promoteCanary(
      {
        kubeconfig,
        ingress: 'billing-canary',
        deployment: 'billing',
        images: { api: 'scholarlink/billing:1.1.0' },
        ...fast,
      },
      log,
    );
    expect(p.previousWeight).toBe(50);
    expect(p.enabled).toBe(false);
    expect(p.wait?.images).toEqual({ api: 'scholarlink/billing:1.1.0' });
    const ing = fake.get('Ingress', 'scholarlink-prod', 'billing-canary')!;
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary']).toBe('false');
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
  });

  test('promote refuses a stable Deployment without images, and images without a Deployment, before any request', async () => {
    fake.seed(deployment('billing-stable', 'scholarlink-prod', 'scholarlink/billing:1.0.0', 1));
    await setCanaryWeight({ kubeconfig, ingress: 'billing-canary', weight: 20 }, recordingLogger());
    const log = recordingLogger();
    const before = fake.requests.length;
    await expect(
      promoteCanary({ kubeconfig, ingress: 'billing-canary', deployment: 'billing-stable' }, log),
    ).rejects.toThrow(
      "input 'images': is required when the stable Deployment 'billing-stable' is given",
    );
    await expect(
      promoteCanary(
        { kubeconfig, ingress: 'billing-canary', deployment: 'billing-stable', images: {} },
        log,
      ),
    ).rejects.toThrow("input 'images': is required when the stable Deployment");
    await expect(
      promoteCanary(
        { kubeconfig, ingress: 'billing-canary', images: { api: 'scholarlink/billing:1.1.0' } },
        log,
      ),
    ).rejects.toThrow(
      "input 'deployment': is required when images are given (the stable Deployment to update)",
    );
    await expect(
      promoteCanary(
        {
          kubeconfig,
          ingress: 'billing-canary',
          deployment: 'billing-stable',
          inputNames: { deployment: '--deployment', images: '--image' },
        },
        log,
      ),
    ).rejects.toThrow("input '--image': is required when the stable Deployment");
    expect(fake.requests.length).toBe(before);
    const ing = fake.get('Ingress', 'scholarlink-prod', 'billing-canary')!;
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary']).toBe('true');
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']).toBe('20');
    expect(
      fake.get('Deployment', 'scholarlink-prod', 'billing-stable')!.spec.template.spec.containers[0]
        .image,
    ).toBe('scholarlink/billing:1.0.0');
  });

  test('promote without a stable Deployment only turns the canary off', async () => {
    await setCanaryWeight({ kubeconfig, ingress: 'billing-canary', weight: 30 }, recordingLogger());
    const before = fake.requests.length;
    const p = await promoteCanary({ kubeconfig, ingress: 'billing-canary' }, recordingLogger());
    expect(p.previousWeight).toBe(30);
    expect(p.enabled).toBe(false);
    expect(p.setImage).toBeUndefined();
    expect(fake.requests.slice(before).some((r) => r.path.includes('/deployments/'))).toBe(false);
  });

  test('bad weights and the stable Ingress are refused before anything changes', async () => {
    const log = recordingLogger();
    const before = fake.requests.filter((r) => r.method === 'PATCH').length;
    await expect(
      stepCanaryWeights({ kubeconfig, ingress: 'billing-canary', weights: [1, 5, 150] }, log),
    ).rejects.toThrow("input 'weights': '150' is not a weight between 0 and 100");
    await expect(
      stepCanaryWeights({ kubeconfig, ingress: 'billing', weights: [1] }, log),
    ).rejects.toThrow(
      "input 'ingress': ingress 'billing' has no nginx.ingress.kubernetes.io/canary annotation",
    );
    await expect(
      stepCanaryWeights({ kubeconfig, ingress: 'missing', weights: [1] }, log),
    ).rejects.toThrow(
      "input 'ingress': ingress 'missing' in namespace 'scholarlink-prod' not found",
    );
    expect(fake.requests.filter((r) => r.method === 'PATCH').length).toBe(before);
    expect(parseWeights(['1', '5%', ' 20'])).toEqual([1, 5, 20]);
    expect(() => parseWeights(['1.5'])).toThrow(/not a weight/);
    expect(() => parseWeights([])).toThrow(/at least one weight/);
  });
});
