/**
 * `runner: kubernetes` end to end: the execute submitted as an Indexed Job to the Kubernetes API
 * fake, whose controller starts every index as a local process of the real CLI
 * (`bin/runbook.mjs`) against the embedded PostgreSQL, so the partitions truly run in parallel.
 * Cancelling deletes the Job (its processes get SIGTERM and stop after their batch); the next
 * submission adopts the unfinished run and completes it with every row written exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeInKubernetes, indexedJobManifest } from '../../src/backfill/kubernetes.js';
import { loadBackfillSpec, verifyBackfill } from '../../src/backfill/index.js';
import { ConfigError, recordingLogger, silentLogger, sleep } from '../../src/errors.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { indexedJobController } from '../support/k8s-indexed-job.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { root, writeSpec } from './helpers.js';

const ROWS = 1500;
const IMAGE = `ghcr.io/acme/runbook@sha256:${'ab'.repeat(32)}`;
let db: TestDatabase;
let fake: FakeKubernetes;
let spec: string;
const controller = indexedJobController({
  entrypoint: [process.execPath, join(root, 'bin/runbook.mjs')],
  cwd: root,
});

beforeAll(async () => {
  db = await freshDatabase('backfill_k8s');
  await withClient(db.url, async (c) => {
    await c.query(`CREATE TABLE counter (id bigint PRIMARY KEY, hits integer NOT NULL DEFAULT 0)`);
    await c.query(`INSERT INTO counter (id) SELECT generate_series(1, $1)`, [ROWS]);
  });
  spec = writeSpec(
    mkdtempSync(join(tmpdir(), 'bf-k8s-')),
    'counter.yml',
    `name: counter
target:
  table: counter
  key: id
  columns: [hits]
source: SELECT id, hits + 1 AS hits FROM counter
mode: update
idempotent: false
partitions: 3
batch-size: 20
throttle:
  pause: 60ms
  target-batch-duration: 5s
  max-batch-duration: 10s
verify:
  - name: every-row-once
    sql: SELECT id, hits FROM counter WHERE hits <> 1
`,
  );
  fake = await startFakeKubernetes({ jobController: controller });
  fake.seed({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'billing-db', namespace: 'billing' },
    data: { url: Buffer.from(db.url).toString('base64') },
  });
});
afterAll(async () => {
  await fake.close();
  await db.dispose();
});

const hits = () =>
  withClient(db.url, (c) =>
    c
      .query(
        `SELECT coalesce(sum(hits), 0) AS sum, count(*) FILTER (WHERE hits = 0) AS lost,
                count(*) FILTER (WHERE hits > 1) AS twice FROM counter`,
      )
      .then((r) => ({
        sum: Number(r.rows[0].sum),
        lost: Number(r.rows[0].lost),
        twice: Number(r.rows[0].twice),
      })),
  );

it('refuses an image not pinned by digest and a bad secret reference', () => {
  const s = loadBackfillSpec(spec);
  const base = { spec, image: IMAGE, databaseSecret: 'billing-db/url', namespace: 'billing' };
  expect(() =>
    indexedJobManifest(s, '', { ...base, image: 'ghcr.io/acme/runbook:1.4' }, 't'),
  ).toThrow(/input 'image': must be pinned by digest/);
  expect(() => indexedJobManifest(s, '', { ...base, databaseSecret: 'Bad_Name' }, 't')).toThrow(
    ConfigError,
  );
});

it('runs every partition as an index of an Indexed Job; cancel deletes the Job; the next submission completes the run exactly once', async () => {
  const kubeconfig = fake.kubeconfig({ namespace: 'billing' });
  const options = {
    spec,
    image: IMAGE,
    databaseSecret: 'billing-db/url',
    kubeconfig,
    pollIntervalMs: 200,
    timeoutMs: 240_000,
  };

  // 1. Submitted, then cancelled once every index is writing.
  const ac = new AbortController();
  const log1 = recordingLogger();
  let maxRunning = 0;
  const watcher = (async () => {
    while (!ac.signal.aborted) {
      const r = await withClient(db.url, (c) =>
        c
          .query(
            `SELECT count(*) FILTER (WHERE status = 'running' AND batches > 0) AS n
               FROM runbook.backfill_partitions`,
          )
          .then((x) => Number(x.rows[0].n))
          .catch(() => 0),
      );
      maxRunning = Math.max(maxRunning, r);
      if (maxRunning === 3) ac.abort();
      await sleep(100);
    }
  })();
  const first = await executeInKubernetes({ ...options, signal: ac.signal }, log1);
  await watcher;
  expect(first.status).toBe('Cancelled');
  // Three processes of the CLI wrote at the same time.
  expect(maxRunning).toBe(3);
  expect(fake.get('Job', 'billing', first.job)).toBeUndefined();
  const text1 = log1.lines.join('\n');
  expect(text1).toMatch(/job "backfill-counter-\w+" created in namespace "billing": 3 index\(es\)/);
  expect(text1).toMatch(/\[#1\] .*partition #1/);
  expect(text1).toMatch(/cancelled: deleting job/);
  // SIGTERM: each index stops after its batch; wait for the processes to exit.
  for (let i = 0; i < 100 && (await sleep(100), true); i++) {
    const alive = await withClient(db.url, (c) =>
      c.query(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'runbook-backfill execute%'`,
      ),
    );
    if (Number(alive.rows[0].n) === 0) break;
  }
  const mid = await hits();
  expect(mid.twice).toBe(0);
  expect(mid.sum).toBeLessThan(ROWS);

  // 2. Submitted again: adopts the unfinished run, completes it.
  const log2 = recordingLogger();
  const second = await executeInKubernetes(options, log2);
  expect(second).toMatchObject({ status: 'Complete', completedIndexes: '0-2', failedIndexes: '' });
  expect(second.indexes.map((x) => x.phase)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
  expect(log2.lines.join('\n')).toMatch(/\[#\d\] Resuming run #1 of 'counter'/);
  expect(await hits()).toEqual({ sum: ROWS, lost: 0, twice: 0 });
  const runs = await withClient(db.url, (c) =>
    c.query(`SELECT id, status, rows_seen, partitions FROM runbook.backfill_runs`),
  );
  expect(runs.rows).toEqual([
    { id: '1', status: 'completed', rows_seen: String(ROWS), partitions: 3 },
  ]);
  expect((await verifyBackfill({ spec, databaseUrl: db.url }, silentLogger)).verified).toBe(true);

  // The Job: Indexed, per-index retries, the image by digest, the URL only as a Secret reference.
  const job = fake.get('Job', 'billing', second.job)!;
  expect(job.spec).toMatchObject({
    completionMode: 'Indexed',
    completions: 3,
    parallelism: 3,
    backoffLimitPerIndex: 3,
  });
  const container = job.spec.template.spec.containers[0];
  expect(container.image).toBe(IMAGE);
  expect(container.env).toEqual([
    { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'billing-db', key: 'url' } } },
  ]);
  const password = decodeURIComponent(new URL(db.url).password);
  expect(JSON.stringify(job)).not.toContain(password);
  expect(JSON.stringify(fake.requests)).not.toContain(password);
  expect(log2.lines.join('\n')).not.toContain(password);
  // Each submission ran every index (an index may be retried within backoffLimitPerIndex, e.g.
  // while the cancelled run's process still holds its partition lock).
  const perRun = new Map<string, Set<string>>();
  for (const p of controller.processes.filter((x) => x.args.includes('--partition-index'))) {
    const token = p.args[p.args.indexOf('--run-token') + 1];
    const index = p.args[p.args.indexOf('--partition-index') + 1];
    perRun.set(token, (perRun.get(token) ?? new Set()).add(index));
  }
  expect([...perRun.values()].map((s) => [...s].sort())).toEqual([
    ['0', '1', '2'],
    ['0', '1', '2'],
  ]);
}, 300_000);
