/**
 * `runner: kubernetes`: the execute as a Kubernetes Indexed Job, one index per partition, so a
 * backfill of a private database runs inside the cluster and is not bound to a CI runner's job
 * time limit.
 *
 * The Job follows "Jobs" in the Kubernetes documentation (kubernetes.io/docs/concepts/
 * workloads/controllers/job/, "Completion mode" and "Backoff limit per index"):
 * `completionMode: Indexed`, `completions` = `parallelism` = partitions, `backoffLimitPerIndex`
 * retries of each index, `restartPolicy: Never`. Each pod runs the CLI image (pinned by digest)
 * as `runbook backfill execute --partition-index $(JOB_COMPLETION_INDEX) --run-token T`; the
 * database URL comes from a Secret through `secretKeyRef` and never appears in the Job; the spec
 * is a ConfigMap owned by the Job. The first index creates the run (or adopts the unfinished
 * run of the same spec) and its partitions; every index then works its own key range, and the
 * checkpoint rows make a retried or resubmitted index resume where it stopped.
 *
 * This side follows the Job with `@kubernetes/client-node`, streams each index's log into the
 * step log, and on cancel deletes the Job (the checkpoint keeps the work).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { V1ConfigMap, V1Job, V1Pod } from '@kubernetes/client-node';
import { ConfigError, type Logger } from '../errors.js';
import {
  apiStatus,
  call,
  connect,
  patchAs,
  PatchStrategy,
  pollSettings,
  type ClusterOptions,
  type PollOptions,
} from '../k8s/client.js';
import { loadBackfillSpec, MAX_PARTITIONS, type BackfillSpec } from './spec.js';

/** Options of {@link executeInKubernetes}. */
export interface KubernetesExecuteOptions extends ClusterOptions, PollOptions {
  /** The spec file (its text goes into a ConfigMap). */
  spec: string;
  /** The runbook CLI image, pinned by digest: `ghcr.io/org/runbook@sha256:<64 hex>`. */
  image: string;
  /** The Secret (in the namespace) holding the database URL: `name` or `name/key` (key default `DATABASE_URL`). */
  databaseSecret: string;
  /** Partitions (= Job indexes); default: the spec's `partitions`. */
  partitions?: number;
  /** Overrides the spec's `batch-size`. */
  batchSize?: number;
  /** Retries of each failed index (`backoffLimitPerIndex`), default 3. */
  backoffLimitPerIndex?: number;
  /** Service account of the pods. */
  serviceAccountName?: string;
  /** Aborting deletes the Job (the checkpoint keeps the work). */
  signal?: AbortSignal;
}

/** One index's outcome. */
export interface IndexOutcome {
  index: number;
  /** `Succeeded`, `Failed` (after its retries), `Running` or `Pending`. */
  phase: string;
  /** Pods started for this index (retries included). */
  attempts: number;
  /** The last progress or result line the index printed. */
  lastLine?: string;
}

/** Result of {@link executeInKubernetes}. */
export interface KubernetesExecuteResult {
  job: string;
  namespace: string;
  /** `Complete`, `Failed`, `Cancelled` (Job deleted on cancel) or `Timeout`. */
  status: 'Complete' | 'Failed' | 'Cancelled' | 'Timeout';
  reason?: string;
  completedIndexes: string;
  failedIndexes: string;
  indexes: IndexOutcome[];
  /** The run token the indexes shared. */
  runToken: string;
  /** Wall time, milliseconds. */
  durationMs: number;
}

const DIGEST = /^[^\s@]+@sha256:[0-9a-f]{64}$/;
const INDEX = 'batch.kubernetes.io/job-completion-index';

/**
 * The Job and ConfigMap for a spec (exported for tests and for `--dry-run` style printing).
 * @throws ConfigError for an image not pinned by digest, a bad secret reference or partitions
 */
