/** `runbook rehearse`: a release plan run end to end on this machine. */
import { envSecretsFlag, numberFlag, parseFlags } from '../cli/args.js';
import { confirmTarget, describeDatabase } from '../cli/target.js';
import type { CliCommand } from '../cli/types.js';
import { runInfo } from '../runinfo.js';
import { rehearse } from './rehearse.js';

const usage = `usage: runbook rehearse <plan.yml> [options]

Runs a release plan end to end as the reusable release workflow would: preflight, migrate,
deploy the canary, backfill, flags on for the canary tenants, each traffic step (weight, smoke,
canary gate on a recorded canary), approval, promotion — or, when a step fails, the rollback.
Writes a Markdown report (timeline, what changed, measured values against criteria, approval).

options:
  --regression           replay the plan's recorded regression instead of the healthy recording
  --replay-file <file>   replay this measurements file instead
  --report <file>        report path (default: the plan's report.path, reports/deploy/<package>.md)
  --approve              approve the promotion as the local user (default: auto-approval, noted in the report)
  --database-url <url>   rehearse against this database instead of a fresh embedded PostgreSQL
                         (it is written to: the target is printed first, and asked about)
  --yes                  with --database-url: go on without asking (required in CI)
  --sample-users <n>     generate n sample users before the backfill (default 1000 on the embedded database, 0 otherwise)
  --kubeconfig <file>    run the Kubernetes steps against this cluster (default: skipped)
  --smoke-url <url>      run the smoke checks against this base URL (default: skipped)
  --smoke-secret NAME    {{secrets.NAME}} for the smoke checks, from the environment variable NAME (repeatable)
  --root <dir>           repository root the plan's paths are relative to (default: .)

exit codes: 0 promoted, 1 rolled back, 2 usage or plan error`;

/** The `runbook rehearse` command. */
export const command: CliCommand = {
  name: 'rehearse',
  summary:
    'rehearse a release plan locally (embedded PostgreSQL, recorded canary) and write its report',
  usage,
  run: async (argv, logger) => {
    const { values, positionals } = parseFlags(
      argv,
      {
        regression: { type: 'boolean', default: false },
        'replay-file': { type: 'string' },
        report: { type: 'string' },
        approve: { type: 'boolean', default: false },
        'database-url': { type: 'string' },
        yes: { type: 'boolean', default: false },
        'sample-users': { type: 'string' },
        kubeconfig: { type: 'string' },
        'smoke-url': { type: 'string' },
        'smoke-secret': { type: 'string', multiple: true },
        root: { type: 'string' },
      },
      usage,
      true,
    );
    if (positionals.length !== 1) {
      logger.error(`expected one plan file, got ${positionals.length}\n\n${usage}`);
      return 2;
    }
    // Values come from the environment, never the command line (visible in ps and history).
    const secrets = envSecretsFlag(values['smoke-secret'], '--smoke-secret');
    const sampleUsers = numberFlag(values['sample-users'], '--sample-users', {
      integer: true,
      min: 0,
    });
    // Only an explicit --database-url leaves the embedded database: an exported DATABASE_URL
    // (set for other commands) must not turn a rehearsal into a write to that server.
    const databaseUrl = values['database-url'] || undefined;
    if (databaseUrl) {
      await confirmTarget({
        action: 'runbook rehearse writes migrations, backfilled rows and flags to',
        target: describeDatabase(databaseUrl),
        yes: values.yes ?? false,
      });
    } else {
      logger.info(
        `rehearsing on a fresh embedded PostgreSQL${process.env.DATABASE_URL ? ` ($DATABASE_URL is set and left alone; --database-url to rehearse against it)` : ''}`,
      );
    }
    const result = await rehearse(
      {
        plan: positionals[0],
        root: values.root,
        databaseUrl,
        sampleUsers,
        recording: values.regression ? 'regression' : 'healthy',
        replayFile: values['replay-file'],
        approver: values.approve ? runInfo().actor : undefined,
        kubeconfig: values.kubeconfig,
        smoke: values['smoke-url'] ? { baseUrl: values['smoke-url'], secrets } : undefined,
        reportFile: values.report,
      },
      logger,
    );
    logger.info(
      result.outcome === 'promoted'
        ? `release ${result.package}: promoted`
        : `release ${result.package}: rolled back (stopped at ${result.failedStep})`,
    );
    return result.outcome === 'promoted' ? 0 : 1;
  },
};
