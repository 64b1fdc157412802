import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { recordingLogger } from '../../src/errors.js';
import {
  connect,
  setImage,
  waitForRollout,
  undoRollout,
  RolloutError,
} from '../../src/k8s/index.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment } from '../support/k8s-fixtures.js';

let fake: FakeKubernetes;
beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 5, progressDeadlineMs: 150, token: 'test-token-abc' });
});
afterAll(() => fake.close());

const fast = { pollIntervalMs: 10, timeoutMs: 20_000 };

describe('set-image and wait', () => {
  test('a good image rolls out', async () => {
    fake.seed(deployment('good', 'prod', 'valuecanvas/api:v1.1.0', 3));
    const kubeconfig = fake.kubeconfig({ namespace: 'prod' });
    const log = recordingLogger();
    await waitForRollout({ kubeconfig, deployment: 'good', ...fast }, log);
    const r = await setImage(
      {
        kubeconfig,
        deployment: 'good',
        images: { api: 'valuecanvas/api:v1.2.0' },
        changeCause: 'release 1.2.0',
        ...fast,
      },
      log,
    );
    expect(r.previousImages).toEqual({ api: 'valuecanvas/api:v1.1.0' });
    expect(r.previousRevision).toBe(1);
    expect(r.revision).toBe(2);
    const w = await waitForRollout({ kubeconfig, deployment: 'good', ...fast }, log);
    expect(w.images).toEqual({ api: 'valuecanvas/api:v1.2.0' });
    expect(w.revision).toBe(2);
    expect(w.progress[w.progress.length - 1]).toBe('deployment "good" successfully rolled out');
    const d = fake.get('Deployment', 'prod', 'good')!;
    expect(d.metadata.annotations['kubernetes.io/change-cause']).toBe('release 1.2.0');
    expect(d.status.updatedReplicas).toBe(3);
    expect(fake.list('ReplicaSet', 'prod').filter((x) => x.spec.replicas > 0)).toHaveLength(1);
  });
});

describe('failure and undo', () => {
  test('a bad image hits ProgressDeadlineExceeded and fails; undo restores the previous image', async () => {
    fake.seed(deployment('billing', 'prod', 'scholarlink/billing:1.0.0', 2));
    const kubeconfig = fake.kubeconfig({ namespace: 'prod' });
    const log = recordingLogger();
    await waitForRollout({ kubeconfig, deployment: 'billing', ...fast }, log);
    const set = await setImage(
      {
        kubeconfig,
        deployment: 'billing',
        images: { api: 'scholarlink/billing:1.1.0-bad' },
        ...fast,
      },
      log,
    );
    expect(set.revision).toBe(2);
    const err = await waitForRollout({ kubeconfig, deployment: 'billing', ...fast }, log).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(RolloutError);
    expect(err.reason).toBe('ProgressDeadlineExceeded');
    expect(err.message).toContain('deployment "billing" exceeded its progress deadline');
    expect(log.lines.some((l) => l.includes('1 out of 2 new replicas have been updated'))).toBe(
      true,
    );

    const undo = await undoRollout({ kubeconfig, deployment: 'billing', ...fast }, log);
    expect(undo.fromRevision).toBe(2);
    expect(undo.toRevision).toBe(1);
    expect(undo.revision).toBe(3); // the restored template gets the next revision number
    expect(undo.previousImages).toEqual({ api: 'scholarlink/billing:1.1.0-bad' });
    expect(undo.images).toEqual({ api: 'scholarlink/billing:1.0.0' });
    const d = fake.get('Deployment', 'prod', 'billing')!;
    expect(d.spec.template.spec.containers[0].image).toBe('scholarlink/billing:1.0.0');
    expect(d.spec.template.metadata.labels['pod-template-hash']).toBeUndefined();
    expect(d.status.availableReplicas).toBe(2);
    // kubectl semantics: the undo was sent as a JSON patch replacing the pod template
    const patch = fake.requests
      .filter((r) => r.method === 'PATCH' && r.path.includes('/deployments/billing'))
      .pop()!;
    expect(patch.contentType).toBe('application/json-patch+json');

    const again = await undoRollout(
      { kubeconfig, deployment: 'billing', toRevision: 3, ...fast },
      log,
    );
    expect(again.skipped).toBe(true);
    await expect(
      undoRollout({ kubeconfig, deployment: 'billing', toRevision: 9, ...fast }, log),
    ).rejects.toThrow(
      /input 'to-revision': unable to find specified revision 9 in history \(revisions: 2, 3\)/,
    );
  });

  test('undo to a given revision', async () => {
    fake.seed(deployment('multi', 'prod', 'app:1', 1));
    const kubeconfig = fake.kubeconfig({ namespace: 'prod' });
    const log = recordingLogger();
    await waitForRollout({ kubeconfig, deployment: 'multi', ...fast }, log);
    for (const tag of ['2', '3']) {
      await setImage(
        {
          kubeconfig,
          deployment: 'multi',
          images: { api: `app:${tag}` },
          changeCause: `to ${tag}`,
          ...fast,
        },
        log,
      );
      await waitForRollout({ kubeconfig, deployment: 'multi', ...fast }, log);
    }
    const undo = await undoRollout(
      { kubeconfig, deployment: 'multi', toRevision: 2, ...fast },
      log,
    );
    expect(undo.images).toEqual({ api: 'app:2' });
    expect(undo.revision).toBe(4);
    // kubectl copies the ReplicaSet's change-cause back onto the Deployment
    expect(
      fake.get('Deployment', 'prod', 'multi')!.metadata.annotations['kubernetes.io/change-cause'],
    ).toBe('to 2');
  });

  test('undo without history is a ConfigError', async () => {
    fake.seed(deployment('fresh', 'prod', 'app:1', 1));
    const kubeconfig = fake.kubeconfig({ namespace: 'prod' });
    await waitForRollout({ kubeconfig, deployment: 'fresh', ...fast }, recordingLogger());
    await expect(
      undoRollout({ kubeconfig, deployment: 'fresh', ...fast }, recordingLogger()),
    ).rejects.toThrow(
      `input 'deployment': no rollout history found for deployment "fresh": it has only revision 1 (api=app:1), no earlier revision to go back to`,
    );
    // with revisionHistoryLimit 0 the old ReplicaSets are gone: the error says why
    const pruned = deployment('pruned', 'prod', 'app:1', 1);
    (pruned.spec as any).revisionHistoryLimit = 0;
    fake.seed(pruned);
    await waitForRollout({ kubeconfig, deployment: 'pruned', ...fast }, recordingLogger());
    await expect(
      undoRollout({ kubeconfig, deployment: 'pruned', ...fast }, recordingLogger()),
    ).rejects.toThrow(
      'its revisionHistoryLimit is 0, so old ReplicaSets are deleted and nothing can be rolled back to',
    );
  });
});

