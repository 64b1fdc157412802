import { describe, expect, test } from '@jest/globals';
import { deploymentRolloutStatus } from '../../src/k8s/index.js';

const dep = (generation: number, spec: number, status: Record<string, unknown>) => ({
  metadata: { name: 'api', generation },
  spec: { replicas: spec, selector: {}, template: {} },
  status,
});

describe('kubectl rollout status rules', () => {
  test.each([
    [
      dep(2, 3, { observedGeneration: 1 }),
      false,
      'Waiting for deployment spec update to be observed...',
    ],
    [
      dep(2, 3, { observedGeneration: 2, updatedReplicas: 1, replicas: 4 }),
      false,
      'Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been updated...',
    ],
    [
      dep(2, 3, { observedGeneration: 2, updatedReplicas: 3, replicas: 4 }),
      false,
      'Waiting for deployment "api" rollout to finish: 1 old replicas are pending termination...',
    ],
    [
      dep(2, 3, { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }),
      false,
      'Waiting for deployment "api" rollout to finish: 2 of 3 updated replicas are available...',
    ],
    [
      dep(2, 3, { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
      true,
      'deployment "api" successfully rolled out',
    ],
  ])('%#', (d, done, message) => {
    const st = deploymentRolloutStatus(d as never);
    expect(st.done).toBe(done);
    expect(st.message).toBe(message);
    expect(st.failure).toBeUndefined();
  });

  test('ProgressDeadlineExceeded is a failure, even with replicas updated', () => {
    const st = deploymentRolloutStatus(
      dep(2, 1, {
        observedGeneration: 2,
        updatedReplicas: 1,
        replicas: 2,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "api-1" has timed out progressing.',
          },
        ],
      }) as never,
    );
    expect(st.failure).toBe(
      'deployment "api" exceeded its progress deadline: ReplicaSet "api-1" has timed out progressing.',
    );
  });

  test('replicas 0: done once the old replicas are gone', () => {
    const scaling = deploymentRolloutStatus(
      dep(2, 0, { observedGeneration: 2, replicas: 2 }) as never,
    );
    expect(scaling.done).toBe(false);
    expect(scaling.message).toBe(
      'Waiting for deployment "api" rollout to finish: 2 old replicas are pending termination...',
    );
    const done = deploymentRolloutStatus(dep(2, 0, { observedGeneration: 2 }) as never);
    expect(done).toEqual({ done: true, message: 'deployment "api" successfully rolled out' });
  });

  test('maxSurge: surge pods count as replicas not yet terminated', () => {
    // 3 desired, all updated, 1 surge pod of the old ReplicaSet still up
    const st = deploymentRolloutStatus(
      dep(2, 3, {
        observedGeneration: 2,
        updatedReplicas: 3,
        replicas: 4,
        availableReplicas: 3,
      }) as never,
    );
    expect(st.done).toBe(false);
    expect(st.message).toMatch(/1 old replicas are pending termination/);
  });

  test('a paused Deployment that has not rolled out fails at once, naming the resume command', () => {
    const d = dep(3, 3, { observedGeneration: 3, updatedReplicas: 1, replicas: 4 });
    const st = deploymentRolloutStatus({ ...d, spec: { ...d.spec, paused: true } } as never);
    expect(st.done).toBe(false);
    expect(st.reason).toBe('DeploymentPaused');
    expect(st.failure).toBe(
      'deployment "api" is paused, so its rollout cannot finish (Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been updated); resume it with \'kubectl rollout resume deployment/api\'',
    );
  });

  test('a paused Deployment: done when rolled out, waiting while the pause is not yet observed', () => {
    const done = dep(3, 2, {
      observedGeneration: 3,
      updatedReplicas: 2,
      replicas: 2,
      availableReplicas: 2,
    });
    expect(
      deploymentRolloutStatus({ ...done, spec: { ...done.spec, paused: true } } as never).done,
    ).toBe(true);
    const unobserved = dep(4, 2, { observedGeneration: 3 });
    const st = deploymentRolloutStatus({
      ...unobserved,
      spec: { ...unobserved.spec, paused: true },
    } as never);
    expect(st.failure).toBeUndefined();
    expect(st.message).toBe('Waiting for deployment spec update to be observed...');
  });
});