export function indexedJobManifest(
  spec: BackfillSpec,
  specText: string,
  options: KubernetesExecuteOptions,
  runToken: string,
): { job: V1Job; configMap: V1ConfigMap } {
  if (!DIGEST.test(options.image)) {
    throw new ConfigError(
      `must be pinned by digest (name@sha256:<64 hex digits>), got '${options.image}': a tag can move while a backfill runs, and every index must run the same code`,
      undefined,
      'image',
    );
  }
  const [secretName, secretKey = 'DATABASE_URL'] = options.databaseSecret.split('/');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(secretName ?? '') || !secretKey) {
    throw new ConfigError(
      `expected a Secret name or name/key, got '${options.databaseSecret}'`,
      undefined,
      'database-secret',
    );
  }
  const n = options.partitions ?? spec.partitions;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw new ConfigError(
      `must be an integer from 1 to ${MAX_PARTITIONS}, got ${n}`,
      undefined,
      'partitions',
    );
  }
  const base = `backfill-${spec.name.replace(/[^a-z0-9-]/g, '-')}`.slice(0, 40);
  const labels = {
    'app.kubernetes.io/name': 'runbook-backfill',
    'app.kubernetes.io/managed-by': 'runbook-actions',
    'runbook.dev/backfill': spec.name.replace(/[^a-z0-9._-]/g, '-').slice(0, 63),
  };
  const args = [
    'backfill',
    'execute',
    '--spec',
    '/etc/runbook/spec.yml',
    '--partitions',
    String(n),
    '--partition-index',
    '$(JOB_COMPLETION_INDEX)',
    '--run-token',
    runToken,
    '--lock-wait',
    '60s',
    ...(options.batchSize ? ['--batch-size', String(options.batchSize)] : []),
  ];
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { generateName: `${base}-`, namespace: options.namespace, labels },
    spec: {
      completionMode: 'Indexed',
      completions: n,
      parallelism: n,
      backoffLimitPerIndex: options.backoffLimitPerIndex ?? 3,
      // Every index must finish: the Job fails once an index used up its retries.
      maxFailedIndexes: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
          containers: [
            {
              name: 'backfill',
              image: options.image,
              args,
              env: [
                {
                  name: 'DATABASE_URL',
                  valueFrom: { secretKeyRef: { name: secretName, key: secretKey } },
                },
              ],
              volumeMounts: [{ name: 'spec', mountPath: '/etc/runbook', readOnly: true }],
            },
          ],
          volumes: [{ name: 'spec', configMap: { name: '' } }],
        },
      },
    },
  };
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: '', namespace: options.namespace, labels },
    data: { 'spec.yml': specText },
  };
  return { job, configMap };
}

/**
 * Submits the execute as an Indexed Job, follows it to the end and streams each index's log.
 * @returns the outcome; `status` is `Failed` when an index failed after its retries
 * @throws ConfigError for bad inputs or a Job the API server rejects
 */