test('`*=image` sets every container, init containers included', async () => {
  const d = deployment('sidecars', 'prod', 'app:1', 1);
  (d.spec.template.spec as any).initContainers = [{ name: 'migrate', image: 'app:1' }];
  d.spec.template.spec.containers.push({ name: 'proxy', image: 'envoy:1', ports: [] });
  fake.seed(d);
  const kubeconfig = fake.kubeconfig({ namespace: 'prod' });
  const r = await setImage(
    { kubeconfig, deployment: 'sidecars', images: { '*': 'app:2' }, ...fast },
    recordingLogger(),
  );
  expect(r.previousImages).toEqual({ migrate: 'app:1', api: 'app:1', proxy: 'envoy:1' });
  expect(r.images).toEqual({ migrate: 'app:2', api: 'app:2', proxy: 'app:2' });
  const spec = fake.get('Deployment', 'prod', 'sidecars')!.spec.template.spec;
  expect(spec.initContainers[0].image).toBe('app:2');
  expect(spec.containers.map((c: any) => c.image)).toEqual(['app:2', 'app:2']);
  expect(spec.containers[0].ports).toEqual([{ containerPort: 8080 }]); // strategic merge kept the rest
  const again = await setImage(
    { kubeconfig, deployment: 'sidecars', images: { api: 'app:2' }, ...fast },
    recordingLogger(),
  );
  expect(again.changed).toBe(false);
});

