/**
 * The fake's Job controller and pods, after kubernetes.io/docs/concepts/workloads/controllers/job/
 * and k8s.io/kubernetes `pkg/controller/job` and `pkg/apis/batch/v1/defaults.go`:
 *
 * - on create a Job gets `spec.selector` on `batch.kubernetes.io/controller-uid` (unless
 *   `manualSelector`), its template the `batch.kubernetes.io/controller-uid`,
 *   `batch.kubernetes.io/job-name`, `controller-uid` and `job-name` labels, and the defaults
 *   `completions`/`parallelism` 1 (both unset), `backoffLimit` 6, `completionMode` NonIndexed;
 * - up to `parallelism` pods run at once until `completions` pods succeeded; in `Indexed` mode
 *   each pod has a completion index (annotation and label `batch.kubernetes.io/job-completion-index`,
 *   env `JOB_COMPLETION_INDEX`, hostname `<job>-<index>`, name `<job>-<index>-<random>`), and
 *   `status.completedIndexes` lists the succeeded ones (`0-2,4`);
 * - `Complete` (after `SuccessCriteriaMet`) or `Failed` with `BackoffLimitExceeded` (after
 *   `FailureTarget`) or `DeadlineExceeded` (`activeDeadlineSeconds`);
 * - pods have container statuses; every container (init containers, native sidecars with
 *   `restartPolicy: Always`, app containers) has its own log. A pod's log must be asked for by
 *   container when it has more than one (400 otherwise), and a container that has not started
 *   answers 400 "is waiting to start" (k8s.io/kubernetes `pkg/registry/core/pod/strategy.go`).
 *
 * The first app container is the job's work: it prints `starting <name> (<image>)`, its command
 * and args, `step 1..n`, then `done`, or fails with an error line when its image contains `fail`
 * (or when {@link JobControllerOptions.podOutcome} says so). Other containers print a line or two.
 */
import { clone, StatusError, type Obj } from './k8s-fake-patch.js';
import type { Store, Stored } from './k8s-fake-store.js';

/** Settings of the Job controller. */
export interface JobControllerOptions {
  /** Log lines each Job pod prints before it finishes (default 3). */
  jobLogLines?: number;
  /**
   * Decides whether a pod of a Job succeeds: `true` succeed, `false` fail, `undefined` the
   * default rule (an image containing `fail` fails). `index` is the completion index (Indexed
   * Jobs) and `attempt` counts the pods of that index (or Job) so far, from 0.
   */
  podOutcome?: (
    job: Obj,
    pod: Obj,
    index: number | undefined,
    attempt: number,
  ) => boolean | undefined;
}

const INDEX = 'batch.kubernetes.io/job-completion-index';