export async function executeInKubernetes(
  options: KubernetesExecuteOptions,
  logger: Logger,
): Promise<KubernetesExecuteResult> {
  const spec = loadBackfillSpec(options.spec);
  const specText = readFileSync(options.spec, 'utf8');
  const c = connect(options);
  const namespace = options.namespace || c.namespace;
  const poll = pollSettings(options);
  const runToken = randomUUID().slice(0, 13);
  const { job: body, configMap } = indexedJobManifest(
    spec,
    specText,
    { ...options, namespace },
    runToken,
  );
  const started = Date.now();
  // The spec first (a generated name), then the Job that mounts it, then the ConfigMap handed
  // to the Job as its owner so that deleting the Job deletes it (a Job template is immutable).
  configMap.metadata = {
    ...configMap.metadata,
    name: undefined,
    generateName: `${body.metadata!.generateName}spec-`,
  };
  const cm = await call(`configmap in namespace '${namespace}'`, 'namespace', () =>
    c.core.createNamespacedConfigMap({ namespace, body: configMap }),
  );
  const cmName = cm.metadata!.name!;
  body.spec!.template.spec!.volumes![0].configMap!.name = cmName;
  let job: V1Job;
  try {
    job = await c.batch.createNamespacedJob({ namespace, body, fieldManager: 'runbook-actions' });
  } catch (e) {
    await c.core.deleteNamespacedConfigMap({ name: cmName, namespace }).catch(() => {});
    const st = apiStatus(e);
    if (st && (st.code === 422 || st.code === 400)) throw new ConfigError(st.message);
    return call(`job in namespace '${namespace}'`, 'namespace', () => Promise.reject(e));
  }
  const name = job.metadata!.name!;
  const uid = job.metadata!.uid!;
  await call(`configmap '${cmName}'`, undefined, () =>
    c.core.patchNamespacedConfigMap(
      {
        name: cmName,
        namespace,
        body: {
          metadata: {
            ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid }],
          },
        },
      },
      patchAs(PatchStrategy.MergePatch),
    ),
  );
  logger.info(
    `job "${name}" created in namespace "${namespace}": ${body.spec!.completions} index(es), image ${options.image}, database URL from secret ${options.databaseSecret}`,
  );
  const seen = new Map<string, number>();
  const attempts = new Map<number, Set<string>>();
  const lastLine = new Map<number, string>();
  const pull = async (): Promise<V1Pod[]> => {
    const pods = await call(`pods of job '${name}'`, undefined, () =>
      c.core.listNamespacedPod({ namespace, labelSelector: `controller-uid=${uid}` }),
    );
    for (const pod of pods.items) {
      const podName = pod.metadata!.name!;
      const index = Number(pod.metadata?.annotations?.[INDEX] ?? pod.metadata?.labels?.[INDEX]);
      if (!attempts.has(index)) attempts.set(index, new Set());
      attempts.get(index)!.add(podName);
      if (pod.status?.phase === 'Pending') continue;
      let text: string;
      try {
        text = await c.core.readNamespacedPodLog({ name: podName, namespace });
      } catch {
        continue;
      }
      const lines = String(text ?? '').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const line of lines.slice(seen.get(podName) ?? 0)) {
        logger.info(`[#${index}] ${line}`);
        if (/progress:|Run #\d+ |failed|error/i.test(line)) lastLine.set(index, line);
      }
      seen.set(podName, lines.length);
    }
    return pods.items;
  };
  const outcome = (
    status: KubernetesExecuteResult['status'],
    j: V1Job,
    pods: V1Pod[],
  ): KubernetesExecuteResult => {
    const n = body.spec!.completions!;
    return {
      job: name,
      namespace,
      status,
      reason: j.status?.conditions?.find((x) => x.type === status)?.reason,
      completedIndexes: j.status?.completedIndexes ?? '',
      failedIndexes: j.status?.failedIndexes ?? '',
      runToken,
      durationMs: Date.now() - started,
      indexes: Array.from({ length: n }, (_, i) => {
        const mine = pods.filter(
          (p) => Number(p.metadata?.annotations?.[INDEX] ?? p.metadata?.labels?.[INDEX]) === i,
        );
        const phases = mine.map((p) => p.status?.phase ?? 'Pending');
        return {
          index: i,
          phase: phases.includes('Succeeded')
            ? 'Succeeded'
            : phases.includes('Running')
              ? 'Running'
              : phases.length && !phases.includes('Pending')
                ? 'Failed'
                : 'Pending',
          attempts: attempts.get(i)?.size ?? 0,
          lastLine: lastLine.get(i),
        };
      }),
    };
  };
  for (;;) {
    if (options.signal?.aborted) {
      logger.warning(
        `cancelled: deleting job "${name}" (its indexes stop; the checkpoint keeps every committed batch and the next execute resumes)`,
      );
      const pods = await pull().catch(() => []);
      await c.batch
        .deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' })
        .catch(() => {});
      await c.core.deleteNamespacedConfigMap({ name: cmName, namespace }).catch(() => {});
      return outcome('Cancelled', job, pods);
    }
    job = await call(`job '${name}'`, undefined, () =>
      c.batch.readNamespacedJob({ name, namespace }),
    );
    const pods = await pull();
    const done = job.status?.conditions?.find(
      (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
    );
    if (done) {
      const r = outcome(done.type as 'Complete' | 'Failed', job, pods);
      logger.info(
        `job "${name}" ${done.type === 'Complete' ? 'completed' : `failed (${done.reason}; failed indexes ${r.failedIndexes})`}: completed indexes ${r.completedIndexes || 'none'}`,
      );
      return r;
    }
    if (Date.now() - started >= poll.timeoutMs) {
      logger.warning(
        `job "${name}" still running after ${Math.round(poll.timeoutMs / 1000)} s; left running`,
      );
      return outcome('Timeout', job, pods);
    }
    await poll.sleep(poll.intervalMs);
  }
}
