/** The bundled `rollout` action (actions/rollout/dist), run as the runner runs it, against the fake API server. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runBundledAction, type ActionRun } from '../support/action.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment, httpRoute, ingress } from '../support/k8s-fixtures.js';

const TOKEN = 'kube-token-4d1f9c0e7b';
let fake: FakeKubernetes;
let kubeconfig: string;

beforeAll(async () => {
  if (!existsSync('actions/rollout/dist/index.js'))
    execFileSync('node', ['scripts/bundle.mjs', 'rollout']);
  fake = await startFakeKubernetes({ tickMs: 5, progressDeadlineMs: 200, token: TOKEN });
  kubeconfig = fake.kubeconfig({ namespace: 'billing' });
  fake.seed(deployment('videokit-api', 'billing', 'registry.example.com/videokit-api:7.18.0', 2));
  fake.seed(ingress('videokit-api-canary', 'billing', 'videokit-api-canary', { weight: 0 }));
});
afterAll(() => fake.close());

const rollout = (inputs: Record<string, string>) =>
  runBundledAction(
    'rollout',
    { kubeconfig, namespace: 'billing', 'poll-interval': '10ms', timeout: '30s', ...inputs },
    {
      env: {
        GITHUB_ACTOR: 'release-bot',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'acme/videokit',
        GITHUB_RUN_ID: '42',
      },
    },
  );

function expectNoSecret(run: ActionRun) {
  expect(run.masks).toContain(TOKEN);
  const printed = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
  expect(printed.join('\n')).not.toContain(TOKEN);
  expect(run.stderr).not.toContain(TOKEN);
  expect(run.summary).not.toContain(TOKEN);
  expect(JSON.stringify(run.outputs)).not.toContain(TOKEN);
}

describe('actions/rollout bundle', () => {
  test('set-image, wait, then a bad image fails with ProgressDeadlineExceeded and undo restores it', async () => {
    const first = await rollout({ command: 'wait', deployment: 'videokit-api' });
    expect(first.exitCode).toBe(0);
    expect(first.outputs.revision).toBe('1');

    const set = await rollout({
      command: 'set-image',
      deployment: 'videokit-api',
      images: 'api=registry.example.com/videokit-api:7.19.0',
    });
    expect(set.exitCode).toBe(0);
    expect(JSON.parse(set.outputs['previous-image'])).toEqual({
      api: 'registry.example.com/videokit-api:7.18.0',
    });
    expect(set.outputs['previous-revision']).toBe('1');
    expect(set.outputs.revision).toBe('2');
    expect(set.summary).toContain(
      '| api | registry.example.com/videokit-api:7.18.0 | registry.example.com/videokit-api:7.19.0 | changed |',
    );
    expectNoSecret(set);
    expect(
      fake.get('Deployment', 'billing', 'videokit-api')!.metadata.annotations[
        'kubernetes.io/change-cause'
      ],
    ).toBe(
      'set image api=registry.example.com/videokit-api:7.19.0 by release-bot (https://github.com/acme/videokit/actions/runs/42)',
    );
    const waited = await rollout({ command: 'wait', deployment: 'videokit-api' });
    expect(waited.exitCode).toBe(0);
    expect(waited.stdout).toContain('deployment "videokit-api" successfully rolled out');

    const bad = await rollout({
      command: 'set-image',
      deployment: 'videokit-api',
      images: 'api=registry.example.com/videokit-api:7.20.0-bad',
    });
    expect(bad.exitCode).toBe(0);
    const failed = await rollout({ command: 'wait', deployment: 'videokit-api' });
    expect(failed.exitCode).toBe(1);
    expect(
      failed.annotations.some(
        (a) =>
          a.level === 'error' &&
          a.message.includes('deployment "videokit-api" exceeded its progress deadline'),
      ),
    ).toBe(true);
    expect(failed.summary).toContain('reason: ProgressDeadlineExceeded');
    expect(failed.summary).toContain(
      'Roll back with `command: undo` (`kubectl rollout undo`): the Deployment goes back to its previous revision.',
    );

    const undo = await rollout({ command: 'undo', deployment: 'videokit-api' });
    expect(undo.exitCode).toBe(0);
    expect(JSON.parse(undo.outputs['previous-image'])).toEqual({
      api: 'registry.example.com/videokit-api:7.20.0-bad',
    });
    expect(undo.outputs['previous-revision']).toBe('3');
    expect(undo.outputs.revision).toBe('4');
    expect(
      fake.get('Deployment', 'billing', 'videokit-api')!.spec.template.spec.containers[0].image,
    ).toBe('registry.example.com/videokit-api:7.19.0');
    expectNoSecret(undo);
  });

  test('set-weight steps 1/5/20/50/100, abort sets 0', async () => {
    const step = await rollout({
      command: 'set-weight',
      ingress: 'videokit-api-canary',
      weights: '1,5,20,50,100',
      pause: '1ms',
    });
    expect(step.exitCode).toBe(0);
    expect(step.outputs.weight).toBe('100');
    const sent = fake.requests
      .filter((r) => r.method === 'PATCH' && r.path.includes('/ingresses/videokit-api-canary'))
      .map(
        (r) => (r.body as any).metadata.annotations['nginx.ingress.kubernetes.io/canary-weight'],
      );
    expect(sent).toEqual(['1', '5', '20', '50', '100']);
    expect(step.summary).toContain('| 3 | 20% |');
    const abort = await rollout({ command: 'abort', ingress: 'videokit-api-canary' });
    expect(abort.exitCode).toBe(0);
    expect(abort.outputs.weight).toBe('0');
    expect(
      fake.get('Ingress', 'billing', 'videokit-api-canary')!.metadata.annotations[
        'nginx.ingress.kubernetes.io/canary-weight'
      ],
    ).toBe('0');
  });

  test('apply the CronJobs; run the migrations Job, and a failing one', async () => {
    const apply = await rollout({ command: 'apply', manifests: 'examples/paket7/k8s/cronjobs' });
    expect(apply.exitCode).toBe(0);
    expect(apply.summary).toContain(
      '| CronJob/webhook-retry | billing | created | examples/paket7/k8s/cronjobs/webhook-retry.yaml:4 |',
    );
    expect(fake.get('CronJob', 'billing', 'grace-period-cleanup')!.spec.schedule).toBe('0 3 * * *');

    const ok = await rollout({
      command: 'run-job',
      'job-manifest': 'examples/paket7/k8s/jobs/migrate.yaml',
    });
    expect(ok.exitCode).toBe(0);
    expect(ok.outputs['job-name']).toMatch(/^videokit-api-migrate-/);
    expect(ok.stdout).toContain('] $ scripts/migrate.js');

    const dir = mkdtempSync(join(tmpdir(), 'rollout-action-'));
    const failing = join(dir, 'migrate-fail.yaml');
    writeFileSync(
      failing,
      readFileSync('examples/paket7/k8s/jobs/migrate.yaml', 'utf8').replace(
        ':7.19.0',
        ':7.19.0-fail',
      ),
    );
    const failed = await rollout({ command: 'run-job', 'job-manifest': failing });
    expect(failed.exitCode).toBe(1);
    expect(
      failed.annotations.some(
        (a) =>
          a.level === 'error' &&
          /job "videokit-api-migrate-\w+" failed: BackoffLimitExceeded/.test(a.message),
      ),
    ).toBe(true);
    expect(failed.summary).toContain(
      '| Failed | BackoffLimitExceeded: Job has reached the specified backoff limit | 0 | 1 |',
    );
    expect(failed.summary).toContain('error: migration failed');
  });

  test('a promotion whose stable rollout fails still outputs the revision to undo the stable Deployment to', async () => {
    fake.seed(deployment('promo-stable', 'billing', 'registry.example.com/videokit-api:7.18.0', 2));
    fake.seed(ingress('promo-canary', 'billing', 'promo-canary', { weight: 50 }));
    expect((await rollout({ command: 'wait', deployment: 'promo-stable' })).exitCode).toBe(0);
    const r = await rollout({
      command: 'promote',
      ingress: 'promo-canary',
      deployment: 'promo-stable',
      images: 'api=registry.example.com/videokit-api:7.19.0-bad',
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs['previous-revision']).toBe('1');
    expect(r.summary).toContain('## Rollout: promote failed');
    expect(r.summary).toContain(
      'The stable Deployment was moved to the new images before its rollout failed; the canary Ingress was left as it was. Undo it with `command: undo`, `deployment: promo-stable`, `to-revision: 1`',
    );
    expect(r.summary).toContain(
      '| api | registry.example.com/videokit-api:7.18.0 | registry.example.com/videokit-api:7.19.0-bad | changed |',
    );
    expect(JSON.parse(r.outputs['previous-image'])).toEqual({
      api: 'registry.example.com/videokit-api:7.18.0',
    });
    // the canary was left as it was: the stable Deployment is what the rollback must undo
    const ing = fake.get('Ingress', 'billing', 'promo-canary')!;
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']).toBe('50');
    const undo = await rollout({
      command: 'undo',
      deployment: 'promo-stable',
      'to-revision': r.outputs['previous-revision'],
    });
    expect(undo.exitCode).toBe(0);
    expect(
      fake.get('Deployment', 'billing', 'promo-stable')!.spec.template.spec.containers[0].image,
    ).toBe('registry.example.com/videokit-api:7.18.0');
  });

  test('mistakes become error annotations naming the input', async () => {
    const r = await rollout({
      command: 'set-image',
      deployment: 'videokit-api',
      images: 'registry.example.com/videokit-api:7.19.0',
    });
    expect(r.exitCode).toBe(1);
    expect(r.annotations.map((a) => a.message)).toContain(
      "input 'images': 'registry.example.com/videokit-api:7.19.0' is not container=image (e.g. api=valuecanvas/api:v1.2.0)",
    );
    const stableOnly = await rollout({
      command: 'promote',
      ingress: 'videokit-api-canary',
      deployment: 'videokit-api',
    });
    expect(stableOnly.exitCode).toBe(1);
    expect(stableOnly.annotations[0].message).toContain(
      "input 'images': is required when the stable Deployment 'videokit-api' is given",
    );
    const imagesOnly = await rollout({
      command: 'promote',
      ingress: 'videokit-api-canary',
      images: 'api=registry.example.com/videokit-api:7.19.0',
    });
    expect(imagesOnly.exitCode).toBe(1);
    expect(imagesOnly.annotations[0].message).toBe(
      "input 'deployment': is required when images are given (the stable Deployment to update)",
    );
    const wrong = await runBundledAction('rollout', {
      command: 'wait',
      deployment: 'videokit-api',
      kubeconfig: kubeconfig.replace(TOKEN, 'not-the-token-77'),
      'poll-interval': '10ms',
    });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.annotations[0].message).toContain(
      "input 'kubeconfig': the API server rejected the credentials (401 Unauthorized)",
    );
    expect(
      wrong.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain('not-the-token-77');
  });
});

describe('actions/rollout bundle on a bad day', () => {
  test('wait with timeout 5s against a hung API server exits 1 near 5 s with a summary', async () => {
    fake.seed(deployment('hung-api', 'billing', 'registry.example.com/videokit-api:7.18.0', 1));
    const stop = fake.fault({ path: /deployments\/hung-api/, hang: true, times: Infinity });
    const started = Date.now();
    try {
      const run = await rollout({ command: 'wait', deployment: 'hung-api', timeout: '5s' });
      const took = Date.now() - started;
      expect(run.exitCode).toBe(1);
      // 5 s of waiting plus starting node and loading the bundle on a shared machine
      expect(took).toBeLessThan(15_000);
      expect(run.summary).toContain(
        'timed out after 5 s waiting for deployment "hung-api": the API server did not answer in time',
      );
      expect(run.summary).toContain('Roll back with `command: undo`');
      expectNoSecret(run);
    } finally {
      stop();
    }
  });

  test('a set-weight through a Gateway API HTTPRoute that fails part-way sets weight and names the abort', async () => {
    fake.seed(httpRoute('videokit-api', 'billing', 'videokit-api', 'videokit-api-canary'));
    const router = {
      router: 'gateway-api',
      route: 'videokit-api',
      'canary-service': 'videokit-api-canary',
      'stable-service': 'videokit-api',
    };
    const ok = await rollout({ command: 'set-weight', weights: '1', ...router });
    expect(ok.exitCode).toBe(0);
    expect(ok.outputs.weight).toBe('1');
    const stop = fake.fault({
      method: 'PATCH',
      path: /httproutes\/videokit-api/,
      status: 500,
      times: Infinity,
    });
    try {
      const run = await rollout({ command: 'set-weight', weights: '5,20', ...router });
      expect(run.exitCode).toBe(1);
      expect(run.outputs.weight).toBe('1');
      expect(run.summary).toContain('**The canary is at 1%**');
      expect(run.summary).toContain(
        'run this action with `command: abort`, `namespace: billing`, `router: gateway-api`, `route: videokit-api`, `canary-service: videokit-api-canary`, `stable-service: videokit-api`',
      );
      expectNoSecret(run);
    } finally {
      stop();
    }
    const abort = await rollout({ command: 'abort', ...router });
    expect(abort.exitCode).toBe(0);
    expect(
      fake
        .get('HTTPRoute', 'billing', 'videokit-api')!
        .spec.rules[0].backendRefs.map((b: any) => b.weight),
    ).toEqual([100, 0]);
  }, 60_000);

  test('run-job sets job-name as soon as the Job exists, also when the API server fails later', async () => {
    const stop = fake.fault({
      method: 'GET',
      path: /\/jobs\/videokit-api-migrate-/,
      status: 500,
      times: Infinity,
    });
    try {
      const run = await rollout({
        command: 'run-job',
        'job-manifest': 'examples/paket7/k8s/jobs/migrate.yaml',
      });
      expect(run.exitCode).toBe(1);
      expect(run.outputs['job-name']).toMatch(/^videokit-api-migrate-[a-z0-9]{5}$/);
      expect(run.summary).toContain(
        `The Job \`${run.outputs['job-name']}\` was created in namespace \`billing\``,
      );
    } finally {
      stop();
    }
  }, 60_000);
});
