/**
 * `runbook smoke`: run a checks file from the command line, e.g. to rehearse the post-deploy
 * checks against a staging URL. Secrets come from environment variables, never from arguments
 * (which end up in shell history and process listings).
 */
import {
  databaseUrlFlag,
  durationFlag,
  envSecretsFlag,
  parseFlags,
  requiredFlag,
} from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { parseAssignments } from './template.js';
import { runSmokeChecks } from './run.js';
import { smokeResults, smokeSummary } from './report.js';

const usage = `usage: runbook smoke --checks FILE [options]

Runs the smoke checks in FILE (YAML) and prints a table of results.

options:
  --checks FILE          the checks file (required)
  --base-url URL         fills {{base_url}}
  --env NAME             fills {{env}}
  --var NAME=VALUE       another variable (repeatable)
  --secret NAME          {{secrets.NAME}} from the environment variable NAME (repeatable)
  --database-url URL     PostgreSQL URL for SQL assertions (default: $DATABASE_URL)
  --only NAME            run only this check (repeatable)
  --timeout DURATION     default per-request timeout, e.g. 10s, 500ms (default 10s)
  --json                 print the results as JSON instead of a table

exit codes: 0 every check passed, 1 a check failed, 2 a usage or checks-file error`;

/** The `runbook smoke` command. */
export const command: CliCommand = {
  name: 'smoke',
  summary:
    'run HTTP smoke checks (status, headers, JSON, latency, idempotency, SQL) from a YAML file',
  usage,
  run: async (argv, logger) => {
    const { values: v } = parseFlags(
      argv,
      {
        checks: { type: 'string' },
        'base-url': { type: 'string' },
        env: { type: 'string' },
        var: { type: 'string', multiple: true },
        secret: { type: 'string', multiple: true },
        'database-url': { type: 'string' },
        only: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    const file = requiredFlag(v.checks, '--checks');
    const variables = parseAssignments((v.var ?? []).join('\n'), '--var');
    if (v['base-url']) variables.base_url = v['base-url'].replace(/\/+$/, '');
    if (v.env) variables.env = v.env;
    const secrets = envSecretsFlag(v.secret, '--secret');
    const timeoutMs = durationFlag(v.timeout, '--timeout');
    const run = await runSmokeChecks(
      {
        file,
        variables,
        secrets,
        databaseUrl: databaseUrlFlag(v['database-url']),
        only: v.only,
        timeoutMs,
        input: '--checks',
      },
      v.json ? { ...logger, info: () => {} } : logger,
    );
    if (v.json) {
      console.log(JSON.stringify(smokeResults(run), null, 2));
    } else {
      logger.info(smokeSummary(run));
      for (const a of run.annotations) logger.error(a.message, a.location);
    }
    return run.failed > 0 ? 1 : 0;
  },
};
