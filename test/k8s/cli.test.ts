import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger } from '../../src/errors.js';
import { command } from '../../src/k8s/cli.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment, ingress } from '../support/k8s-fixtures.js';

let fake: FakeKubernetes;
let kc: string;
beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 5, progressDeadlineMs: 150 });
  kc = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
  writeFileSync(kc, fake.kubeconfig({ namespace: 'billing' }));
  fake.seed(deployment('videokit-api', 'billing', 'app:1', 1));
  fake.seed(ingress('videokit-api-canary', 'billing', 'canary', { weight: 0 }));
});
afterAll(() => fake.close());

const cli = (...args: string[]) => {
  const log = recordingLogger();
  return command
    .run([...args, '--kubeconfig', kc, '--poll-interval', '10ms', '--timeout', '20s'], log)
    .then((code) => ({ code, log }));
};

describe('runbook rollout', () => {
  test('set-image, wait, set-weight; a failed rollout exits 1', async () => {
    expect((await cli('wait', '--deployment', 'videokit-api')).code).toBe(0);
    const set = await cli('set-image', '--deployment', 'videokit-api', '--image', 'api=app:2');
    expect(set.code).toBe(0);
    expect(set.log.lines.join('\n')).toContain('| api | app:1 | app:2 | changed |');
    expect((await cli('wait', '--deployment', 'videokit-api')).code).toBe(0);
    const w = await cli(
      'set-weight',
      '--ingress',
      'videokit-api-canary',
      '--weights',
      '1,5,20,50,100',
    );
    expect(w.code).toBe(0);
    expect(
      fake.get('Ingress', 'billing', 'videokit-api-canary')!.metadata.annotations[
        'nginx.ingress.kubernetes.io/canary-weight'
      ],
    ).toBe('100');
    await cli('set-image', '--deployment', 'videokit-api', '--image', 'api=app:3-bad');
    const failed = await cli('wait', '--deployment', 'videokit-api');
    expect(failed.code).toBe(1);
    expect(failed.log.lines.at(-1)).toMatch(
      /^error: deployment "videokit-api" exceeded its progress deadline.*\(reason: ProgressDeadlineExceeded\)$/,
    );
    expect((await cli('undo', '--deployment', 'videokit-api')).code).toBe(0);
    expect(
      fake.get('Deployment', 'billing', 'videokit-api')!.spec.template.spec.containers[0].image,
    ).toBe('app:2');
  });

  test('promote: --deployment and --image go together; with both the stable Deployment moves first', async () => {
    fake.seed(deployment('videokit-api-stable', 'billing', 'app:1', 1));
    expect(
      (await cli('set-weight', '--ingress', 'videokit-api-canary', '--weights', '40')).code,
    ).toBe(0);
    const patches = () => fake.requests.filter((r) => r.method === 'PATCH').length;
    const before = patches();
    await expect(
      cli('promote', '--ingress', 'videokit-api-canary', '--deployment', 'videokit-api-stable'),
    ).rejects.toThrow(
      "input '--image': is required when the stable Deployment 'videokit-api-stable' is given",
    );
    await expect(
      cli('promote', '--ingress', 'videokit-api-canary', '--image', 'api=app:9'),
    ).rejects.toThrow(
      "input '--deployment': is required when images are given (the stable Deployment to update)",
    );
    expect(patches()).toBe(before);
    const canary = () =>
      fake.get('Ingress', 'billing', 'videokit-api-canary')!.metadata.annotations;
    expect(canary()['nginx.ingress.kubernetes.io/canary']).toBe('true');
    expect(canary()['nginx.ingress.kubernetes.io/canary-weight']).toBe('40');

    const ok = await cli(
      'promote',
      '--ingress',
      'videokit-api-canary',
      '--deployment',
      'videokit-api-stable',
      '--image',
      'api=app:9',
    );
    expect(ok.code).toBe(0);
    expect(
      fake.get('Deployment', 'billing', 'videokit-api-stable')!.spec.template.spec.containers[0]
        .image,
    ).toBe('app:9');
    expect(canary()['nginx.ingress.kubernetes.io/canary']).toBe('false');
    expect(canary()['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
  });

  test('a promotion whose stable rollout fails says how to undo the stable Deployment', async () => {
    fake.seed(deployment('promo-stable', 'billing', 'app:1', 1));
    expect((await cli('wait', '--deployment', 'promo-stable')).code).toBe(0);
    const r = await cli(
      'promote',
      '--ingress',
      'videokit-api-canary',
      '--deployment',
      'promo-stable',
      '--image',
      'api=app:2-bad',
    );
    expect(r.code).toBe(1);
    expect(r.log.lines.at(-1)).toBe(
      'error: the stable Deployment "promo-stable" is on the new images and the canary was left as it was; undo it with: runbook rollout undo -n billing --deployment promo-stable --to-revision 1',
    );
    expect((await cli('undo', '--deployment', 'promo-stable', '--to-revision', '1')).code).toBe(0);
    expect(
      fake.get('Deployment', 'billing', 'promo-stable')!.spec.template.spec.containers[0].image,
    ).toBe('app:1');
  });

  test('usage errors', async () => {
    expect((await cli('explode')).code).toBe(2);
    await expect(cli('wait')).rejects.toThrow('--deployment is required for wait');
  });
});
