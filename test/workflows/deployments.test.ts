/**
 * Deployment records with the real Octokit (`@actions/github`) against a fake of the REST API
 * (test/support/github-deployments.ts).
 */
import {
  createDeployment,
  DeploymentApiError,
  setDeploymentStatus,
  targetFromEnv,
  type DeploymentTarget,
} from '../../src/github/deployments.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-deployments.js';

const TOKEN = 'ghs_fakeDeploymentToken0123456789';
let gh: FakeGitHub;
let target: DeploymentTarget;

beforeAll(async () => {
  gh = await startFakeGitHub('acme', 'billing', TOKEN);
  target = { token: TOKEN, owner: 'acme', repo: 'billing', baseUrl: gh.url };
});
afterAll(() => gh.close());

test('a release: one deployment for the environment, in_progress then success', async () => {
  const id = await createDeployment(target, {
    ref: 'abc123',
    environment: 'production',
    description: 'release P7',
    payload: { package: 'P7' },
  });
  await setDeploymentStatus(target, id, {
    state: 'in_progress',
    logUrl: 'https://github.com/acme/billing/actions/runs/1',
  });
  await setDeploymentStatus(target, id, { state: 'success', description: 'promoted' });
  const d = gh.deployments.find((x) => x.id === id)!;
  expect(d).toMatchObject({
    ref: 'abc123',
    environment: 'production',
    production_environment: true,
    payload: { package: 'P7' },
  });
  expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
  expect(d.statuses[0].log_url).toBe('https://github.com/acme/billing/actions/runs/1');
});

test('a long description is cut to the 140 characters the API accepts', async () => {
  const id = await createDeployment(target, { ref: 'abc123', environment: 'staging' });
  await setDeploymentStatus(target, id, { state: 'failure', description: 'x'.repeat(300) });
  const d = gh.deployments.find((x) => x.id === id)!;
  expect(d.production_environment).toBe(false);
  expect(d.statuses[0].description).toHaveLength(140);
});

test('errors name the call and status and never contain the token', async () => {
  const bad = { ...target, token: `${TOKEN}-wrong` };
  const e1 = await createDeployment(bad, { ref: 'abc', environment: 'production' }).catch((e) => e);
  expect(e1).toBeInstanceOf(DeploymentApiError);
  expect(e1.status).toBe(401);
  expect(e1.message).toMatch(/^create deployment for production: HTTP 401/);
  expect(e1.message).not.toContain(TOKEN);
  const e2 = await setDeploymentStatus(target, 999999, { state: 'success' }).catch((e) => e);
  expect(e2.status).toBe(404);
  const e3 = await setDeploymentStatus(target, gh.deployments[0].id, {
    state: 'done' as 'success',
  }).catch((e) => e);
  expect(e3.status).toBe(422);
});

test('the target comes from the runner environment', () => {
  expect(
    targetFromEnv('t', {
      GITHUB_REPOSITORY: 'acme/billing',
      GITHUB_API_URL: 'https://ghe.example.com/api/v3',
    }),
  ).toEqual({
    token: 't',
    owner: 'acme',
    repo: 'billing',
    baseUrl: 'https://ghe.example.com/api/v3',
  });
  expect(() => targetFromEnv('t', {})).toThrow(/GITHUB_REPOSITORY must be owner\/repo/);
});
