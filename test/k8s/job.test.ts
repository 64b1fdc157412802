import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger } from '../../src/errors.js';
import { JobFailedError, runJob } from '../../src/k8s/index.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';

const MIGRATE = 'examples/paket7/k8s/jobs/migrate.yaml';
let fake: FakeKubernetes;
let kubeconfig: string;
let dir: string;
beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 5, namespaces: ['default', 'billing'] });
  kubeconfig = fake.kubeconfig();
  dir = mkdtempSync(join(tmpdir(), 'job-'));
});
afterAll(() => fake.close());
const fast = { pollIntervalMs: 5, timeoutMs: 20_000 };

describe('run-job', () => {
  test('the migrations Job completes and its logs are streamed', async () => {
    const log = recordingLogger();
    const r = await runJob({ kubeconfig, jobManifest: MIGRATE, ...fast }, log);
    expect(r.status).toBe('Complete');
    expect(r.namespace).toBe('billing');
    expect(r.name).toMatch(/^videokit-api-migrate-[a-z0-9]{5}$/);
    expect(r.succeededPods).toBe(1);
    expect(r.logs[0]).toMatch(
      /^\[videokit-api-migrate-\w+-\w+\] starting migrate \(registry\.example\.com\/videokit-api:7\.19\.0\)$/,
    );
    expect(r.logs.map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'starting migrate (registry.example.com/videokit-api:7.19.0)',
      '$ node',
      '$ scripts/migrate.js',
      '$ --dir',
      '$ migrations',
      'step 1',
      'step 2',
      'step 3',
      'done',
    ]);
    // every line was logged once, as it came
    expect(log.lines.filter((l) => l.endsWith('] done'))).toHaveLength(1);
    expect(
      fake.get('Job', 'billing', r.name)?.status.conditions.find((c: any) => c.type === 'Complete')
        .status,
    ).toBe('True');
  });

  test('a Job that fails reports its reason and logs', async () => {
    const file = join(dir, 'fail.yaml');
    writeFileSync(
      file,
      readFileSync(MIGRATE, 'utf8')
        .replace('videokit-api:7.19.0', 'videokit-api:7.19.0-fail')
        .replace('backoffLimit: 0', 'backoffLimit: 1'),
    );
    const log = recordingLogger();
    const err = await runJob({ kubeconfig, jobManifest: file, ...fast }, log).catch((e) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err.reason).toBe('BackoffLimitExceeded');
    expect(err.message).toMatch(
      /^job "videokit-api-migrate-\w+" failed: BackoffLimitExceeded: Job has reached the specified backoff limit$/,
    );
    const r = (err as JobFailedError).result;
    expect(r.failedPods).toBe(2); // backoffLimit 1: the first pod and one retry
    const failures = r.logs.filter((l) => l.includes('error: migration failed'));
    expect(failures).toHaveLength(2);
    expect(new Set(failures.map((l) => l.split(']')[0])).size).toBe(2); // from two different pods
    expect(log.lines.some((l) => l.includes('error: migration failed'))).toBe(true);
  });

  test('manifest mistakes are ConfigErrors with file and line; a taken name is explained', async () => {
    const log = recordingLogger();
    await expect(
      runJob({ kubeconfig, jobManifest: 'examples/paket7/k8s/service.yaml', ...fast }, log),
    ).rejects.toThrow(
      "input 'job-manifest': examples/paket7/k8s/service.yaml:13: expected exactly one Job, found 2 objects",
    );
    await expect(
      runJob(
        { kubeconfig, jobManifest: 'examples/paket7/k8s/cronjobs/webhook-retry.yaml', ...fast },
        log,
      ),
    ).rejects.toThrow(/expected exactly one Job/);
    const named = join(dir, 'named.yaml');
    writeFileSync(
      named,
      readFileSync(MIGRATE, 'utf8').replace(
        'generateName: videokit-api-migrate-',
        'name: videokit-api-migrate',
      ),
    );
    await runJob({ kubeconfig, jobManifest: named, ...fast }, log);
    await expect(runJob({ kubeconfig, jobManifest: named, ...fast }, log)).rejects.toThrow(
      "job 'videokit-api-migrate' already exists in namespace 'billing': delete it, or use metadata.generateName",
    );
    const notJob = join(dir, 'cm.yaml');
    writeFileSync(notJob, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n');
    await expect(runJob({ kubeconfig, jobManifest: notJob, ...fast }, log)).rejects.toThrow(
      `${notJob}:1: expected a batch/v1 Job, found v1 ConfigMap`,
    );
  });
});