/** Fills in what the API server adds to a Job on create (selector, labels, defaults). */
export function defaultJob(job: Obj): void {
  const spec = job.spec;
  const uid = job.metadata.uid;
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism = spec.parallelism ?? 1;
  spec.backoffLimit = spec.backoffLimit ?? 6;
  spec.completionMode = spec.completionMode ?? 'NonIndexed';
  spec.suspend = spec.suspend ?? false;
  spec.template.metadata = spec.template.metadata ?? {};
  spec.template.metadata.labels = {
    ...spec.template.metadata.labels,
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': job.metadata.name,
    'controller-uid': uid,
    'job-name': job.metadata.name,
  };
  if (!spec.manualSelector) {
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  }
  job.status = { active: 0, startTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
}

function ranges(indexes: number[]): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

const isSidecar = (c: Obj) => c.restartPolicy === 'Always';

/** Runs one reconciliation of a Job and advances its pods. */
export function jobTick(store: Store, s: Stored, now: number, options: JobControllerOptions): void {
  const job = s.obj;
  const nowIso = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  const podType = store.typeOfKind('Pod')!;
  const ns = job.metadata.namespace;
  const pods = store
    .list(podType, ns, `batch.kubernetes.io/controller-uid=${job.metadata.uid}`)
    .sort((a, b) =>
      a.obj.metadata.creationTimestamp.localeCompare(b.obj.metadata.creationTimestamp),
    );
  for (const p of pods) podTick(store, p, job, options, nowIso);
  if (
    job.status.conditions?.some(
      (c: Obj) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    )
  )
    return;
  const indexed = job.spec.completionMode === 'Indexed';
  const indexOf = (p: Stored) => Number(p.obj.metadata.annotations?.[INDEX]);
  const active = pods.filter((p) => ['Pending', 'Running'].includes(p.obj.status.phase));
  const failed = pods.filter((p) => p.obj.status.phase === 'Failed').length;
  const succeededPods = pods.filter((p) => p.obj.status.phase === 'Succeeded');
  const succeeded = indexed ? new Set(succeededPods.map(indexOf)).size : succeededPods.length;
  const completions: number | undefined = job.spec.completions ?? undefined;
  const before = JSON.stringify(job.status);
  job.status.active = active.length;
  job.status.ready = active.filter((p) => p.obj.status.phase === 'Running').length;
  job.status.failed = failed || undefined;
  job.status.succeeded = succeeded || undefined;
  if (indexed) job.status.completedIndexes = ranges(succeededPods.map(indexOf)) || undefined;
  const finish = (type: 'Complete' | 'Failed', reason: string, message: string) => {
    const pre = type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
    job.status.conditions = [
      {
        type: pre,
        status: 'True',
        reason,
        message,
        lastProbeTime: nowIso,
        lastTransitionTime: nowIso,
      },
      { type, status: 'True', reason, message, lastProbeTime: nowIso, lastTransitionTime: nowIso },
    ];
    if (type === 'Complete') job.status.completionTime = nowIso;
    for (const p of active) endPod(store, p, 'Failed', nowIso);
    job.status.active = 0;
    job.status.ready = 0;
  };
  const done =
    completions === undefined ? succeeded > 0 && active.length === 0 : succeeded >= completions;
  const started = Date.parse(job.status.startTime);
  if (done) {
    finish('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
  } else if (failed > job.spec.backoffLimit) {
    finish('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
  } else if (
    job.spec.activeDeadlineSeconds != null &&
    now - started > job.spec.activeDeadlineSeconds * 1000
  ) {
    finish('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
  } else if (!job.spec.suspend) {
    const want = Math.min(
      job.spec.parallelism,
      completions === undefined ? job.spec.parallelism : completions - succeeded,
    );
    const busy = new Set(active.map(indexOf));
    const doneIdx = new Set(succeededPods.map(indexOf));
    for (let k = active.length; k < want; k++) {
      let index: number | undefined;
      if (indexed) {
        index = [...Array(completions ?? 0).keys()].find((i) => !busy.has(i) && !doneIdx.has(i));
        if (index === undefined) break;
        busy.add(index);
      }
      createPod(store, job, index);
    }
  }
  if (JSON.stringify(job.status) !== before) store.touch(s);
}

function createPod(store: Store, job: Obj, index: number | undefined): void {
  const podType = store.typeOfKind('Pod')!;
  const spec = clone(job.spec.template.spec);
  const labels: Obj = { ...job.spec.template.metadata?.labels };
  const annotations: Obj = { ...job.spec.template.metadata?.annotations };
  if (index !== undefined) {
    labels[INDEX] = String(index);
    annotations[INDEX] = String(index);
    spec.hostname = `${job.metadata.name}-${index}`;
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
      c.env = [...(c.env ?? []), { name: 'JOB_COMPLETION_INDEX', value: String(index) }];
  }
  const p = store.insert(
    podType,
    {
      metadata: {
        generateName:
          index === undefined ? `${job.metadata.name}-` : `${job.metadata.name}-${index}-`,
        labels,
        annotations,
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: job.metadata.name,
            uid: job.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec,
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    },
    job.metadata.namespace,
  );
  p.logs = new Map();
}

function statusOf(c: Obj, state: Obj, ready: boolean): Obj {
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ready,
    restartCount: 0,
    started: !!state.running,
    state,
  };
}

function endPod(
  store: Store,
  p: Stored,
  phase: 'Succeeded' | 'Failed',
  nowIso: string,
  exitCode = phase === 'Succeeded' ? 0 : 1,
): void {
  if (['Succeeded', 'Failed'].includes(p.obj.status.phase)) return;
  const spec = p.obj.spec;
  const term = (code: number) => ({
    terminated: {
      exitCode: code,
      reason: code ? 'Error' : 'Completed',
      startedAt: p.obj.status.startTime,
      finishedAt: nowIso,
    },
  });
  p.obj.status = {
    ...p.obj.status,
    phase,
    initContainerStatuses: (spec.initContainers ?? []).length
      ? (spec.initContainers as Obj[]).map((c) => statusOf(c, term(0), false))
      : undefined,
    containerStatuses: (spec.containers as Obj[]).map((c, i) =>
      statusOf(c, term(i === 0 ? exitCode : 0), false),
    ),
  };
  store.touch(p);
}

function podTick(
  store: Store,
  p: Stored,
  job: Obj,
  options: JobControllerOptions,
  nowIso: string,
): void {
  const pod = p.obj;
  if (['Succeeded', 'Failed'].includes(pod.status.phase)) return;
  const spec = pod.spec;
  const main: Obj = spec.containers[0];
  const logs = (p.logs ??= new Map());
  const log = (c: string, line: string) => {
    const l = logs.get(c) ?? [];
    l.push(line);
    logs.set(c, l);
  };
  if (pod.status.phase === 'Pending') {
    const running = (c: Obj) => statusOf(c, { running: { startedAt: nowIso } }, true);
    pod.status = {
      phase: 'Running',
      startTime: nowIso,
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      initContainerStatuses: (spec.initContainers ?? []).length
        ? (spec.initContainers as Obj[]).map((c) =>
            isSidecar(c)
              ? running(c)
              : statusOf(
                  c,
                  {
                    terminated: {
                      exitCode: 0,
                      reason: 'Completed',
                      startedAt: nowIso,
                      finishedAt: nowIso,
                    },
                  },
                  false,
                ),
          )
        : undefined,
      containerStatuses: (spec.containers as Obj[]).map(running),
    };
    for (const c of spec.initContainers ?? [])
      log(c.name, isSidecar(c) ? `${c.name}: sidecar ready` : `${c.name}: init done`);
    for (const c of spec.containers.slice(1)) log(c.name, `${c.name}: ready`);
    store.touch(p);
    return;
  }
  const index =
    pod.metadata.annotations?.[INDEX] !== undefined
      ? Number(pod.metadata.annotations[INDEX])
      : undefined;
  const lines = [
    `starting ${main.name} (${main.image})`,
    ...[...(main.command ?? []), ...(main.args ?? [])].map((a: string) => `$ ${a}`),
    ...(index !== undefined ? [`completion index ${index}`] : []),
    ...Array.from({ length: options.jobLogLines ?? 3 }, (_, i) => `step ${i + 1}`),
  ];
  const mine = logs.get(main.name) ?? [];
  if (mine.length < lines.length) {
    log(main.name, lines[mine.length]);
    store.touch(p);
    return;
  }
  const podType = store.typeOfKind('Pod')!;
  const siblings = store
    .list(podType, pod.metadata.namespace, `batch.kubernetes.io/controller-uid=${job.metadata.uid}`)
    .filter(
      (x) =>
        x !== p && (index === undefined || Number(x.obj.metadata.annotations?.[INDEX]) === index),
    ).length;
  const verdict = options.podOutcome?.(job, pod, index, siblings);
  const failing = verdict === undefined ? String(main.image).includes('fail') : !verdict;
  log(
    main.name,
    failing ? 'error: migration failed: relation "billing_audit_log" already exists' : 'done',
  );
  for (const c of [...(spec.initContainers ?? []).filter(isSidecar), ...spec.containers.slice(1)])
    log(c.name, `${c.name}: shutting down`);
  endPod(store, p, failing ? 'Failed' : 'Succeeded', nowIso);
}

/**
 * The `log` subresource of a pod (`GET .../pods/<name>/log?container=<c>`), as the API server
 * answers it: the container's lines, or 400 BadRequest when the container is not named and the
 * pod has several, does not exist, or has not started.
 */
export function podLog(p: Stored, container: string | null): string {
  const pod = p.obj;
  const name = pod.metadata.name;
  const apps: string[] = (pod.spec.containers ?? []).map((c: Obj) => c.name);
  const inits: string[] = (pod.spec.initContainers ?? []).map((c: Obj) => c.name);
  let c = container;
  if (!c) {
    if (apps.length + inits.length === 1) c = apps[0];
    else
      throw new StatusError(
        400,
        'BadRequest',
        `a container name must be specified for pod ${name}, choose one of: [${apps.join(' ')}]${inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : ''}`,
      );
  }
  if (!apps.includes(c) && !inits.includes(c))
    throw new StatusError(400, 'BadRequest', `container ${c} is not valid for pod ${name}`);
  const statuses: Obj[] = [
    ...(pod.status.initContainerStatuses ?? []),
    ...(pod.status.containerStatuses ?? []),
  ];
  const st = statuses.find((x) => x.name === c);
  if (!st || st.state?.waiting)
    throw new StatusError(
      400,
      'BadRequest',
      `container "${c}" in pod "${name}" is waiting to start: ContainerCreating`,
    );
  return (p.logs?.get(c) ?? []).map((l) => `${l}\n`).join('');
}
