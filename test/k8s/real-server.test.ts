/**
 * Where the rollout engine met a real API server's answers: each case has the fake answer with
 * the real server's status code, `Status` object and message (the sources are cited in
 * test/support/k8s-fake-*.ts), and the engine must handle it. Then the faults of a bad day: a
 * 500, a hung API server.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger } from '../../src/errors.js';
import {
  applyManifests,
  CanaryStepError,
  runJob,
  RolloutError,
  setImage,
  stepCanaryWeights,
  undoRollout,
  waitForRollout,
} from '../../src/k8s/index.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment, ingress } from '../support/k8s-fixtures.js';

let fake: FakeKubernetes;
let kubeconfig: string;
let dir: string;
beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 5, namespaces: ['default', 'prod'] });
  kubeconfig = fake.kubeconfig({ namespace: 'prod' });
  dir = mkdtempSync(join(tmpdir(), 'real-server-'));
});
afterAll(() => fake.close());
const fast = { pollIntervalMs: 10, timeoutMs: 20_000 };

async function answer(method: string, path: string, type: string, body: unknown) {
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers: { 'content-type': type },
    body: JSON.stringify(body),
  });
  return { code: res.status, body: (await res.json()) as any };
}

describe('answers of a real API server', () => {
  test('undo retries when the Deployment changed between its read and its patch (422 "the server rejected our request")', async () => {
    fake.seed(deployment('raced', 'prod', 'repo/raced:v1', 1));
    const log = recordingLogger();
    await waitForRollout({ kubeconfig, deployment: 'raced', ...fast }, log);
    await setImage(
      { kubeconfig, deployment: 'raced', images: { api: 'repo/raced:v2' }, ...fast },
      log,
    );
    await waitForRollout({ kubeconfig, deployment: 'raced', ...fast }, log);
    // The real server's answer to a failed `test` op: 422 Invalid, a generic message, the
    // json-patch text only as a cause (apiserver handlers/patch.go, NewGenericServerResponse).
    const read = fake.get('Deployment', 'prod', 'raced')!;
    const rejected = await answer(
      'PATCH',
      '/apis/apps/v1/namespaces/prod/deployments/raced',
      'application/json-patch+json',
      [{ op: 'test', path: '/metadata/resourceVersion', value: 'stale' }],
    );
    expect(rejected.code).toBe(422);
    expect(rejected.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message: 'the server rejected our request due to an error in our request',
      details: {
        causes: [
          {
            reason: 'UnexpectedServerResponse',
            message: 'testing value /metadata/resourceVersion failed: test failed',
          },
        ],
      },
    });
    expect(rejected.body.message).not.toMatch(/test/);
    // another writer changes the Deployment right before undo's first patch
    let raced = false;
    fake.onRequest = ({ method, path }) => {
      if (!raced && method === 'PATCH' && path.includes('/deployments/raced')) {
        raced = true;
        fake.update('Deployment', 'prod', 'raced', (o) => {
          o.metadata.annotations = { ...o.metadata.annotations, 'team/owner': 'billing' };
        });
      }
    };
    try {
      const undo = await undoRollout({ kubeconfig, deployment: 'raced', ...fast }, log);
      expect(undo.images).toEqual({ api: 'repo/raced:v1' });
    } finally {
      fake.onRequest = undefined;
    }
    expect(raced).toBe(true);
    expect(log.lines.some((l) => l.includes('changed while rolling back; retrying'))).toBe(true);
    const patches = fake.requests.filter(
      (r) =>
        r.method === 'PATCH' &&
        r.path.includes('/deployments/raced') &&
        r.contentType === 'application/json-patch+json',
    );
    expect(patches).toHaveLength(3); // the probe above, the raced patch, the retry
    expect(read.metadata.resourceVersion).not.toBe(
      fake.get('Deployment', 'prod', 'raced')!.metadata.resourceVersion,
    );
  });

  test("run-job reads each container's log of a pod with a sidecar (the server answers 400 without `container`)", async () => {
    const file = join(dir, 'sidecar.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: batch/v1',
        'kind: Job',
        'metadata:',
        '  generateName: migrate-',
        'spec:',
        '  backoffLimit: 0',
        '  template:',
        '    spec:',
        '      restartPolicy: Never',
        '      initContainers:',
        '        - name: cloud-sql-proxy',
        '          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2',
        '          restartPolicy: Always',
        '      containers:',
        '        - name: migrate',
        '          image: repo/api:v1',
        '          args: [migrate]',
        '        - name: log-shipper',
        '          image: fluent-bit:3',
        '',
      ].join('\n'),
    );
    const log = recordingLogger();
    let created: string | undefined;
    const r = await runJob(
      { kubeconfig, jobManifest: file, ...fast, onCreated: (j) => void (created = j.name) },
      log,
    );
    expect(created).toBe(r.name);
    const pod = fake.list('Pod', 'prod').find((p) => p.metadata.labels['job-name'] === r.name)!;
    const bare = await fetch(`${fake.url}/api/v1/namespaces/prod/pods/${pod.metadata.name}/log`);
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({
      reason: 'BadRequest',
      message: `a container name must be specified for pod ${pod.metadata.name}, choose one of: [migrate log-shipper] or one of the init containers: [cloud-sql-proxy]`,
    });
    const p = pod.metadata.name;
    expect(r.logs).toContain(`[${p}/migrate] starting migrate (repo/api:v1)`);
    expect(r.logs).toContain(`[${p}/migrate] done`);
    expect(r.logs).toContain(`[${p}/cloud-sql-proxy] cloud-sql-proxy: sidecar ready`);
    expect(r.logs).toContain(`[${p}/log-shipper] log-shipper: ready`);
    expect(log.lines.filter((l) => l.startsWith('warning'))).toEqual([]);
    // every log read named its container
    const reads = fake.requests.filter(
      (x) => x.path.includes(`/pods/${p}/log`) && x.method === 'GET',
    );
    expect(reads.filter((x) => !x.path.includes('container=')).length).toBe(1); // the probe above
  });

  test('a Namespace and its contents apply in one run (the server refuses a dry run in a missing namespace)', async () => {
    const probe = await answer(
      'PATCH',
      '/api/v1/namespaces/team-new/configmaps/settings?dryRun=All&fieldManager=x',
      'application/apply-patch+yaml',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } },
    );
    expect(probe.code).toBe(404);
    expect(probe.body).toMatchObject({
      reason: 'NotFound',
      message: 'namespaces "team-new" not found',
      details: { name: 'team-new', kind: 'namespaces' },
    });
    const m = join(dir, 'namespaced');
    writeFileSync(
      `${m}.yaml`,
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: settings, namespace: team-new}',
        'data: {mode: canary}',
        '---',
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: {name: team-new}',
        '',
      ].join('\n'),
    );
    const log = recordingLogger();
    const r = await applyManifests({ kubeconfig, manifests: [`${m}.yaml`] }, log);
    expect(r.objects.map((o) => `${o.kind}/${o.name}:${o.action}`)).toEqual([
      'Namespace/team-new:created',
      'ConfigMap/settings:created',
    ]);
    expect(fake.get('ConfigMap', 'team-new', 'settings')?.data).toEqual({ mode: 'canary' });

    // contents the server refuses: the new namespace is deleted again, nothing else applied
    writeFileSync(
      `${m}-bad.yaml`,
      [
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: {name: team-bad}',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: settings, namespace: team-bad}',
        'dataa: {mode: canary}',
        '',
      ].join('\n'),
    );
    const err = await applyManifests({ kubeconfig, manifests: [`${m}-bad.yaml`] }, log).catch(
      (e) => e,
    );
    expect(err.name).toBe('ConfigError');
    expect(err.message).toContain(
      `${m}-bad.yaml:5: ConfigMap/settings: failed to create typed patch object`,
    );
    expect(err.message).toContain(
      "the new namespace(s) 'team-bad' created for this dry run were deleted again",
    );
    expect(fake.get('Namespace', '', 'team-bad')).toBeUndefined();

    // a namespace that neither exists nor is in the manifests is named before anything is sent
    writeFileSync(
      `${m}-missing.yaml`,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}\n',
    );
    await expect(
      applyManifests({ kubeconfig, manifests: [`${m}-missing.yaml`] }, log),
    ).rejects.toThrow(
      "ConfigMap/x: namespace 'nowhere' does not exist (create it first, or add a v1 Namespace 'nowhere' to the manifests)",
    );
  });

  test('server-side dry runs and writes ask for fieldValidation=Strict: a typo is refused, not dropped', async () => {
    writeFileSync(
      join(dir, 'typo.yaml'),
      readFileSync('examples/paket7/k8s/deployment.yaml', 'utf8')
        .replaceAll('namespace: billing', 'namespace: prod')
        .replace(/image:/, 'imagee:'),
    );
    const err = await applyManifests(
      { kubeconfig, manifests: [join(dir, 'typo.yaml')] },
      recordingLogger(),
    ).catch((e) => e);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(
      /Deployment\/videokit-api: failed to create typed patch object \(apps\/v1, Kind=Deployment\): \.spec\.template\.spec\.containers\[0\]\.imagee: field not declared in schema/,
    );
    const engineWrites = fake.requests.filter(
      (r) =>
        (r.method === 'PATCH' || r.method === 'POST') &&
        r.path.includes('fieldManager=runbook-actions'),
    );
    expect(engineWrites.length).toBeGreaterThan(5);
    expect(engineWrites.filter((r) => !r.path.includes('fieldValidation=Strict'))).toEqual([]);
  });
});

describe('faults', () => {
  test('one 500 does not abort wait, run-job or set-weight: idempotent requests are retried', async () => {
    fake.seed(deployment('flaky', 'prod', 'repo/flaky:v1', 1));
    fake.seed(ingress('flaky-canary', 'prod', 'flaky-canary', { weight: 0 }));
    const log = recordingLogger();
    fake.fault({ method: 'GET', path: /deployments\/flaky/, status: 500 });
    await waitForRollout({ kubeconfig, deployment: 'flaky', ...fast }, log);
    fake.fault({
      method: 'PATCH',
      path: /ingresses\/flaky-canary/,
      status: 503,
      retryAfterSeconds: 0,
    });
    const w = await stepCanaryWeights(
      { kubeconfig, ingress: 'flaky-canary', weights: [1, 5] },
      log,
    );
    expect(w.weight).toBe(5);
    const retries = log.lines.filter((l) => l.includes('retrying in'));
    expect(
      retries.some((l) => l.includes("deployment 'flaky'") && l.includes('answered 500')),
    ).toBe(true);
    expect(
      retries.some((l) => l.includes("patch ingress 'flaky-canary'") && l.includes('answered 503')),
    ).toBe(true);
  });

  test('run-job survives a 500 while it polls the Job', async () => {
    const log = recordingLogger();
    const file = join(dir, 'job.yaml');
    writeFileSync(
      file,
      readFileSync('examples/paket7/k8s/jobs/migrate.yaml', 'utf8').replace(
        'namespace: billing',
        'namespace: prod',
      ),
    );
    fake.fault({ method: 'GET', path: /\/jobs\/videokit-api-migrate-/, status: 500 });
    fake.fault({ method: 'GET', path: /\/pods\?/, status: 429, retryAfterSeconds: 0 });
    const r = await runJob({ kubeconfig, jobManifest: file, ...fast }, log);
    expect(r.status).toBe('Complete');
    expect(log.lines.filter((l) => l.includes('retrying in')).length).toBeGreaterThanOrEqual(2);
  });

  test('a create is not repeated after a 500 (a lost answer may hide a created Job)', async () => {
    const file = join(dir, 'job.yaml');
    const stop = fake.fault({ method: 'POST', path: /\/jobs/, status: 500 });
    const before = fake.list('Job', 'prod').length;
    await expect(
      runJob({ kubeconfig, jobManifest: file, ...fast }, recordingLogger()),
    ).rejects.toThrow(/answered 500/);
    stop();
    expect(
      fake.requests.filter((r) => r.method === 'POST' && r.path.includes('/jobs')).length,
    ).toBeGreaterThan(0);
    expect(fake.list('Job', 'prod').length).toBe(before);
  });

  test('wait with a 5 s timeout against a hung API server ends near 5 s', async () => {
    fake.seed(deployment('hung', 'prod', 'repo/hung:v1', 1));
    const stop = fake.fault({ path: /deployments\/hung/, hang: true, times: Infinity });
    const started = Date.now();
    try {
      const err = await waitForRollout(
        { kubeconfig, deployment: 'hung', pollIntervalMs: 10, timeoutMs: 5000 },
        recordingLogger(),
      ).catch((e) => e);
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(RolloutError);
      expect(err.reason).toBe('Timeout');
      expect(err.message).toContain(
        'timed out after 5 s waiting for deployment "hung": the API server did not answer in time',
      );
      expect(took).toBeGreaterThanOrEqual(4900);
      expect(took).toBeLessThan(8000);
    } finally {
      stop();
    }
  });

  test('a set-weight that fails part-way says where the canary is', async () => {
    fake.seed(ingress('halfway-canary', 'prod', 'halfway-canary', { weight: 0 }));
    let patches = 0;
    const stop = fake.fault({
      method: 'PATCH',
      path: /ingresses\/halfway-canary/,
      status: 500,
      times: Infinity,
    });
    stop(); // armed below, after the first weight is in place
    const err = await stepCanaryWeights(
      {
        kubeconfig,
        ingress: 'halfway-canary',
        weights: [1, 5, 20],
        onStep: async () => {
          if (++patches === 1)
            fake.fault({
              method: 'PATCH',
              path: /ingresses\/halfway-canary/,
              status: 500,
              times: Infinity,
            });
        },
      },
      recordingLogger(),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(CanaryStepError);
    expect(err.state.weight).toBe(1);
    expect(err.state.steps.map((s: any) => s.weight)).toEqual([1]);
    expect(err.message).toContain(
      'setting the canary weight to 5% failed (step 2/3); the canary is at 1%',
    );
    expect(
      fake.get('Ingress', 'prod', 'halfway-canary')!.metadata.annotations[
        'nginx.ingress.kubernetes.io/canary-weight'
      ],
    ).toBe('1');
  }, 30_000);
});
