/**
 * Running a one-off Job (e.g. database migrations before a rollout) and waiting for it, as
 * `kubectl create -f job.yaml && kubectl wait --for=condition=complete job/<name>` plus
 * `kubectl logs`: the Job's `Complete` or `Failed` condition decides
 * (kubernetes.io/docs/concepts/workloads/controllers/job/, "Job termination and cleanup"), and
 * its pods' logs are streamed while it runs.
 */
import type { V1Job } from '@kubernetes/client-node';
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

/** Options of {@link runJob}. */
export interface RunJobOptions extends ClusterOptions, PollOptions {
  /** A YAML file with one batch/v1 Job (`metadata.name` or `metadata.generateName`). */
  jobManifest: string;
  /** How many trailing log lines the result keeps (default 50). */
  keepLogLines?: number;
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
    job = await c.batch.createNamespacedJob({ namespace, body, fieldManager: 'runbook-actions' });
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
  const uid = job.metadata!.uid!;
  logger.info(`job "${name}" created in namespace "${namespace}"`);
  const started = Date.now();
  const seen = new Map<string, number>();
  const logs: string[] = [];
  const pull = async () => {
    const pods = await call(`pods of job '${name}'`, undefined, () =>
      c.core.listNamespacedPod({ namespace, labelSelector: `controller-uid=${uid}` }),
    );
    const sorted = [...pods.items].sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? '').localeCompare(
        String(b.metadata?.creationTimestamp ?? ''),
      ),
    );
    for (const pod of sorted) {
      const podName = pod.metadata!.name!;
      if (pod.status?.phase === 'Pending') continue;
      let text: string;
      try {
        text = await c.core.readNamespacedPodLog({ name: podName, namespace });
      } catch {
        continue; // the container may not have started yet
      }
      const lines = String(text ?? '').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const line of lines.slice(seen.get(podName) ?? 0)) {
        logger.info(`[${podName}] ${line}`);
        logs.push(`[${podName}] ${line}`);
      }
      seen.set(podName, lines.length);
    }
  };
  for (;;) {
    job = await call(`job '${name}'`, undefined, () =>
      c.batch.readNamespacedJob({ name, namespace }),
    );
    const done = job.status?.conditions?.find(
      (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
    );
    await pull();
    const timedOut = !done && Date.now() - started >= poll.timeoutMs;
    if (done || timedOut) {
      const result: JobResult = {
        name,
        namespace,
        status: done ? (done.type as 'Complete' | 'Failed') : 'Timeout',
        reason: done?.reason,
        message: done?.message,
        succeededPods: job.status?.succeeded ?? 0,
        failedPods: job.status?.failed ?? 0,
        durationMs: Date.now() - started,
        logs: logs.slice(-keep),
      };
      if (result.status !== 'Complete') throw new JobFailedError(result);
      logger.info(`job "${name}" completed (${result.succeededPods} pod(s) succeeded)`);
      return result;
    }
    await poll.sleep(poll.intervalMs);
  }
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
