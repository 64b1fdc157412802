/**
 * Real `kubectl`, an independent client, judges the Kubernetes fake (test/support/k8s-fake.ts):
 * every command here runs against the fake and must see what a real API server answers
 * (kubernetes.io/docs/reference/kubectl/ and the API server behaviour the fake cites). When the
 * fake drifts from a real server, these fail before the rollout engine's tests can pass on a
 * fake-only behaviour.
 *
 * `kubectl` must be installed (CI installs Debian's `kubernetes-client` when it is missing):
 * without it these tests fail, they never skip.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKubernetes, type FakeKubernetes } from '../support/k8s-fake.js';
import { deployment } from '../support/k8s-fixtures.js';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
let fake: FakeKubernetes;
let dir: string;
let config: string;

beforeAll(async () => {
  fake = await startFakeKubernetes({ tickMs: 10 });
  dir = mkdtempSync(join(tmpdir(), 'kubectl-'));
  config = join(dir, 'config');
  writeFileSync(config, fake.kubeconfig({ namespace: 'prod' }));
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * kubectl before 1.27 validates `apply` input against the server's OpenAPI v2 schemas (which the
 * fake does not serve) instead of asking the server to (`fieldValidation`); for those the
 * server-side checks are what is tested, so their client-side validation is turned off.
 */
let oldClient: boolean | undefined;

