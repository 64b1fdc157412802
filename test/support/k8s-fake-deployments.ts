/**
 * The fake's Deployment controller, after the documented behaviour
 * (kubernetes.io/docs/concepts/workloads/controllers/deployment/) and k8s.io/kubernetes
 * `pkg/controller/deployment` (`sync.go`, `rolling.go`, `progress.go`, `util/deployment_util.go`):
 *
 * - the new ReplicaSet is the one whose template equals the Deployment's, ignoring the
 *   `pod-template-hash` label (`EqualIgnoreHash`); a rollback to an old template re-uses that
 *   ReplicaSet and gives it the next `deployment.kubernetes.io/revision`;
 * - `status.observedGeneration` follows `metadata.generation`;
 * - a paused Deployment (`spec.paused`) gets no new ReplicaSet and does not roll out; its
 *   `Progressing` condition is `Unknown` with reason `DeploymentPaused`;
 * - surge one, then scale down the old ReplicaSets; `Progressing` becomes `False` with reason
 *   `ProgressDeadlineExceeded` once no progress was made for the progress deadline;
 * - `revisionHistoryLimit` old ReplicaSets with no replicas are kept, older ones deleted.
 *
 * A pod template whose image contains `bad`, or a `deployment=image` entry of `stuck`, never
 * gets ready pods.
 */
import { createHash } from 'node:crypto';
import { canonical, clone, pruneEmpty, type Obj } from './k8s-fake-patch.js';
import type { Store, Stored } from './k8s-fake-store.js';

export const REVISION = 'deployment.kubernetes.io/revision';

