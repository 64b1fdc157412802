/**
 * The bundled canary-gate action (actions/canary-gate/dist), run as the runner runs it, in
 * backtest mode against a real Prometheus. Build it first: `node scripts/bundle.mjs canary-gate`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runBundledAction } from '../support/action.js';
import {
  describePrometheus,
  scenarioOpenMetrics,
  scenarioStart,
  startPrometheus,
  type RunningPrometheus,
} from '../support/gate-prometheus.js';

const root = resolve(import.meta.dirname, '../..');
const bundle = join(root, 'actions/canary-gate/dist/index.js');
const run = describePrometheus();
if (run && !existsSync(bundle))
  throw new Error('build the bundle first: node scripts/bundle.mjs canary-gate');
const d = run ? describe : describe.skip;
const MIN = 60_000;

d('canary-gate action (bundled) in backtest mode', () => {
  let prom: RunningPrometheus;
  let dir: string;
  const S = scenarioStart();
  const start = new Date(S + 2 * MIN).toISOString();
  const end = new Date(S + 32 * MIN).toISOString();
  const token = 'prom-bearer-s3cret-token';

  beforeAll(async () => {
    prom = await startPrometheus(scenarioOpenMetrics(S));
    dir = mkdtempSync(join(tmpdir(), 'gate-action-'));
  });
  afterAll(async () => {
    await prom?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const inputs = (service: string, file: string) => ({
    criteria: 'examples/paket7/gate/prometheus.yml',
    mode: 'backtest',
    'prometheus-url': prom.url,
    'prometheus-token': token,
    tenants: 'tn-4582, tn-9014',
    service,
    start,
    end,
    'measurements-file': join(dir, file),
  });

  test('a regression fails the step with failed-at, an annotation at the metric, a summary and measurements', async () => {
    const r = await runBundledAction(
      'canary-gate',
      inputs('checkout-regression', 'regression.json'),
    );
    expect(r.exitCode).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    // 5% from the start fails the sequential rate test at the first look (window from S + 2 min).
    expect(r.outputs['failed-at']).toBe(new Date(S + 3 * MIN).toISOString());
    expect(r.outputs.reason).toMatch(/canary-5xx-rate failed the sequential rate test/);
    const ann = r.annotations.find(
      (a) => a.level === 'error' && a.title?.includes('canary-5xx-rate'),
    );
    expect(ann?.file).toBe('examples/paket7/gate/prometheus.yml');
    expect(ann?.line).toBe(
      readFileSync(join(root, 'examples/paket7/gate/prometheus.yml'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('name: canary-5xx-rate')) + 1,
    );
    // The reason appears once, at the metric; the step error names the metric.
    const errors = r.annotations.filter((a) => a.level === 'error');
    expect(errors.filter((a) => /canary-5xx-rate.*breaks < 1%: p = /.test(a.message))).toHaveLength(
      1,
    );
    expect(
      errors.some((a) =>
        /^canary gate failed at \S+: canary-5xx-rate(, slow-requests)? \(see /.test(a.message),
      ),
    ).toBe(true);
    expect(r.summary).toContain('Canary gate: ❌ fail');
    expect(r.summary).toMatch(/\| canary-5xx-rate \| prometheus \| `< 1%` \(ratio\) \|/);
    expect(r.summary).toContain('xychart-beta');
    const saved = JSON.parse(readFileSync(r.outputs['measurements-file'], 'utf8'));
    expect(saved.verdict).toBe('fail');
    expect(saved.metrics[0].measurements).toHaveLength(1);
    // The bearer token is masked and never printed.
    expect(r.masks).toContain(token);
    expect(r.stdout.replace(`::add-mask::${token}`, '')).not.toContain(token);
    expect(r.summary).not.toContain(token);
  });

  test('a healthy canary passes; its measurements replay to the same verdict, and a stricter criterion re-judges them', async () => {
    const r = await runBundledAction('canary-gate', inputs('checkout-healthy', 'healthy.json'));
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.outputs.verdict).toBe('pass');
    expect(r.outputs['failed-at']).toBe('');
    expect(r.summary).toContain('Canary gate: ✅ pass');

    const replay = await runBundledAction('canary-gate', {
      criteria: 'examples/paket7/gate/prometheus.yml',
      mode: 'replay',
      'replay-file': join(dir, 'healthy.json'),
      service: 'checkout-healthy',
    });
    expect(replay.outputs.verdict).toBe('pass');

    // Tune the latency criterion against the recorded canary: a judged p99 under 300 ms would
    // have failed.
    const strict = join(dir, 'strict.yml');
    writeFileSync(
      strict,
      readFileSync(join(root, 'examples/paket7/gate/prometheus.yml'), 'utf8').replace(
        '"< 500ms"\n    unit: seconds\n    dry-run: true',
        '"< 300ms"\n    unit: seconds',
      ),
    );
    const tuned = await runBundledAction('canary-gate', {
      criteria: strict,
      mode: 'replay',
      'replay-file': join(dir, 'healthy.json'),
      service: 'checkout-healthy',
    });
    expect(tuned.outputs.verdict).toBe('fail');
    expect(tuned.outputs.reason).toMatch(/p99-latency failed/);
  });

  test('no traffic: inconclusive fails the step by default and is neutral on request', async () => {
    const r = await runBundledAction('canary-gate', inputs('checkout-idle', 'idle.json'));
    expect(r.outputs.verdict).toBe('inconclusive');
    expect(r.exitCode).toBe(1);
    const neutral = await runBundledAction('canary-gate', {
      ...inputs('checkout-idle', 'idle2.json'),
      'on-inconclusive': 'neutral',
    });
    expect(neutral.outputs.verdict).toBe('inconclusive');
    expect(neutral.exitCode).toBe(0);
    expect(
      neutral.annotations.some((a) => a.level === 'warning' && /inconclusive/.test(a.message)),
    ).toBe(true);
  });

  test('a bad criteria file fails with an annotation at its file and line', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(
      bad,
      'interval: 1m\nduration: 30m\nmetrics:\n  - name: x\n    query: up\n    condition: "about 1%"\n',
    );
    const r = await runBundledAction('canary-gate', {
      criteria: bad,
      mode: 'backtest',
      'prometheus-url': prom.url,
    });
    expect(r.exitCode).toBe(1);
    const ann = r.annotations.find((a) => a.level === 'error');
    expect(ann?.file).toBe(bad);
    expect(ann?.line).toBe(6);
    expect(ann?.message).toMatch(/condition 'about 1%' is not understood/);
  });

  test('Datadog keys are masked before anything can print them', async () => {
    const apiKey = 'ddapi-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    const appKey = 'ddapp-a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
    const r = await runBundledAction('canary-gate', {
      criteria: 'examples/paket7/gate/datadog.yml',
      mode: 'backtest',
      'datadog-api-key': apiKey,
      'datadog-app-key': appKey,
      'datadog-site': 'datadoghq.invalid',
      start: '2024-06-03T19:05:00Z',
    });
    expect(r.exitCode).toBe(1);
    expect(r.annotations[0].message).toMatch(
      /input 'datadog-site': unknown Datadog site 'datadoghq.invalid'/,
    );
    expect(r.masks).toEqual(expect.arrayContaining([apiKey, appKey]));
    const printed =
      r.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n') +
      r.stderr +
      r.summary;
    expect(printed).not.toContain(apiKey);
    expect(printed).not.toContain(appKey);
  });
});