describe('mistakes are ConfigErrors', () => {
  test('unknown deployment, unknown container, bad images, bad token, unknown context', async () => {
    const kubeconfig = fake.kubeconfig({ namespace: 'prod' });
    const log = recordingLogger();
    await expect(
      setImage({ kubeconfig, deployment: 'nope', images: { api: 'x:1' }, ...fast }, log),
    ).rejects.toThrow("input 'deployment': deployment 'nope' in namespace 'prod' not found");
    fake.seed(deployment('web', 'prod', 'web:1', 1));
    await expect(
      setImage({ kubeconfig, deployment: 'web', images: { worker: 'x:1' }, ...fast }, log),
    ).rejects.toThrow(
      "input 'images': deployment 'web' has no container named 'worker' (containers: api)",
    );
    const { parseImages } = await import('../../src/k8s/index.js');
    expect(() => parseImages(['api'])).toThrow("input 'images': 'api' is not container=image");
    expect(parseImages(['api=a:1', 'worker = b:2'])).toEqual({ api: 'a:1', worker: 'b:2' });
    const wrong = kubeconfig.replace('test-token-abc', 'wrong-token');
    const err = await waitForRollout({ kubeconfig: wrong, deployment: 'web', ...fast }, log).catch(
      (e) => e,
    );
    expect(err.message).toContain(
      "input 'kubeconfig': the API server rejected the credentials (401 Unauthorized)",
    );
    expect(err.message).not.toContain('wrong-token');
    expect(() => connect({ kubeconfig, context: 'staging' })).toThrow(
      "input 'context': context 'staging' is not in the kubeconfig (contexts: fake)",
    );
    expect(() => connect({ kubeconfig: 'clusters: [' })).toThrow(
      /input 'kubeconfig': cannot load the kubeconfig/,
    );
  });

  test('the kubeconfig token is listed for masking', () => {
    const c = connect({ kubeconfig: fake.kubeconfig() });
    expect(c.secrets).toEqual(['test-token-abc']);
    expect(c.namespace).toBe('default');
  });

  test('a timeout is a RolloutError with reason Timeout', async () => {
    fake.seed(deployment('slow', 'prod', 'app:bad', 1));
    const err = await waitForRollout(
      {
        kubeconfig: fake.kubeconfig({ namespace: 'prod' }),
        deployment: 'slow',
        pollIntervalMs: 5,
        timeoutMs: 30,
      },
      recordingLogger(),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(RolloutError);
    expect(err.reason).toBe('Timeout');
  });
});

test('no kubeconfig outside a cluster is a ConfigError', () => {
  const saved = process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_HOST;
  try {
    expect(() => connect({ kubeconfig: '' })).toThrow(
      "input 'kubeconfig': is empty and this process does not run in a cluster",
    );
  } finally {
    if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
  }
});

test('a concurrent change between read and patch is retried on a fresh read', async () => {
  fake.seed(deployment('busy', 'prod', 'app:1', 1));
  const kubeconfig = fake.kubeconfig({ namespace: 'prod' });
  const log = recordingLogger();
  await waitForRollout({ kubeconfig, deployment: 'busy', ...fast }, log);
  // Another writer (an HPA, a colleague) bumps the Deployment right before each first patch.
  const interfere = (verb: string) => {
    let done = false;
    fake.onRequest = (r) => {
      if (!done && r.method === verb && r.path.includes('/deployments/busy')) {
        done = true;
        const d = fake.get('Deployment', 'prod', 'busy')!;
        d.metadata.annotations = { ...d.metadata.annotations, 'team/owner': 'billing' };
        d.metadata.resourceVersion = String(Number(d.metadata.resourceVersion) + 1000);
      }
    };
  };
  interfere('PATCH');
  const r = await setImage(
    { kubeconfig, deployment: 'busy', images: { api: 'app:2' }, ...fast },
    log,
  );
  expect(r.changed).toBe(true);
  expect(log.lines).toContain('deployment "busy" changed while patching; retrying on a fresh read');
  await waitForRollout({ kubeconfig, deployment: 'busy', ...fast }, log);
  interfere('PATCH');
  const u = await undoRollout({ kubeconfig, deployment: 'busy', ...fast }, log);
  expect(u.images).toEqual({ api: 'app:1' });
  expect(log.lines).toContain(
    'deployment "busy" changed while rolling back; retrying on a fresh read',
  );
  fake.onRequest = undefined;
});

test('client keys, passwords and auth-provider tokens are listed for masking', async () => {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { kubeconfigSecrets } = await import('../../src/k8s/index.js');
  const kc = new KubeConfig();
  kc.loadFromString(
    [
      'apiVersion: v1',
      'clusters: [{name: c, cluster: {server: "https://k8s.example.test"}}]',
      'users:',
      `- {name: a, user: {client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key-data: ${Buffer.from('PRIVATE-KEY').toString('base64')}}}`,
      '- {name: b, user: {username: admin, password: hunter2-pw}}',
      '- {name: o, user: {auth-provider: {name: oidc, config: {id-token: oidc-id-token-1, refresh-token: oidc-refresh-2}}}}',
      'contexts: [{name: x, context: {cluster: c, user: a}}]',
      'current-context: x',
    ].join('\n'),
  );
  const secrets = kubeconfigSecrets(kc);
  expect(secrets).toEqual(
    expect.arrayContaining(['hunter2-pw', 'oidc-id-token-1', 'oidc-refresh-2']),
  );
  expect(
    secrets.some(
      (s) => Buffer.from(s, 'base64').toString() === 'PRIVATE-KEY' || s === 'PRIVATE-KEY',
    ),
  ).toBe(true);
});
