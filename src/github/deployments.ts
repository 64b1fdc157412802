/**
 * GitHub deployment records through the REST API (docs.github.com/en/rest/deployments/deployments
 * and /statuses) with `@actions/github`'s Octokit: one deployment per release and environment,
 * then statuses (`in_progress`, `success`, `failure`, ...) so the release shows in the
 * repository's Environments panel with a link to the run.
 *
 * The reusable release workflow makes the same two calls with `gh api`; this module is for
 * actions and scripts that record a deployment from JavaScript.
 */
import { getOctokit } from '@actions/github';

/** States a deployment status can have (REST API `state`). */
export type DeploymentState =
  'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

/** Which repository, with which token. */
export interface DeploymentTarget {
  /** A token with `deployments: write` (e.g. the workflow's GITHUB_TOKEN). Never logged. */
  token: string;
  owner: string;
  repo: string;
  /** REST API base URL (default `https://api.github.com`; GitHub Enterprise: `GITHUB_API_URL`). */
  baseUrl?: string;
}

/** Options of {@link createDeployment}. */
export interface CreateDeploymentOptions {
  /** Branch, tag or commit SHA deployed. */
  ref: string;
  /** Environment name, e.g. `production`. */
  environment: string;
  description?: string;
  /** Free JSON stored with the deployment (e.g. `{ package: 'P7' }`). */
  payload?: Record<string, unknown>;
  /** Marks the environment as production (default: true when the name is `production`). */
  productionEnvironment?: boolean;
  /** A temporary environment that will be destroyed (default false). */
  transientEnvironment?: boolean;
}

/** Options of {@link setDeploymentStatus}. */
export interface DeploymentStatusOptions {
  state: DeploymentState;
  /** Link to the run's log (shown as "View logs"). */
  logUrl?: string;
  /** Link to the deployed environment (shown as "View deployment"). */
  environmentUrl?: string;
  /** At most 140 characters (longer text is cut with an ellipsis, as the API refuses it). */
  description?: string;
}

/** A failed deployments API call, with the HTTP status; the message never contains the token. */
export class DeploymentApiError extends Error {
  override readonly name = 'DeploymentApiError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function octokit(t: DeploymentTarget) {
  return getOctokit(t.token, t.baseUrl ? { baseUrl: t.baseUrl } : {});
}

async function call<T>(what: string, fn: () => Promise<T>, token: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const status = (e as { status?: number }).status;
    const message = ((e as Error).message ?? String(e)).split(token).join('***');
    throw new DeploymentApiError(`${what}: ${status ? `HTTP ${status}: ` : ''}${message}`, status);
  }
}

/**
 * Creates a deployment (POST /repos/{owner}/{repo}/deployments) without auto-merge and without
 * required status contexts, so it is created for exactly `ref`.
 * @returns the deployment id
 * @throws DeploymentApiError when the API refuses (401/403 token, 404 repository, 409 merge
 *   conflict, 422 validation) or answers 202 without creating one
 */
export async function createDeployment(
  target: DeploymentTarget,
  options: CreateDeploymentOptions,
): Promise<number> {
  const res = await call(
    `create deployment for ${options.environment}`,
    () =>
      octokit(target).rest.repos.createDeployment({
        owner: target.owner,
        repo: target.repo,
        ref: options.ref,
        environment: options.environment,
        description: options.description,
        payload: options.payload ?? {},
        auto_merge: false,
        required_contexts: [],
        production_environment:
          options.productionEnvironment ?? options.environment === 'production',
        transient_environment: options.transientEnvironment ?? false,
      }),
    target.token,
  );
  const data = res.data as { id?: number; message?: string };
  if (typeof data.id !== 'number') {
    throw new DeploymentApiError(
      `create deployment for ${options.environment}: no deployment created (${data.message ?? `HTTP ${res.status}`})`,
      res.status,
    );
  }
  return data.id;
}

/**
 * Adds a status to a deployment (POST /repos/{owner}/{repo}/deployments/{id}/statuses).
 * @throws DeploymentApiError when the API refuses (404 unknown deployment, 422 bad state)
 */
export async function setDeploymentStatus(
  target: DeploymentTarget,
  deploymentId: number,
  options: DeploymentStatusOptions,
): Promise<void> {
  const description =
    options.description && options.description.length > 140
      ? `${options.description.slice(0, 139)}…`
      : options.description;
  await call(
    `deployment ${deploymentId} status ${options.state}`,
    () =>
      octokit(target).rest.repos.createDeploymentStatus({
        owner: target.owner,
        repo: target.repo,
        deployment_id: deploymentId,
        state: options.state,
        log_url: options.logUrl,
        environment_url: options.environmentUrl,
        description,
      }),
    target.token,
  );
}

/**
 * The target of the current workflow run from the runner's default environment variables
 * (GITHUB_REPOSITORY `owner/repo`, GITHUB_API_URL) and a token.
 * @throws Error when GITHUB_REPOSITORY is not `owner/repo`
 */
export function targetFromEnv(
  token: string,
  env: NodeJS.ProcessEnv = process.env,
): DeploymentTarget {
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo || rest.length) {
    throw new Error(`GITHUB_REPOSITORY must be owner/repo, got '${env.GITHUB_REPOSITORY ?? ''}'`);
  }
  return { token, owner, repo, baseUrl: env.GITHUB_API_URL || undefined };
}
