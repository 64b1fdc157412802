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
});
