import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { resolve } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import {
  loadPlan,
  parsePlan,
  missingPaths,
  reportPath,
  releasePlanJsonSchema,
  SCHEMA_FILE,
} from '../../src/release/index.js';

const root = resolve(import.meta.dirname, '../..');
const example = resolve(root, 'examples/paket7/release.yml');
const exampleText = readFileSync(example, 'utf8');

function expectConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('release plan', () => {
  test('gate.on-inconclusive is one of fail, pass, neutral', () => {
    const e = expectConfigError(() =>
      parsePlan(
        exampleText.replace('  interval: 1m\n', '  interval: 1m\n  on-inconclusive: ignore\n'),
        example,
      ),
    );
    expect(e.message).toMatch(/on-inconclusive/);
    const ok = parsePlan(
      exampleText.replace('  interval: 1m\n', '  interval: 1m\n  on-inconclusive: neutral\n'),
      example,
    );
    expect(ok.value.gate['on-inconclusive']).toBe('neutral');
  });

  test('the approval environment must not be the release environment, at its line', () => {
    const text = exampleText.replace(
      'environment: production-promotion',
      'environment: production',
    );
    const e = expectConfigError(() => parsePlan(text, example));
    expect(e.message).toContain(
      "must differ from the release environment 'production': use an environment whose required reviewers approve promotion, e.g. 'production-promotion'",
    );
    expect(e.location?.line).toBe(
      text
        .split('\n')
        .findIndex((l) => l.includes('environment: production') && l.startsWith('  ')) + 1,
    );
  });

  test('the Paket 7 example loads with its defaults applied', () => {
    const { value: plan } = loadPlan(example);
    expect(plan.package).toBe('P7');
    expect(plan.flags.flag).toBe('BILLING_ENFORCEMENT');
    expect(plan.flags['canary-tenants']).toEqual(['tn-4582', 'tn-9014']);
    expect(plan.flags['global-must-be']).toBe('off');
    expect(plan.traffic.steps.map((s) => s.weight)).toEqual([1, 5, 20, 50]);
    expect(plan.rollback).toEqual({ flags: 'restore', traffic: 'zero', rollout: 'undo' });
    expect(reportPath(plan)).toBe('reports/deploy/P7.md');
  });

  test('a bad value is reported with the file and the line of the offending key', () => {
    const text = exampleText.replace(
      '- { weight: 20, duration: 30m }',
      '- { weight: 20, duration: soon }',
    );
    const line = text.split('\n').findIndex((l) => l.includes('duration: soon')) + 1;
    const e = expectConfigError(() => parsePlan(text, 'release.yml', 'plan'));
    expect(e.location).toEqual({ file: 'release.yml', line });
    expect(e.message).toContain('traffic.steps.2.duration');
    expect(e.message).toContain("input 'plan'");
  });

  test('traffic weights must increase step by step', () => {
    const text = exampleText.replace('{ weight: 20,', '{ weight: 5,');
    const stepLines = text
      .split('\n')
      .map((l, i) => [l, i + 1] as const)
      .filter(([l]) => l.trim().startsWith('- { weight:'));
    const e = expectConfigError(() => parsePlan(text, 'release.yml'));
    expect(e.message).toMatch(
      /traffic\.steps\.2\.weight: weight 5 must be above the previous step's 5/,
    );
    expect(e.location?.line).toBe(stepLines[2][1]);
  });

  test('an ingress without the stable Deployment is refused (promotion would serve the old images)', () => {
    const text = exampleText.replace(/^ {2}stable-deployment: .*\n/m, '');
    expect(text).not.toContain('stable-deployment');
    const deployLine = text.split('\n').findIndex((l) => l === 'deploy:') + 1;
    const e = expectConfigError(() => parsePlan(text, 'release.yml'));
    expect(e.message).toMatch(/deploy\.stable-deployment: is required when an ingress is given/);
    expect(e.location?.line).toBe(deployLine);
  });

  test('unknown keys are refused (a typo does not silently drop a setting)', () => {
    const text = exampleText.replace(
      '  canary-tenants:',
      '  canary-tenant: [x]\n  canary-tenants:',
    );
    const line = text.split('\n').findIndex((l) => l.startsWith('  canary-tenant:')) + 1;
    const e = expectConfigError(() => parsePlan(text, 'release.yml'));
    expect(e.message).toContain('canary-tenant');
    expect(e.location?.line).toBeLessThanOrEqual(line);
  });

  test('missing canary tenants and a bad package id are refused', () => {
    expectConfigError(() => parsePlan(exampleText.replace('[tn-4582, tn-9014]', '[]'), 'r.yml'));
    const e = expectConfigError(() =>
      parsePlan(exampleText.replace('package: P7', 'package: "P 7"'), 'r.yml'),
    );
    expect(e.location?.line).toBe(7);
  });

  test('bad YAML names the line', () => {
    const e = expectConfigError(() => parsePlan('package: P7\nflags: [unclosed\n', 'r.yml'));
    expect(e.location?.line).toBeGreaterThan(0);
  });

  test('missing referenced files are reported at their line', () => {
    const text = exampleText.replace('examples/paket7/migrations', 'examples/paket7/no-such-dir');
    const loaded = parsePlan(text, 'release.yml');
    const errors = missingPaths(loaded, root);
    const mig = errors.find((e) => e.message.includes('migrations.dir'));
    expect(mig?.location?.line).toBe(
      text.split('\n').findIndex((l) => l.includes('no-such-dir')) + 1,
    );
  });

  test('deploy.manifests may be a file or a directory of manifests, as the apply command takes', () => {
    const withManifests = (p: string) =>
      parsePlan(
        exampleText.replace('  timeout: 10m\n', `  timeout: 10m\n  manifests: ${p}\n`),
        'release.yml',
      );
    expect(missingPaths(withManifests('examples/paket7/k8s/cronjobs'), root)).toEqual([]);
    expect(
      missingPaths(withManifests('examples/paket7/k8s/cronjobs/webhook-retry.yaml'), root),
    ).toEqual([]);
    const missing = missingPaths(withManifests('examples/paket7/k8s/nothing'), root);
    expect(missing.map((e) => e.message)).toEqual([
      "release.yml:41: deploy.manifests: file or directory 'examples/paket7/k8s/nothing' does not exist",
    ]);
  });

  test(`${SCHEMA_FILE} is current (regenerate with npx tsx src/release/json-schema.ts)`, () => {
    expect(readFileSync(resolve(root, SCHEMA_FILE), 'utf8')).toBe(releasePlanJsonSchema());
  });

  test('the JSON Schema describes the plan for editors', () => {
    const schema = JSON.parse(releasePlanJsonSchema());
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(
      expect.arrayContaining(['package', 'environment', 'flags', 'traffic', 'gate', 'promotion']),
    );
    expect(schema.properties.flags.properties.backend.enum).toEqual([
      'postgres',
      'http',
      'launchdarkly',
      'unleash',
    ]);
    expect(schema.properties.traffic.properties.steps.items.properties.weight.maximum).toBe(100);
  });
});

