/**
 * An Indexed Job controller for the Kubernetes API fake that runs each index as a real local
 * process, so partitions truly run in parallel against a real database.
 *
 * Follows "Jobs" in the Kubernetes documentation (kubernetes.io/docs/concepts/workloads/
 * controllers/job/): `completionMode: Indexed` creates one pod per index from 0 to
 * `completions - 1` (at most `parallelism` at once), each with the annotation and label
 * `batch.kubernetes.io/job-completion-index` and the environment variable
 * `JOB_COMPLETION_INDEX`; `backoffLimitPerIndex` retries a failed index that many times, after
 * which it is listed in `status.failedIndexes`; `status.completedIndexes` lists succeeded indexes
 * in the interval format (`0-2,4`); the Job gets `SuccessCriteriaMet` and `Complete` when every
 * index succeeded, `FailureTarget` and `Failed` (reason `FailedIndexes`) when an index failed
 * for good and nothing runs any more. Deleting the Job sends SIGTERM to its pods' processes.
 *
 * Container semantics (kubernetes.io/docs/tasks/inject-data-application/): `env[].value` with
 * `$(VAR)` references, `env[].valueFrom.secretKeyRef` (read from the fake's Secrets, base64
 * `data`), `$(VAR)` expansion in `args`, and `configMap` volumes (written to a temporary
 * directory that replaces the mount path in the arguments). The image's entrypoint is mapped to
 * a local command line (`entrypoint`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeControllerApi, FakeJobController } from './k8s-fake.js';

type Obj = Record<string, any>;

interface IndexState {
  attempts: number;
  running?: ChildProcess;
  pod?: Obj;
  succeeded: boolean;
  failed: boolean;
}

/** Options of {@link indexedJobController}. */
export interface IndexedJobControllerOptions {
  /** The local command line that stands for the image's entrypoint, e.g. node + the CLI. */
  entrypoint: string[];
  /** Extra environment for every process (e.g. PATH). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Interval notation of `status.completedIndexes` (`0-2,4`). */
export function indexIntervals(list: number[]): string {
  const xs = [...list].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    out.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j;
  }
  return out.join(',');
}

/**
 * A {@link FakeJobController} for Jobs with `completionMode: Indexed`; other Jobs are left to
 * the fake's built-in simulation. `processes` lists every process started (for tests).
 */
