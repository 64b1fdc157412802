/**
 * Running a one-off Job (e.g. database migrations before a rollout) and waiting for it, as
 * `kubectl create -f job.yaml && kubectl wait --for=condition=complete job/<name>` plus
 * `kubectl logs`: the Job's `Complete` or `Failed` condition decides
 * (kubernetes.io/docs/concepts/workloads/controllers/job/, "Job termination and cleanup"), and
 * its pods' logs are streamed while it runs.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { ConfigError, type Logger } from '../errors.js';
import {
  apiStatus,
  call,
  connect,
  pollSettings,
  RolloutError,
  type ClusterOptions,
  type PollOptions,
} from './client.js';
import { readManifests } from './apply.js';
import { idempotent } from './request.js';
import { isTimeout, withDeadline, withRetries } from './transport.js';

/** Options of {@link runJob}. */
export interface RunJobOptions extends ClusterOptions, PollOptions {
  /** A YAML file with one batch/v1 Job (`metadata.name` or `metadata.generateName`). */
  jobManifest: string;
  /** How many trailing log lines the result keeps (default 50). */
  keepLogLines?: number;
  /**
   * Called as soon as the server has created the Job, with its name (generated from
   * `metadata.generateName` when the manifest has no name) and namespace: a caller that fails
   * later can still name the Job that runs.
   */
  onCreated?: (job: { name: string; namespace: string }) => void | Promise<void>;
}

/** The outcome of a Job. */
export interface JobResult {
  name: string;
  namespace: string;
  /** `Complete`, `Failed` or `Timeout` (still running when the timeout passed). */
  status: 'Complete' | 'Failed' | 'Timeout';
  /** The condition's reason, e.g. `BackoffLimitExceeded`, `DeadlineExceeded`, `CompletionsReached`. */
  reason?: string;
  message?: string;
  succeededPods: number;
  failedPods: number;
  /** Wall time from creation to the end, in milliseconds. */
  durationMs: number;
  /** The last `keepLogLines` log lines, each prefixed with its pod's name. */
  logs: string[];
}

/** A Job that failed or timed out; `result` carries its reason and logs. */
export class JobFailedError extends RolloutError {
  constructor(readonly result: JobResult) {
    super(
      result.status === 'Timeout'
        ? `job "${result.name}" did not finish in time (still running; not deleted)`
        : `job "${result.name}" failed: ${result.reason ?? 'Failed'}${result.message ? `: ${result.message}` : ''}`,
      result.status === 'Timeout' ? 'Timeout' : (result.reason ?? 'Failed'),
    );
  }
}

/**
 * Creates the Job in `jobManifest`, streams its pods' logs (each new line logged as
 * `[pod] line`), and waits for `Complete` or `Failed`.
 * @returns the result when the Job completes
 * @throws JobFailedError with the Job's reason and logs when it fails or `timeoutMs` passes
 * @throws ConfigError for a manifest that is not one batch/v1 Job (with file and line), or a Job
 *   name that already exists (use `metadata.generateName`)
 */
export async function runJob(options: RunJobOptions, logger: Logger): Promise<JobResult> {
  const c = connect(options);
  const poll = pollSettings(options);
  const keep = options.keepLogLines ?? 50;
  const objects = readJobManifest(options.jobManifest);
  const body = objects.object as V1Job;
  const namespace = body.metadata?.namespace || options.namespace || c.namespace;
  body.metadata = { ...body.metadata, namespace };
  let job: V1Job;
  try {
    // A create is not idempotent (a lost answer may hide a created Job): repeated only on 429.
    job = await withRetries({ idempotent: false, what: 'create job', logger }, () =>
      c.batch.createNamespacedJob({ namespace, body, fieldManager: 'runbook-actions' }),
    );
  } catch (e) {
    const st = apiStatus(e);
    if (st?.code === 409) {
      throw new ConfigError(
        `job '${body.metadata?.name}' already exists in namespace '${namespace}': delete it, or use metadata.generateName for a new name per run`,
        objects.location,
        'job-manifest',
      );
    }
    if (st && (st.code === 422 || st.code === 400))
      throw new ConfigError(st.message, objects.location, 'job-manifest');
    return call(`job in namespace '${namespace}'`, 'job-manifest', () => Promise.reject(e));
  }
  const name = job.metadata!.name!;
  logger.info(`job "${name}" created in namespace "${namespace}"`);
  if (options.onCreated) await options.onCreated({ name, namespace });
  const started = Date.now();
  const logs: string[] = [];
  const reader = podLogReader(c, namespace, logger, (line) => {
    logger.info(line);
    logs.push(line);
  });
  const selector = jobSelector(job);
  const pull = async () => {
    const pods = await idempotent(
      `pods of job '${name}'`,
      undefined,
      () => c.core.listNamespacedPod({ namespace, labelSelector: selector }),
      logger,
    );
    const sorted = [...pods.items].sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? '').localeCompare(
        String(b.metadata?.creationTimestamp ?? ''),
      ),
    );
    for (const pod of sorted) await reader(pod);
  };
  const result = (status: JobResult['status'], done?: { reason?: string; message?: string }) => ({
    name,
    namespace,
    status,
    reason: done?.reason,
    message: done?.message,
    succeededPods: job.status?.succeeded ?? 0,
    failedPods: job.status?.failed ?? 0,
    durationMs: Date.now() - started,
    logs: logs.slice(-keep),
  });
  try {
    return await withDeadline(started + poll.timeoutMs, async () => {
      for (;;) {
        job = await idempotent(
          `job '${name}'`,
          undefined,
          () => c.batch.readNamespacedJob({ name, namespace }),
          logger,
        );
        const done = job.status?.conditions?.find(
          (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
        );
        await pull();
        const timedOut = !done && Date.now() - started >= poll.timeoutMs;
        if (done || timedOut) {
          const r: JobResult = result(
            done ? (done.type as 'Complete' | 'Failed') : 'Timeout',
            done,
          );
          if (r.status !== 'Complete') throw new JobFailedError(r);
          logger.info(`job "${name}" completed (${r.succeededPods} pod(s) succeeded)`);
          return r;
        }
        await poll.sleep(
          Math.min(poll.intervalMs, Math.max(0, started + poll.timeoutMs - Date.now())),
        );
      }
    });
  } catch (e) {
    if (isTimeout(e)) throw new JobFailedError(result('Timeout'));
    throw e;
  }
}

