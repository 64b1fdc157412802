/**
 * The rehearsal with a kubeconfig: the Kubernetes steps run against the fake API server
 * (test/support/k8s-fake.ts) through the real @kubernetes/client-node client.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { recordingLogger } from '../../src/errors.js';
import { rehearse } from '../../src/release/index.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment, ingress } from '../support/k8s-fixtures.js';
import { freshDatabase } from '../support/postgres.js';

const root = resolve(import.meta.dirname, '../..');
const PLAN = 'examples/paket7/release.yml';
const OLD = 'registry.example.com/videokit-api:7.18.0';
const NEW = 'registry.example.com/videokit-api:7.19.0';
const tmp = mkdtempSync(join(tmpdir(), 'rehearse-k8s-'));
let fake: FakeKubernetes;
let kubeconfig: string;

beforeEach(async () => {
  fake = await startFakeKubernetes({ tickMs: 10 });
  fake.seed(deployment('videokit-api', 'billing', OLD));
  fake.seed(deployment('videokit-api-canary', 'billing', OLD, 1));
  fake.seed(ingress('videokit-api', 'billing', 'videokit-api'));
  fake.seed(ingress('videokit-api-canary', 'billing', 'videokit-api-canary', { weight: 0 }));
  kubeconfig = join(tmp, 'kubeconfig.yml');
  writeFileSync(kubeconfig, fake.kubeconfig({ namespace: 'billing' }));
});
afterEach(async () => {
  await fake.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const image = (name: string) =>
  fake.get('Deployment', 'billing', name)?.spec.template.spec.containers[0].image;
const annotations = () =>
  fake.get('Ingress', 'billing', 'videokit-api-canary')?.metadata.annotations;

async function run(recording: 'healthy' | 'regression') {
  const db = await freshDatabase(`rehearse_k8s_${recording}`);
  try {
    return await rehearse(
      {
        plan: PLAN,
        root,
        databaseUrl: db.url,
        sampleUsers: 0,
        recording,
        kubeconfig,
        pollIntervalMs: 20,
        reportFile: join(tmp, `${recording}.md`),
      },
      recordingLogger(),
    );
  } finally {
    await db.dispose();
  }
}

test('healthy: canary image, weights 1 → 50, then the stable deployment promoted and the canary off', async () => {
  const r = await run('healthy');
  expect(r.outcome).toBe('promoted');
  const kube = r.timeline.filter((t) => /set image|wait|set weight|canary to 100%/.test(t.step));
  expect(kube.map((t) => [t.step, t.status])).toEqual([
    ['set image', 'success'],
    ['wait', 'success'],
    ['set weight 1%', 'success'],
    ['set weight 5%', 'success'],
    ['set weight 20%', 'success'],
    ['set weight 50%', 'success'],
    ['canary to 100%', 'success'],
  ]);
  expect(image('videokit-api-canary')).toBe(NEW);
  expect(image('videokit-api')).toBe(NEW);
  expect(annotations()?.['nginx.ingress.kubernetes.io/canary']).toBe('false');
});

test('regression: weight back to 0 and the canary deployment undone to the old image', async () => {
  const r = await run('regression');
  expect(r.outcome).toBe('rolled-back');
  const rb = r.timeline.filter((t) => t.job === 'rollback');
  expect(rb.find((t) => t.step === 'canary weight 0')?.status).toBe('success');
  expect(rb.find((t) => t.step === 'rollout undo')?.status).toBe('success');
  expect(annotations()?.['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
  expect(image('videokit-api-canary')).toBe(OLD);
  expect(image('videokit-api')).toBe(OLD);
});

test('a promotion whose stable rollout fails: the stable deployment is undone before the weight goes to 0', async () => {
  await fake.close();
  fake = await startFakeKubernetes({ tickMs: 10, progressDeadlineMs: 300 });
  fake.seed(deployment('videokit-api', 'billing', OLD));
  fake.seed(deployment('videokit-api-canary', 'billing', OLD, 1));
  fake.seed(ingress('videokit-api', 'billing', 'videokit-api'));
  fake.seed(ingress('videokit-api-canary', 'billing', 'videokit-api-canary', { weight: 0 }));
  writeFileSync(kubeconfig, fake.kubeconfig({ namespace: 'billing' }));
  fake.stuck.add(`videokit-api=${NEW}`); // the stable rollout to the new image never gets ready
  const r = await run('healthy');
  expect(r.outcome).toBe('rolled-back');
  expect(r.failedStep).toBe('promote: canary to 100%');
  expect(r.failure).toContain('deployment "videokit-api" exceeded its progress deadline');
  const rb = r.timeline.filter((t) => t.job === 'rollback').map((t) => [t.step, t.status]);
  expect(rb.slice(0, 4)).toEqual([
    ['BILLING_ENFORCEMENT back to its previous state', 'success'],
    ['stable rollout undo', 'success'],
    ['canary weight 0', 'success'],
    ['rollout undo', 'success'],
  ]);
  expect(image('videokit-api')).toBe(OLD);
  expect(image('videokit-api-canary')).toBe(OLD);
  expect(annotations()?.['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
  expect(r.rolledBack.join('\n')).toContain('videokit-api: revision 2 → 3 (template of 1)');
});

test("the plan's deploy.manifests are applied before the canary image, as the workflow does", async () => {
  const { loadPlan } = await import('../../src/release/index.js');
  const plan = loadPlan(resolve(root, PLAN));
  plan.value.deploy!.manifests = 'examples/paket7/k8s/cronjobs';
  const db = await freshDatabase('rehearse_k8s_manifests');
  try {
    const r = await rehearse(
      {
        plan,
        root,
        databaseUrl: db.url,
        sampleUsers: 0,
        kubeconfig,
        pollIntervalMs: 20,
        reportFile: join(tmp, 'manifests.md'),
      },
      recordingLogger(),
    );
    expect(r.outcome).toBe('promoted');
    const steps = r.timeline.filter((t) => t.job === 'deploy canary').map((t) => t.step);
    expect(steps).toEqual(['apply examples/paket7/k8s/cronjobs', 'set image', 'wait']);
    const apply = r.timeline.find((t) => t.step === 'apply examples/paket7/k8s/cronjobs')!;
    expect(apply.status).toBe('success');
    expect(apply.detail).toMatch(/^server-side apply: CronJob\/\S+ created/);
    expect(fake.list('CronJob', 'billing').length).toBeGreaterThan(0);
  } finally {
    await db.dispose();
  }
});