export function indexedJobController(options: IndexedJobControllerOptions): FakeJobController & {
  processes: { index: number; pid: number; args: string[] }[];
} {
  const jobs = new Map<string, Map<number, IndexState>>();
  const processes: { index: number; pid: number; args: string[] }[] = [];

  function expand(text: string, env: Record<string, string>): string {
    return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => env[v] ?? m);
  }

  function start(job: Obj, index: number, st: IndexState, api: FakeControllerApi): void {
    const ns = job.metadata.namespace;
    const tpl = job.spec.template;
    const c = tpl.spec.containers[0];
    const env: Record<string, string> = { JOB_COMPLETION_INDEX: String(index) };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = expand(String(e.value), env);
      else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const secret = api.get('Secret', ns, ref.name);
        const data = secret?.data?.[ref.key];
        if (data === undefined) throw new Error(`secret ${ref.name}/${ref.key} not found`);
        env[e.name] = Buffer.from(data, 'base64').toString('utf8');
      }
    }
    let args: string[] = [...(c.command ?? []), ...(c.args ?? [])].map((a: string) =>
      expand(a, env),
    );
    for (const m of c.volumeMounts ?? []) {
      const vol = (tpl.spec.volumes ?? []).find((v: Obj) => v.name === m.name);
      if (!vol?.configMap) continue;
      const cm = api.get('ConfigMap', ns, vol.configMap.name);
      if (!cm) throw new Error(`configmap ${vol.configMap.name} not found`);
      const dir = mkdtempSync(join(tmpdir(), 'k8s-vol-'));
      mkdirSync(dir, { recursive: true });
      for (const [k, v] of Object.entries(cm.data ?? {})) writeFileSync(join(dir, k), String(v));
      args = args.map((a) => a.split(m.mountPath).join(dir));
    }
    st.attempts++;
    const pod = api.createPod(
      {
        metadata: {
          name: `${job.metadata.name}-${index}-${Math.random().toString(36).slice(2, 7)}`,
          labels: {
            ...tpl.metadata?.labels,
            'batch.kubernetes.io/controller-uid': job.metadata.uid,
            'batch.kubernetes.io/job-name': job.metadata.name,
            'batch.kubernetes.io/job-completion-index': String(index),
            'controller-uid': job.metadata.uid,
            'job-name': job.metadata.name,
          },
          annotations: { 'batch.kubernetes.io/job-completion-index': String(index) },
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'Job',
              name: job.metadata.name,
              uid: job.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: JSON.parse(JSON.stringify(tpl.spec)),
        status: { phase: 'Running', startTime: new Date().toISOString() },
      },
      ns,
    );
    const argv = [...options.entrypoint, ...args];
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    processes.push({ index, pid: child.pid ?? -1, args });
    st.running = child;
    st.pod = pod.obj;
    let partial = '';
    const onData = (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      pod.logs.push(...lines);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      if (partial) pod.logs.push(partial);
      st.running = undefined;
      const ok = code === 0;
      pod.obj.status = {
        phase: ok ? 'Succeeded' : 'Failed',
        startTime: pod.obj.status.startTime,
        containerStatuses: [
          {
            name: c.name,
            image: c.image,
            state: { terminated: { exitCode: code ?? 137, reason: ok ? 'Completed' : 'Error' } },
          },
        ],
      };
      api.bump(pod.obj);
      if (ok) st.succeeded = true;
      else if (st.attempts > (job.spec.backoffLimitPerIndex ?? 0)) st.failed = true;
    });
  }

  return {
    processes,
    tick(job, api) {
      if (job.spec.completionMode !== 'Indexed') return false;
      if (job.status.conditions?.some((x: Obj) => ['Complete', 'Failed'].includes(x.type)))
        return true;
      const uid = job.metadata.uid;
      const completions: number = job.spec.completions ?? 1;
      const parallelism: number = job.spec.parallelism ?? completions;
      let state = jobs.get(uid);
      if (!state) {
        state = new Map(
          Array.from({ length: completions }, (_, i) => [
            i,
            { attempts: 0, succeeded: false, failed: false },
          ]),
        );
        jobs.set(uid, state);
      }
      const active = () => [...state!.values()].filter((s) => s.running).length;
      for (const [i, st] of state) {
        if (st.running || st.succeeded || st.failed) continue;
        if (active() >= parallelism) break;
        try {
          start(job, i, st, api);
        } catch {
          // Like a pod stuck in ContainerCreating until its Secret or ConfigMap exists.
        }
      }
      const all = [...state.entries()];
      const done = all.filter(([, s]) => s.succeeded).map(([i]) => i);
      const failed = all.filter(([, s]) => s.failed).map(([i]) => i);
      const status: Obj = {
        ...job.status,
        active: active(),
        succeeded: done.length,
        failed: all.reduce((a, [, s]) => a + s.attempts, 0) - done.length - active(),
        completedIndexes: indexIntervals(done),
        ...(failed.length ? { failedIndexes: indexIntervals(failed) } : {}),
      };
      const now = new Date().toISOString();
      if (done.length === completions) {
        status.completionTime = now;
        status.conditions = ['SuccessCriteriaMet', 'Complete'].map((type) => ({
          type,
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastTransitionTime: now,
        }));
      } else if (failed.length && active() === 0) {
        status.conditions = ['FailureTarget', 'Failed'].map((type) => ({
          type,
          status: 'True',
          reason: 'FailedIndexes',
          message: 'Job has failed indexes',
          lastTransitionTime: now,
        }));
      }
      if (JSON.stringify(status) !== JSON.stringify(job.status)) {
        job.status = status;
        api.bump(job);
      }
      return true;
    },
    deleted(job) {
      for (const st of jobs.get(job.metadata.uid)?.values() ?? []) st.running?.kill('SIGTERM');
    },
  };
}