function withoutHash(template: Obj | undefined): unknown {
  const t = clone(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels['pod-template-hash'];
  return pruneEmpty(t);
}

/** `EqualIgnoreHash` of two pod templates, after the decoding a real server does. */
export function equalIgnoreHash(a: Obj | undefined, b: Obj | undefined): boolean {
  return canonical(withoutHash(a)) === canonical(withoutHash(b));
}

function templateHash(template: unknown): string {
  return createHash('sha256')
    .update(canonical(withoutHash(template as Obj)))
    .digest('hex')
    .slice(0, 10);
}

/** Settings the controller reads from the fake's options. */
export interface DeploymentControllerOptions {
  progressDeadlineMs?: number;
  stuck: Set<string>;
}

/** Runs one reconciliation of a Deployment. */
export function deploymentTick(
  store: Store,
  s: Stored,
  now: number,
  options: DeploymentControllerOptions,
): void {
  const d = s.obj;
  const ns = d.metadata.namespace;
  const rsType = store.typeOfKind('ReplicaSet')!;
  const owned = store
    .list(rsType, ns)
    .filter((r) => r.obj.metadata.ownerReferences?.some((o: Obj) => o.uid === d.metadata.uid))
    .sort((a, b) =>
      a.obj.metadata.creationTimestamp.localeCompare(b.obj.metadata.creationTimestamp),
    );
  const rev = (r: Stored) => Number(r.obj.metadata.annotations?.[REVISION] ?? 0);
  const maxRev = Math.max(0, ...owned.map(rev));
  let newRs = owned.find((r) => equalIgnoreHash(r.obj.spec.template, d.spec.template));
  const paused = d.spec.paused === true;
  const nowIso = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  let changed = false;
  let progressed = false;
  const generationSeen = (d.status.observedGeneration ?? 0) >= d.metadata.generation;

  if (!paused && !generationSeen) {
    const cause = d.metadata.annotations?.['kubernetes.io/change-cause'];
    if (!newRs) {
      const hash = templateHash(d.spec.template);
      const template = clone(d.spec.template);
      template.metadata = template.metadata ?? {};
      template.metadata.labels = { ...template.metadata.labels, 'pod-template-hash': hash };
      newRs = store.insert(
        rsType,
        {
          metadata: {
            name: `${d.metadata.name}-${hash}`,
            labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
            annotations: {
              [REVISION]: String(maxRev + 1),
              'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas),
              'deployment.kubernetes.io/max-replicas': String(d.spec.replicas + 1),
            },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'Deployment',
                name: d.metadata.name,
                uid: d.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            replicas: 0,
            selector: {
              matchLabels: { ...d.spec.selector?.matchLabels, 'pod-template-hash': hash },
            },
            template,
          },
          status: { replicas: 0, readyReplicas: 0, availableReplicas: 0 },
        },
        ns,
      );
    } else if (rev(newRs) !== maxRev) {
      // A rollback: the old template's ReplicaSet becomes the newest revision.
      newRs.obj.metadata.annotations = {
        ...newRs.obj.metadata.annotations,
        [REVISION]: String(maxRev + 1),
      };
      store.touch(newRs);
    }
    if (cause && newRs.obj.metadata.annotations['kubernetes.io/change-cause'] !== cause) {
      newRs.obj.metadata.annotations['kubernetes.io/change-cause'] = cause;
      store.touch(newRs);
    }
    d.metadata.annotations = {
      ...d.metadata.annotations,
      [REVISION]: newRs.obj.metadata.annotations[REVISION],
    };
    s.lastProgress = now;
    progressed = true;
    changed = true;
  }
  if (paused && !generationSeen) changed = true;
  const observedGeneration = d.metadata.generation;
  const desired = d.spec.replicas;
  const olds = owned.filter((r) => r !== newRs);
  const oldTotal = () => olds.reduce((n, r) => n + r.obj.spec.replicas, 0);
  const setRs = (r: Stored, replicas: number, ready: number) => {
    r.obj.spec.replicas = replicas;
    r.obj.status = {
      replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: r.obj.metadata.generation,
    };
    store.touch(r);
    progressed = true;
  };
  if (newRs && !paused) {
    const bad = (d.spec.template.spec?.containers ?? []).some(
      (c: Obj) =>
        String(c.image).includes('bad') ||
        options.stuck.has(`${d.metadata.name}=${String(c.image)}`),
    );
    const n = newRs.obj;
    if (n.spec.replicas < desired && n.spec.replicas + oldTotal() < desired + 1) {
      setRs(newRs, n.spec.replicas + 1, n.status.readyReplicas ?? 0);
    } else if (n.spec.replicas > desired) {
      setRs(newRs, desired, Math.min(desired, n.status.readyReplicas ?? 0));
    }
    if (!bad && (n.status.readyReplicas ?? 0) < n.spec.replicas) {
      setRs(newRs, n.spec.replicas, (n.status.readyReplicas ?? 0) + 1);
    }
    if (oldTotal() > 0 && (n.status.readyReplicas ?? 0) + oldTotal() > desired) {
      const old = olds.filter((r) => r.obj.spec.replicas > 0)[0];
      setRs(old, old.obj.spec.replicas - 1, Math.max(0, old.obj.spec.replicas - 1));
    }
    // revisionHistoryLimit: keep that many scaled-down old ReplicaSets, oldest deleted first.
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = olds.filter((r) => r.obj.spec.replicas === 0).sort((a, b) => rev(a) - rev(b));
    for (const r of idle.slice(0, Math.max(0, idle.length - limit))) store.remove(r);
  }
  const live = owned.filter((r) => store.get(rsType, ns, r.obj.metadata.name));
  const all = newRs ? [newRs, ...live.filter((r) => r !== newRs)] : live;
  const replicas = all.reduce((a, r) => a + r.obj.spec.replicas, 0);
  const available = all.reduce((a, r) => a + (r.obj.status?.availableReplicas ?? 0), 0);
  const n = newRs?.obj;
  const complete = !!n && n.status.readyReplicas === desired && oldTotal() === 0;
  if (progressed) s.lastProgress = now;
  const deadline = options.progressDeadlineMs ?? d.spec.progressDeadlineSeconds * 1000;
  const prev = d.status.conditions?.find((c: Obj) => c.type === 'Progressing');
  let progressing: Obj;
  if (paused) {
    progressing = {
      type: 'Progressing',
      status: 'Unknown',
      reason: 'DeploymentPaused',
      message: 'Deployment is paused',
    };
  } else if (complete) {
    progressing = {
      type: 'Progressing',
      status: 'True',
      reason: 'NewReplicaSetAvailable',
      message: `ReplicaSet "${n!.metadata.name}" has successfully progressed.`,
    };
  } else if (now - (s.lastProgress ?? now) > deadline) {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: `ReplicaSet "${n?.metadata.name}" has timed out progressing.`,
    };
  } else if (prev?.reason === 'DeploymentPaused') {
    progressing = {
      type: 'Progressing',
      status: 'Unknown',
      reason: 'DeploymentResumed',
      message: 'Deployment is resumed',
    };
  } else {
    progressing = {
      type: 'Progressing',
      status: 'True',
      reason: 'ReplicaSetUpdated',
      message: `ReplicaSet "${n?.metadata.name}" is progressing.`,
    };
  }
  const availableCond = {
    type: 'Available',
    status: available >= desired ? 'True' : 'False',
    reason: available >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
    message:
      available >= desired
        ? 'Deployment has minimum availability.'
        : 'Deployment does not have minimum availability.',
  };
  const status: Obj = {
    observedGeneration,
    replicas,
    updatedReplicas: n?.spec.replicas ?? 0,
    readyReplicas: available,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicas - available),
    conditions: [availableCond, progressing],
  };
  const same =
    canonical({ ...status, conditions: undefined }) ===
      canonical({ ...d.status, conditions: undefined }) && prev?.reason === progressing.reason;
  if (!same || changed) {
    for (const c of status.conditions) {
      const old = d.status.conditions?.find((x: Obj) => x.type === c.type);
      Object.assign(c, {
        lastUpdateTime: nowIso,
        lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : nowIso,
      });
    }
    d.status = status;
    store.touch(s);
  }
}