describe('the published JSON Schema with Ajv (draft 2020-12, as the workflow preflight validates)', () => {
  // Ajv 8 and ajv-formats 3 are installed as dependencies of unleash-server (a devDependency);
  // Ajv is resolved from ajv-formats so the two match. The workflow uses ajv-cli@5 (Ajv 8).
  const requireFromFormats = createRequire(createRequire(import.meta.url).resolve('ajv-formats'));
  const Ajv2020 = requireFromFormats('ajv/dist/2020').default;
  const addFormats =
    createRequire(import.meta.url)('ajv-formats').default ??
    createRequire(import.meta.url)('ajv-formats');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(resolve(root, SCHEMA_FILE), 'utf8')));

  test('accepts the Paket 7 plan', () => {
    const ok = validate(parse(exampleText));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test('rejects what the loader rejects: an unknown key, a weight above 100, a bad duration', () => {
    for (const bad of [
      exampleText.replace('  canary-tenants:', '  canary-tenant: [x]\n  canary-tenants:'),
      exampleText.replace('{ weight: 50,', '{ weight: 150,'),
      exampleText.replace('interval: 1m', 'interval: soon'),
    ]) {
      expect(validate(parse(bad))).toBe(false);
      expectConfigError(() => parsePlan(bad, 'release.yml'));
    }
  });
});
