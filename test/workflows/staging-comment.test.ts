/**
 * staging.yml's `comment` job: its github-script runs for real, as actions/github-script runs it
 * (the script as the body of an async function given `github`, `context` and `core`), with the
 * real Octokit of `@actions/github` against a fake of the issue-comments API
 * (test/workflows/github-comments-fake.ts).
 */
import { getOctokit } from '@actions/github';
import { startFakeCommentsApi, type FakeCommentsApi } from './github-comments-fake.js';
import { readWorkflow } from './workflows.js';

const TOKEN = 'ghs_fakeStagingCommentToken0123456789';
const MARKER = '<!-- runbook-actions:staging-report -->';
const BOT = { login: 'github-actions[bot]', type: 'Bot' as const };

const step = readWorkflow('staging.yml').wf.jobs.comment.steps!.find((s) =>
  s.uses?.startsWith('actions/github-script@'),
)!;
const script = String(step.with!.script);

type AsyncFn = (...args: unknown[]) => Promise<unknown>;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => AsyncFn;

let api: FakeCommentsApi;
beforeEach(async () => {
  api = await startFakeCommentsApi('acme', 'billing', TOKEN);
});
afterEach(() => api.close());

const OUTPUTS = {
  lint: 'success',
  'pending-count': '2',
  'applied-count': '2',
  revision: '14',
  'smoke-passed': '6',
  'smoke-failed': '0',
  verdict: 'pass',
  reason: 'error rate 0.1% <= 1% | p95 180 ms <= 400 ms',
  'finished-at': '2026-01-01T10:00:00Z',
};

/** Runs the workflow's script for pull request `pr` with the job's env (RESULT, OUTPUTS). */
async function runScript(pr: number, result = 'success', outputs: object = OUTPUTS) {
  const github = getOctokit(TOKEN, { baseUrl: api.url });
  const context = {
    serverUrl: 'https://github.com',
    runId: 99,
    repo: { owner: 'acme', repo: 'billing' },
    payload: { pull_request: { number: pr } },
  };
  const env = { RESULT: result, OUTPUTS: JSON.stringify(outputs) };
  const core = {};
  await new AsyncFunction('github', 'context', 'core', 'process', script)(github, context, core, {
    env,
  });
}

const bodiesOf = (pr: number) =>
  api.comments.filter((c) => c.issue_number === pr).map((c) => [c.user.login, c.body]);

test('the first run creates one report comment', async () => {
  await runScript(7);
  expect(api.comments).toHaveLength(1);
  const [c] = api.comments;
  expect(c.user).toEqual(BOT);
  expect(c.body.startsWith(`${MARKER}\n### Staging: passed\n`)).toBe(true);
  expect(c.body).toContain('| migrations pending / applied | 2 / 2 |');
  expect(c.body).toContain('| canary gate | pass — error rate 0.1% <= 1% \\| p95 180 ms');
  expect(c.body).toContain('[run](https://github.com/acme/billing/actions/runs/99)');
});

test('later runs update that comment in place', async () => {
  await runScript(7);
  const id = api.comments[0].id;
  await runScript(7, 'failure', { ...OUTPUTS, verdict: 'fail', reason: '' });
  expect(api.comments.map((c) => c.id)).toEqual([id]);
  expect(api.comments[0].body).toContain('### Staging: failed');
  expect(api.comments[0].body).toContain('| canary gate | fail  |');
  expect(api.requests.filter((r) => r.startsWith('PATCH'))).toEqual([
    `PATCH /repos/acme/billing/issues/comments/${id}`,
  ]);
});

test("a person's comment that starts with the marker is left alone", async () => {
  const quoted = `${MARKER}\n### Staging: passed (pasted by hand)`;
  const human = api.add(7, quoted, { login: 'mallory', type: 'User' });
  await runScript(7, 'failure');
  expect(human.body).toBe(quoted);
  expect(bodiesOf(7)).toEqual([
    ['mallory', quoted],
    ['github-actions[bot]', expect.stringContaining('### Staging: failed')],
  ]);
});

test("another app's comment with the marker is not ours either", async () => {
  const other = api.add(7, `${MARKER}\nsomething else`, { login: 'renovate[bot]', type: 'Bot' });
  await runScript(7);
  expect(other.body).toBe(`${MARKER}\nsomething else`);
  expect(api.comments.filter((c) => c.user.login === BOT.login)).toHaveLength(1);
});

test("the bot's other comments (without the marker) are not taken for the report", async () => {
  const note = api.add(7, 'Deployed preview to https://pr-7.example', BOT);
  await runScript(7);
  expect(note.body).toBe('Deployed preview to https://pr-7.example');
  expect(api.comments).toHaveLength(2);
});

test('the report is found on a later page of a long conversation, and other PRs are untouched', async () => {
  const elsewhere = api.add(8, `${MARKER}\nreport of PR 8`, BOT);
  for (let i = 0; i < 120; i++) api.add(7, `comment ${i}`, { login: 'dev', type: 'User' });
  const ours = api.add(7, `${MARKER}\nold report`, BOT);
  await runScript(7);
  expect(ours.body).toContain('### Staging: passed');
  expect(elsewhere.body).toBe(`${MARKER}\nreport of PR 8`);
  expect(api.comments).toHaveLength(122);
  expect(api.requests.filter((r) => r.startsWith('GET'))).toHaveLength(2);
  expect(api.requests.some((r) => r.startsWith('POST'))).toBe(false);
});
