import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, silentLogger } from '../../src/errors.js';
import {
  allSteps,
  compileRelease,
  jobOf,
  JOB_IDS,
  loadPlan,
  outline,
  parsePlan,
  RUNBOOK_VERSION,
  workflowOutputs,
} from '../../src/release/index.js';
import { command } from '../../src/release/plan-cli.js';
import { main } from '../../src/cli.js';

const root = resolve(import.meta.dirname, '../..');
const example = resolve(root, 'examples/paket7/release.yml');
const text = readFileSync(example, 'utf8');

describe('compiled release', () => {
  const release = compileRelease(loadPlan(example), {
    planFile: 'examples/paket7/release.yml',
    attempt: 1,
  });

  test('jobs in the order of the reusable workflow, traffic legs in plan order', () => {
    expect(release.jobs.map((j) => j.id)).toEqual([...JOB_IDS]);
    const legs = jobOf(release, 'traffic').legs!;
    expect(legs.map((l) => l.weight)).toEqual([1, 5, 20, 50]);
    expect(legs[0].steps.map((s) => s.id)).toEqual(['set-weight', 'smoke', 'gate']);
    expect(legs[2].steps.find((s) => s.id === 'gate')!.with).toMatchObject({
      duration: '30m',
      'on-inconclusive': 'fail',
      provider: 'prometheus',
      tenants: 'tn-4582,tn-9014',
    });
    expect(release.compiler).toBe(RUNBOOK_VERSION);
  });

  test('inputs are what the actions take: lock-wait seconds become a duration, secrets by name', () => {
    const apply = jobOf(release, 'migrate').steps[0];
    expect(apply.with['lock-wait']).toBe('30s');
    expect(apply.secrets['database-url']).toBe('DATABASE_URL');
    for (const { step } of allSteps(release)) {
      for (const v of Object.values(step.with)) expect(typeof v).toBe('string');
    }
    expect(release.secrets).toEqual(['DATABASE_URL', 'KUBECONFIG', 'PROMETHEUS_URL']);
  });

  test('the rollback undoes flags, the stable Deployment, the weight and the canary, from the records', () => {
    const rb = jobOf(release, 'rollback').steps;
    expect(rb.map((s) => s.id)).toEqual(['records', 'flags', 'stable-undo', 'weight-zero', 'undo']);
    for (const s of rb) expect(s.if).toMatch(/^always\(\)/);
    expect(rb[1].from).toEqual({ 'restore-state': 'flag-previous-state' });
  });

  test('job timeouts follow the plan durations; above 6 hours the plan is refused at its line', () => {
    expect(jobOf(release, 'traffic').timeoutMinutes).toBeGreaterThanOrEqual(30);
    const longer = compileRelease(parsePlan(text.replace(/timeout: 10m/, 'timeout: 40m'), example));
    expect(jobOf(longer, 'rollback').timeoutMinutes).toBeGreaterThan(80);
    const bad = text.replace('{ weight: 20, duration: 30m }', '{ weight: 20, duration: 7h }');
    let err: unknown;
    try {
      compileRelease(parsePlan(bad, example));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /traffic\.steps\.2\.duration: .*360-minute job limit.*split it/,
    );
    expect((err as ConfigError).location?.line).toBe(
      bad.split('\n').findIndex((l) => l.includes('duration: 7h')) + 1,
    );
  });

  test('workflow outputs: step inputs by id, legs for matrix jobs, timeouts', () => {
    const out = workflowOutputs(release);
    expect((out.migrate as Record<string, Record<string, string>>).apply.dir).toBe(
      'examples/paket7/migrations',
    );
    expect((out.traffic as { weight: number; gate: { duration: string } }[])[1]).toMatchObject({
      weight: 5,
      gate: { duration: '30m' },
    });
    expect((out.timeouts as Record<string, number>).preflight).toBe(15);
  });

  test('a plan without migrations or deploy compiles to empty jobs, and the outline says so', () => {
    const bare = text
      .replace(/\nmigrations:\n( {2}.*\n)+/, '\n')
      .replace(/\ndeploy:\n( {2}.*\n)+/, '\n');
    const r = compileRelease(parsePlan(bare, example));
    expect(jobOf(r, 'migrate').steps).toEqual([]);
    expect(jobOf(r, 'traffic').legs![0].steps.map((s) => s.id)).toEqual(['smoke', 'gate']);
    expect(outline(r)).toContain('(nothing to do: skipped)');
  });
});

describe('runbook plan', () => {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  beforeEach(() => {
    out = '';
    process.stdout.write = ((c: string) => ((out += c), true)) as typeof process.stdout.write;
  });
  afterEach(() => {
    process.stdout.write = write;
  });

  test('--json prints the compiled release and nothing else on stdout', async () => {
    expect(await command.run([example, '--json', '--root', root], silentLogger)).toBe(0);
    const r = JSON.parse(out);
    expect(r.package).toBe('P7');
    expect(r.planFile).toBe('examples/paket7/release.yml');
  });

  test('the outline reads like the runbook', async () => {
    expect(await command.run([example, '--root', root], silentLogger)).toBe(0);
    expect(out).toMatch(/canary weight 1%[\s\S]*canary gate at 1% for 30m[\s\S]*canary weight 5%/);
    expect(out).toContain('Rollback would undo');
  });

  test('a bad plan exits 2 with the file and line', async () => {
    const errors: string[] = [];
    const err = console.error;
    console.error = (m: string) => void errors.push(m);
    try {
      expect(await main(['plan', resolve(root, 'test/plan/fixtures/bad-weight.yml')])).toBe(2);
    } finally {
      console.error = err;
    }
    expect(errors.join('\n')).toMatch(/bad-weight\.yml:\d+/);
  });
});

test('the compiler version is the package version', () => {
  const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  expect(RUNBOOK_VERSION).toBe(pkg.version);
});
