/**
 * GitHub environments and run approvals through the REST API with `@actions/github`'s Octokit:
 *
 * - GET /repos/{owner}/{repo}/environments/{environment_name} → `protection_rules`
 *   (docs.github.com/en/rest/deployments/environments#get-an-environment): each rule has a
 *   `type` (`required_reviewers` with `reviewers`, `wait_timer` with minutes, `branch_policy`;
 *   custom deployment protection rules are apps that approve or reject on their own).
 * - GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals
 *   (docs.github.com/en/rest/actions/workflow-runs#get-the-review-history-for-a-workflow-run):
 *   who approved or rejected which environment of the run.
 */
import { getOctokit } from '@actions/github';
import type { DeploymentTarget } from './deployments.js';

/** One protection rule as the API returns it. */
export interface ProtectionRule {
  type: string;
  /** `wait_timer`: minutes. */
  wait_timer?: number;
  /** `required_reviewers`: users and teams. */
  reviewers?: { type?: string; reviewer?: { login?: string; slug?: string; name?: string } }[];
  prevent_self_review?: boolean;
}

/** An environment's protection as read from the API; `exists: false` on 404. */
export interface EnvironmentProtection {
  name: string;
  exists: boolean;
  rules: ProtectionRule[];
  canAdminsBypass: boolean;
}

/** One review of a run's environment protection rules. */
export interface RunApproval {
  state: 'approved' | 'rejected' | string;
  environments: string[];
  user: string;
  comment: string;
}

function octokit(t: DeploymentTarget) {
  return getOctokit(t.token, t.baseUrl ? { baseUrl: t.baseUrl } : {});
}

function failure(what: string, e: unknown, token: string): Error {
  const status = (e as { status?: number }).status;
  const message = ((e as Error).message ?? String(e)).split(token).join('***');
  return new Error(`${what}: ${status ? `HTTP ${status}: ` : ''}${message}`);
}

/**
 * Reads an environment's protection rules.
 * @returns `exists: false` when the API answers 404 (the environment does not exist yet)
 * @throws Error naming the call and HTTP status for any other failure (401, 403 without
 *   `actions: read`, 5xx); never contains the token
 */
export async function environmentProtection(
  target: DeploymentTarget,
  name: string,
): Promise<EnvironmentProtection> {
  try {
    const res = await octokit(target).request(
      'GET /repos/{owner}/{repo}/environments/{environment_name}',
      { owner: target.owner, repo: target.repo, environment_name: name },
    );
    const data = res.data as { protection_rules?: ProtectionRule[]; can_admins_bypass?: boolean };
    return {
      name,
      exists: true,
      rules: data.protection_rules ?? [],
      canAdminsBypass: data.can_admins_bypass ?? true,
    };
  } catch (e) {
    if ((e as { status?: number }).status === 404)
      return { name, exists: false, rules: [], canAdminsBypass: true };
    throw failure(`read environment '${name}'`, e, target.token);
  }
}

/**
 * The reviews of a run's environments, newest first as the API lists them.
 * @throws Error naming the call and HTTP status; never contains the token
 */
export async function runApprovals(
  target: DeploymentTarget,
  runId: number,
): Promise<RunApproval[]> {
  try {
    const res = await octokit(target).request(
      'GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals',
      { owner: target.owner, repo: target.repo, run_id: runId },
    );
    return (
      res.data as {
        state: string;
        comment?: string;
        environments?: { name?: string }[];
        user?: { login?: string };
      }[]
    ).map((a) => ({
      state: a.state,
      environments: (a.environments ?? []).map((e) => e.name ?? ''),
      user: a.user?.login ?? '',
      comment: a.comment ?? '',
    }));
  } catch (e) {
    throw failure(`read the approvals of run ${runId}`, e, target.token);
  }
}