/**
 * The label selector of a Job's pods: the Job's own `spec.selector` (the server generates it
 * from `batch.kubernetes.io/controller-uid` unless `manualSelector` is set), as `kubectl logs
 * job/<name>` uses it; `controller-uid=<uid>` for a Job without one.
 */
export function jobSelector(job: V1Job): string {
  const labels = job.spec?.selector?.matchLabels;
  const exprs = job.spec?.selector?.matchExpressions ?? [];
  const parts = Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const x of exprs) {
    const values = (x.values ?? []).join(',');
    if (x.operator === 'In') parts.push(`${x.key} in (${values})`);
    else if (x.operator === 'NotIn') parts.push(`${x.key} notin (${values})`);
    else if (x.operator === 'Exists') parts.push(x.key);
    else if (x.operator === 'DoesNotExist') parts.push(`!${x.key}`);
  }
  return parts.length ? parts.join(',') : `controller-uid=${job.metadata?.uid}`;
}

/**
 * The containers of a pod whose logs can be read, in start order: init containers (native
 * sidecars, `restartPolicy: Always`, included) then the app containers, each only once its status
 * says it has started (running or terminated).
 */
export function startedContainers(pod: V1Pod): string[] {
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
    (x) => x.name,
  );
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  // A server that reports no container statuses at all: every container of a pod past Pending.
  if (statuses.length === 0)
    return pod.status?.phase && pod.status.phase !== 'Pending' ? names : [];
  const started = new Set(
    [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
      .filter((s) => s.state?.running || s.state?.terminated)
      .map((s) => s.name),
  );
  return names.filter((n) => started.has(n));
}

/**
 * Reads pod logs container by container. A pod with more than one container (a sidecar, an init
 * container) must be asked for one `container` at a time: without it the API server answers
 * 400 BadRequest "a container name must be specified for pod <pod>, choose one of: [...]"
 * (k8s.io/kubernetes `pkg/registry/core/pod/strategy.go`, `LogLocation`). Each new line is passed
 * to `emit` once, prefixed `[pod]` (one container) or `[pod/container]`. A log that cannot be
 * read is reported once as a warning, never dropped in silence.
 */
function podLogReader(
  c: ReturnType<typeof connect>,
  namespace: string,
  logger: Logger,
  emit: (line: string) => void,
) {
  const seen = new Map<string, number>();
  const warned = new Set<string>();
  return async (pod: V1Pod) => {
    const podName = pod.metadata!.name!;
    const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    for (const container of startedContainers(pod)) {
      const key = `${podName}/${container}`;
      let text: string;
      try {
        text = await withRetries({ idempotent: true, what: `logs of ${key}` }, () =>
          c.core.readNamespacedPodLog({ name: podName, namespace, container }),
        );
      } catch (e) {
        if (isTimeout(e)) throw e;
        if (!warned.has(key)) {
          warned.add(key);
          const st = apiStatus(e);
          logger.warning(
            `cannot read the logs of container ${container} in pod ${podName}: ${st ? `${st.code} ${st.message}` : String((e as Error).message)}`,
          );
        }
        continue;
      }
      const lines = String(text ?? '').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const prefix = all.length > 1 ? `[${key}]` : `[${podName}]`;
      for (const line of lines.slice(seen.get(key) ?? 0)) emit(`${prefix} ${line}`);
      seen.set(key, lines.length);
    }
  };
}

function readJobManifest(file: string) {
  const items = readManifests([file], 'job-manifest', { allowGenerateName: true });
  if (items.length !== 1) {
    throw new ConfigError(
      `expected exactly one Job, found ${items.length} objects`,
      items[1]?.location ?? { file },
      'job-manifest',
    );
  }
  const [item] = items;
  if (item.object.kind !== 'Job' || item.object.apiVersion !== 'batch/v1') {
    throw new ConfigError(
      `expected a batch/v1 Job, found ${item.object.apiVersion} ${item.object.kind}`,
      item.location,
      'job-manifest',
    );
  }
  return item;
}