/** Runs kubectl against the fake (its own discovery cache, no user config). */
async function kubectl(args: string[], input?: string, timeoutMs = 20_000): Promise<Run> {
  if (oldClient === undefined) {
    oldClient = false;
    const v = await kubectl(['version', '--client', '-o', 'json']);
    const minor = Number(
      String(JSON.parse(v.stdout || '{}').clientVersion?.minor ?? '99').replace(/\D/g, ''),
    );
    oldClient = minor < 27;
  }
  if (oldClient && args[0] === 'apply') args = [...args, '--validate=false'];
  return new Promise((resolve, reject) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', config, '--cache-dir', join(dir, 'cache'), ...args],
      { timeout: timeoutMs, env: { PATH: process.env.PATH ?? '', HOME: dir } },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT')
          return reject(
            new Error(
              `kubectl is not installed (${KUBECTL}): install Debian's kubernetes-client (see .ci/run)`,
            ),
          );
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const rollout = (name: string) =>
  kubectl(['rollout', 'status', `deployment/${name}`, '--timeout=10s']);

test('kubectl is installed and talks to the fake', async () => {
  const v = await kubectl(['version', '-o', 'json']);
  expect(v.code).toBe(0);
  expect(JSON.parse(v.stdout).serverVersion.gitVersion).toMatch(/^v1\.\d+/);
});

describe('discovery', () => {
  test('get deploy and api-resources work from the discovery documents', async () => {
    fake.seed(deployment('listed', 'prod', 'repo/listed:v1', 1));
    const r = await kubectl(['get', 'deploy', '-o', 'name']);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toContain('deployment.apps/listed');
    const res = await kubectl(['api-resources', '-o', 'name']);
    expect(res.code).toBe(0);
    for (const n of [
      'deployments.apps',
      'jobs.batch',
      'httproutes.gateway.networking.k8s.io',
      'virtualservices.networking.istio.io',
    ])
      expect(res.stdout.split('\n')).toContain(n);
  });
});

describe('rollout', () => {
  test('rollout status reports the Deployment it names (field selector), and waits for it', async () => {
    fake.seed(deployment('ready', 'prod', 'repo/ready:v1', 1));
    fake.seed(deployment('stalled', 'prod', 'repo/stalled:v1-bad', 1));
    const ok = await rollout('ready');
    expect(ok.stdout).toContain('deployment "ready" successfully rolled out');
    expect(ok.code).toBe(0);
    const stalled = await kubectl(['rollout', 'status', 'deployment/stalled', '--timeout=1s']);
    expect(stalled.code).not.toBe(0);
    expect(stalled.stdout + stalled.stderr).toContain('"stalled"');
    expect(stalled.stdout + stalled.stderr).not.toContain('successfully rolled out');
  });

  test('rollout status follows a rollout through watch events until it is done', async () => {
    fake.seed(deployment('watched', 'prod', 'repo/watched:v1', 2));
    await until(async () => (await rollout('watched')).code === 0, 'the first rollout');
    fake.stuck.add('watched=repo/watched:v2');
    expect(
      (await kubectl(['set', 'image', 'deployment/watched', 'api=repo/watched:v2'])).code,
    ).toBe(0);
    const watches = () =>
      fake.requests.filter(
        (x) => x.path.includes('watch=true') && x.path.includes('metadata.name%3Dwatched'),
      ).length;
    const before = watches();
    const status = rollout('watched');
    await until(() => watches() > before, 'kubectl to watch the Deployment');
    await new Promise((r) => setTimeout(r, 200));
    fake.stuck.delete('watched=repo/watched:v2');
    const r = await status;
    expect(r.stdout).toMatch(/Waiting for deployment "watched" rollout to finish/);
    expect(r.stdout).toContain('deployment "watched" successfully rolled out');
    expect(r.code).toBe(0);
  });

  test("rollout undo --to-revision=1 re-uses revision 1's ReplicaSet, which becomes revision 3", async () => {
    fake.seed(deployment('undone', 'prod', 'repo/undone:v1', 1));
    await until(async () => (await rollout('undone')).code === 0, 'revision 1');
    expect((await kubectl(['set', 'image', 'deployment/undone', 'api=repo/undone:v2'])).code).toBe(
      0,
    );
    expect((await rollout('undone')).code).toBe(0);
    const undo = await kubectl(['rollout', 'undo', 'deployment/undone', '--to-revision=1']);
    expect(undo.stdout).toContain('deployment.apps/undone rolled back');
    expect((await rollout('undone')).code).toBe(0);
    const rs = await kubectl(['get', 'rs', '-l', 'app=undone', '-o', 'json']);
    const items = JSON.parse(rs.stdout).items as any[];
    expect(items).toHaveLength(2);
    const byImage = Object.fromEntries(
      items.map((x) => [
        x.spec.template.spec.containers[0].image,
        x.metadata.annotations['deployment.kubernetes.io/revision'],
      ]),
    );
    expect(byImage).toEqual({ 'repo/undone:v1': '3', 'repo/undone:v2': '2' });
    const d = JSON.parse((await kubectl(['get', 'deploy', 'undone', '-o', 'json'])).stdout);
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
  });

  test('a paused Deployment does not roll out a new image until it is resumed', async () => {
    fake.seed(deployment('paused', 'prod', 'repo/paused:v1', 1));
    await until(async () => (await rollout('paused')).code === 0, 'revision 1');
    expect((await kubectl(['rollout', 'pause', 'deployment/paused'])).code).toBe(0);
    expect((await kubectl(['set', 'image', 'deployment/paused', 'api=repo/paused:v2'])).code).toBe(
      0,
    );
    await new Promise((r) => setTimeout(r, 300));
    const rs = JSON.parse(
      (await kubectl(['get', 'rs', '-l', 'app=paused', '-o', 'json'])).stdout,
    ).items;
    expect(rs.map((x: any) => x.spec.template.spec.containers[0].image)).toEqual([
      'repo/paused:v1',
    ]);
    const d = JSON.parse((await kubectl(['get', 'deploy', 'paused', '-o', 'json'])).stdout);
    expect(d.status.conditions.find((c: any) => c.type === 'Progressing').reason).toBe(
      'DeploymentPaused',
    );
    expect((await kubectl(['rollout', 'resume', 'deployment/paused'])).code).toBe(0);
    const r = await rollout('paused');
    expect(r.stdout).toContain('successfully rolled out');
    const after = JSON.parse(
      (await kubectl(['get', 'rs', '-l', 'app=paused', '-o', 'json'])).stdout,
    ).items;
    expect(after).toHaveLength(2);
  });
});

describe('watch and wait', () => {
  test('wait --for=condition returns at once for a condition already met', async () => {
    const job = join(dir, 'done-job.yaml');
    writeFileSync(job, jobYaml('already-done', 'repo/task:v1'));
    expect((await kubectl(['create', '-f', job])).code).toBe(0);
    await until(() => fake.get('Job', 'prod', 'already-done')?.status?.succeeded === 1, 'the job');
    const started = Date.now();
    const r = await kubectl([
      'wait',
      '--for=condition=complete',
      'job/already-done',
      '--timeout=5s',
    ]);
    expect(r.stdout).toContain('job.batch/already-done condition met');
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  test('get --watch keeps printing changes', async () => {
    fake.seed(deployment('observed', 'prod', 'repo/observed:v1', 1));
    const child = spawn(
      KUBECTL,
      [
        '--kubeconfig',
        config,
        '--cache-dir',
        join(dir, 'cache'),
        'get',
        'deploy',
        'observed',
        '--watch',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}{"\\n"}',
      ],
      { env: { PATH: process.env.PATH ?? '', HOME: dir } },
    );
    let out = '';
    child.stdout.on('data', (b) => (out += String(b)));
    try {
      await until(() => out.includes('repo/observed:v1'), 'the first line');
      expect(child.exitCode).toBeNull();
      expect(
        (await kubectl(['set', 'image', 'deployment/observed', 'api=repo/observed:v2'])).code,
      ).toBe(0);
      await until(() => out.includes('repo/observed:v2'), 'the change');
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill();
    }
  });
});

function jobYaml(name: string, image: string, sidecar = false): string {
  return [
    'apiVersion: batch/v1',
    'kind: Job',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  backoffLimit: 0',
    '  template:',
    '    spec:',
    '      restartPolicy: Never',
    ...(sidecar
      ? [
          '      initContainers:',
          '        - name: proxy',
          '          image: cloud-sql-proxy:2',
          '          restartPolicy: Always',
        ]
      : []),
    '      containers:',
    '        - name: task',
    `          image: ${image}`,
    '',
  ].join('\n');
}

describe('jobs and logs', () => {
  test("logs job/x reads that Job's pod only, and a sidecar's log by container", async () => {
    writeFileSync(join(dir, 'a.yaml'), jobYaml('first-job', 'repo/first:v1'));
    writeFileSync(join(dir, 'b.yaml'), jobYaml('second-job', 'repo/second:v1', true));
    expect((await kubectl(['create', '-f', join(dir, 'a.yaml')])).code).toBe(0);
    expect((await kubectl(['create', '-f', join(dir, 'b.yaml')])).code).toBe(0);
    expect(
      (
        await kubectl([
          'wait',
          '--for=condition=complete',
          'job/first-job',
          'job/second-job',
          '--timeout=10s',
        ])
      ).code,
    ).toBe(0);
    const job = JSON.parse((await kubectl(['get', 'job', 'second-job', '-o', 'json'])).stdout);
    expect(job.spec.selector.matchLabels['batch.kubernetes.io/controller-uid']).toBe(
      job.metadata.uid,
    );
    const logs = await kubectl(['logs', 'job/second-job']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('starting task (repo/second:v1)');
    expect(logs.stdout).not.toContain('repo/first:v1');
    const proxy = await kubectl(['logs', 'job/second-job', '-c', 'proxy']);
    expect(proxy.stdout).toContain('proxy: sidecar ready');
    const pod = JSON.parse(
      (await kubectl(['get', 'pods', '-l', 'job-name=second-job', '-o', 'json'])).stdout,
    ).items[0];
    // the API itself: a pod with two containers needs `container`
    const raw = await kubectl([
      'get',
      '--raw',
      `/api/v1/namespaces/prod/pods/${pod.metadata.name}/log`,
    ]);
    expect(raw.code).not.toBe(0);
    expect(raw.stderr).toContain(
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [task] or one of the init containers: [proxy]`,
    );
  });
});

describe('server-side apply', () => {
  const cm = (labels: string, data: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {${labels}}\ndata: {${data}}\n`;

  test('a field dropped from the applied configuration is removed', async () => {
    expect(
      (
        await kubectl(
          ['apply', '--server-side', '-f', '-'],
          cm('team: billing, tier: api', 'a: "1", b: "2"'),
        )
      ).code,
    ).toBe(0);
    const r = await kubectl(['apply', '--server-side', '-f', '-'], cm('team: billing', 'a: "1"'));
    expect(r.stdout).toContain('configmap/settings serverside-applied');
    const o = JSON.parse((await kubectl(['get', 'cm', 'settings', '-o', 'json'])).stdout);
    expect(o.data).toEqual({ a: '1' });
    expect(o.metadata.labels).toEqual({ team: 'billing' });
  });

  test('a conflict names the field and manager; forced, the old manager keeps its Apply entry without the field', async () => {
    const mine = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {a: "9"}\n';
    const refused = await kubectl(
      ['apply', '--server-side', '--field-manager=other', '-f', '-'],
      mine,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.a',
    );
    const forced = await kubectl(
      ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'],
      mine,
    );
    expect(forced.code).toBe(0);
    const o = JSON.parse(
      (await kubectl(['get', 'cm', 'settings', '-o', 'json', '--show-managed-fields'])).stdout,
    );
    const entries = Object.fromEntries(o.metadata.managedFields.map((m: any) => [m.manager, m]));
    expect(entries.kubectl.operation).toBe('Apply');
    expect(entries.kubectl.fieldsV1['f:data']).toBeUndefined();
    expect(entries.kubectl.fieldsV1['f:metadata']['f:labels']['f:team']).toEqual({});
    expect(entries.other.operation).toBe('Apply');
    expect(entries.other.fieldsV1).toEqual({ 'f:data': { 'f:a': {} } });
    expect(o.data.a).toBe('9');
  });
});

describe('server-side dry run refuses invalid objects', () => {
  const deploy = (spec: string, name = 'checked') =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
  const ok = [
    '  selector: {matchLabels: {app: checked}}',
    '  template:',
    '    metadata: {labels: {app: checked}}',
    '    spec:',
    '      containers:',
    '        - {name: api, image: "repo/api:v1"}',
    '',
  ].join('\n');
  const cases: [string, string, RegExp][] = [
    [
      'replicas of the wrong type',
      deploy(`  replicas: "3"\n${ok}`),
      /\.spec\.replicas: expected integer, got string/,
    ],
    [
      'an unknown field (typo)',
      deploy(ok.replace('image:', 'imagee:')),
      /\.spec\.template\.spec\.containers\[0\]\.imagee: field not declared in schema/,
    ],
    [
      'no selector',
      deploy(ok.replace('  selector: {matchLabels: {app: checked}}\n', '')),
      /Deployment(\.apps)? "checked" is invalid: .*spec\.selector: Required value/,
    ],
    [
      'a selector that does not select the template',
      deploy(ok.replace('{app: checked}}\n  template', '{app: other}}\n  template')),
      /`selector` does not match template `labels`/,
    ],
    [
      'a container without an image',
      deploy(ok.replace(', image: "repo/api:v1"', '')),
      /spec\.template\.spec\.containers\[0\]\.image: Required value/,
    ],
    ['an invalid name', deploy(ok, 'Checked_API'), /metadata\.name: Invalid value: "Checked_API"/],
    [
      'a Job whose pods restart Always',
      jobYaml('always', 'repo/task:v1').replace('restartPolicy: Never', 'restartPolicy: Always'),
      /spec\.template\.spec\.restartPolicy: Unsupported value: "Always"/,
    ],
  ];
  test.each(cases)('%s', async (_what, manifest, message) => {
    const r = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], manifest);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test('an object in a namespace that does not exist is refused', async () => {
    const r = await kubectl(
      ['apply', '--server-side', '--dry-run=server', '-n', 'nowhere', '-f', '-'],
      deploy(ok),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('namespaces "nowhere" not found');
    const c = await kubectl(
      ['create', '-n', 'nowhere', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
    );
    expect(c.stderr).toContain('namespaces "nowhere" not found');
  });

  test('a valid manifest passes the dry run and is not stored', async () => {
    const r = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], deploy(ok));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('deployment.apps/checked serverside-applied (server dry run)');
    expect(fake.get('Deployment', 'prod', 'checked')).toBeUndefined();
  });
});
