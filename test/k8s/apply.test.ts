import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger } from '../../src/errors.js';
import { applyManifests, readManifests } from '../../src/k8s/index.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';

const K8S = 'examples/paket7/k8s';
let fake: FakeKubernetes;
let kubeconfig: string;
beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 5, namespaces: ['default', 'billing'] });
  kubeconfig = fake.kubeconfig({ namespace: 'billing' });
});
afterAll(() => fake.close());

describe('server-side apply', () => {
  test('the Paket 7 manifests apply with the field manager; a second apply changes nothing', async () => {
    const log = recordingLogger();
    const r = await applyManifests({ kubeconfig, manifests: [K8S, `${K8S}/cronjobs`] }, log);
    expect(r.objects.map((o) => `${o.kind}/${o.name}`)).toEqual([
      'Deployment/videokit-api',
      'Deployment/videokit-api-canary',
      'Ingress/videokit-api',
      'Ingress/videokit-api-canary',
      'Service/videokit-api',
      'Service/videokit-api-canary',
      'CronJob/webhook-retry',
      'CronJob/grace-period-cleanup',
    ]);
    expect(new Set(r.objects.map((o) => o.action))).toEqual(new Set(['created']));
    expect(r.objects).toHaveLength(8);
    const cron = fake.get('CronJob', 'billing', 'webhook-retry')!;
    expect(cron.spec.schedule).toBe('*/5 * * * *');
    expect(cron.metadata.managedFields[0].manager).toBe('runbook-actions');
    const applies = fake.requests.filter((x) => x.method === 'PATCH');
    expect(applies.every((x) => x.contentType === 'application/apply-patch+yaml')).toBe(true);
    expect(
      applies.every(
        (x) => /fieldManager=runbook-actions/.test(x.path) && /force=true/.test(x.path),
      ),
    ).toBe(true);
    // a dry run of every object comes before the first real apply
    const firstReal = applies.findIndex((x) => !x.path.includes('dryRun=All'));
    expect(applies.slice(0, firstReal)).toHaveLength(8);

    const again = await applyManifests({ kubeconfig, manifests: [`${K8S}/cronjobs`] }, log);
    expect(again.objects.map((o) => o.action)).toEqual(['unchanged', 'unchanged']);
  });

  test('a field owned by another manager conflicts without force, and is taken over with force', async () => {
    const log = recordingLogger();
    await applyManifests({ kubeconfig, manifests: [`${K8S}/cronjobs/webhook-retry.yaml`] }, log);
    // someone changes the schedule by hand (kubectl edit / patch)
    const res = await fetch(
      `${fake.url}/apis/batch/v1/namespaces/billing/cronjobs/webhook-retry?fieldManager=kubectl-edit`,
      {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ spec: { schedule: '*/15 * * * *' } }),
      },
    );
    expect(res.status).toBe(200);
    const err = await applyManifests(
      { kubeconfig, manifests: [`${K8S}/cronjobs/webhook-retry.yaml`], force: false },
      log,
    ).catch((e) => e);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toContain(
      `input 'manifests': ${K8S}/cronjobs/webhook-retry.yaml:4: CronJob/webhook-retry: Apply failed with 1 conflict: conflict with "kubectl-edit" using batch/v1: .spec.schedule`,
    );
    expect(err.location).toEqual({ file: `${K8S}/cronjobs/webhook-retry.yaml`, line: 4 });
    expect(fake.get('CronJob', 'billing', 'webhook-retry')!.spec.schedule).toBe('*/15 * * * *');
    const r = await applyManifests(
      { kubeconfig, manifests: [`${K8S}/cronjobs/webhook-retry.yaml`] },
      log,
    );
    expect(r.objects[0].action).toBe('configured');
    expect(fake.get('CronJob', 'billing', 'webhook-retry')!.spec.schedule).toBe('*/5 * * * *');
  });

  test('mistakes name the file and line, and nothing is applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
    const good = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok-config\ndata:\n  a: "1"\n';
    writeFileSync(
      join(dir, 'a.yaml'),
      good + '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n',
    );
    expect(() => readManifests([dir])).toThrow(
      `input 'manifests': ${join(dir, 'a.yaml')}:10: ConfigMap: metadata.name is required`,
    );
    writeFileSync(
      join(dir, 'a.yaml'),
      good + '---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
    );
    const realApplies = () =>
      fake.requests.filter((x) => x.method === 'PATCH' && !x.path.includes('dryRun')).length;
    const before = realApplies();
    await expect(
      applyManifests({ kubeconfig, manifests: [dir] }, recordingLogger()),
    ).rejects.toThrow(
      `${join(dir, 'a.yaml')}:8: the server does not know kind Widget in example.com/v1`,
    );
    writeFileSync(
      join(dir, 'a.yaml'),
      good +
        '---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: no-image\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n',
    );
    await expect(
      applyManifests({ kubeconfig, manifests: [dir] }, recordingLogger()),
    ).rejects.toThrow(
      /a\.yaml:8: Job\/no-image: Job\.batch "no-image" is invalid: \[spec\.template\.spec\.containers\[0\]\.image: Required value, spec\.template\.spec\.restartPolicy: Required value/,
    );
    expect(fake.get('ConfigMap', 'billing', 'ok-config')).toBeUndefined();
    expect(realApplies()).toBe(before);
    writeFileSync(join(dir, 'a.yaml'), 'kind: [\n');
    expect(() => readManifests([dir])).toThrow(/a\.yaml:\d+:\d+: invalid YAML/);
    expect(() => readManifests([join(dir, 'nope.yaml')])).toThrow(
      "input 'manifests': no such file or directory",
    );
  });
});
