/**
 * Who and what is running a step: the GitHub Actions run when there is one, the local user
 * otherwise. Read from the runner's documented default environment variables
 * (GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_ACTOR, GITHUB_WORKFLOW).
 */
import { userInfo } from 'node:os';

/** The identity recorded in history tables and audit comments. */
export interface RunInfo {
  /** GitHub login of the actor, or the local OS user name. */
  actor: string;
  /** URL of the workflow run (`https://github.com/o/r/actions/runs/123`), when in Actions. */
  runUrl?: string;
  /** `github-actions` or `cli`. */
  via: 'github-actions' | 'cli';
}

/** Reads {@link RunInfo} from `env` (defaults to `process.env`). */
export function runInfo(env: NodeJS.ProcessEnv = process.env): RunInfo {
  const inActions = env.GITHUB_ACTIONS === 'true';
  const runUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  let local = 'unknown';
  try {
    local = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return { actor: env.GITHUB_ACTOR || local, runUrl, via: inActions ? 'github-actions' : 'cli' };
}
