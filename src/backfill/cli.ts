/**
 * `runbook backfill <analyze|dry-run|execute|verify|generate>`: the backfill engine from the
 * command line, for local rehearsal against an embedded or staging PostgreSQL.
 */
import {
  databaseUrlFlag,
  durationFlag,
  numberFlag,
  parseFlags,
  readFileFlag,
  requiredFlag,
} from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { ConfigError } from '../errors.js';
import { redactUrl } from '../db/connect.js';
import {
  analyzeBackfill,
  BackfillBusyError,
  dryRunBackfill,
  executeBackfill,
  verifyBackfill,
} from './engine.js';
import { generatePaket7Data } from './generate.js';

const usage = `usage: runbook backfill <command> --spec FILE [options]

commands:
  analyze    read-only counts: rows to create, to update, unchanged; anomaly checks; estimate
  dry-run    analyze + a sample of differences + the first batch executed and rolled back
  execute    keyset batches with checkpoint (resumes an interrupted run), advisory lock
  verify     recompute the difference (must be zero) and run the spec's assertions
  generate   fill the Paket 7 base schema with generated data (--users N [--profile P] [--replace])

options:
  --spec FILE            backfill spec (YAML)
  --database-url URL     PostgreSQL URL (default: $DATABASE_URL)
  --ca-cert-file FILE    PEM CA certificate to trust
  --batch-size N         rows per batch (overrides the spec)
  --max-batches N        execute: stop after N batches (the next execute resumes)
  --pause DURATION       execute: pause between batches (overrides the spec), e.g. 100ms
  --lock-wait DURATION   execute: wait this long for another run to finish (default 0: refuse)
  --fail-on-checks       analyze/dry-run: exit 1 when an anomaly check returns rows
  --json                 print the result as JSON
exit codes: 0 ok; 1 failed verify, failed checks or backfill already running; 2 usage error`;

const int = (value: string | undefined, flag: string) =>
  numberFlag(value, flag, { integer: true, min: 1 });

export const command: CliCommand = {
  name: 'backfill',
  summary: 'analyze, dry-run, execute and verify a data backfill (keyset batches, resumable)',
  usage,
  run: async (argv, logger) => {
    const { values, positionals } = parseFlags(
      argv,
      {
        spec: { type: 'string' },
        'database-url': { type: 'string' },
        'ca-cert-file': { type: 'string' },
        'batch-size': { type: 'string' },
        'max-batches': { type: 'string' },
        pause: { type: 'string' },
        'lock-wait': { type: 'string' },
        'fail-on-checks': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        users: { type: 'string' },
        profile: { type: 'string' },
        replace: { type: 'boolean', default: false },
      },
      usage,
      true,
    );
    const sub = positionals[0];
    const databaseUrl = databaseUrlFlag(values['database-url']);
    if (!databaseUrl)
      throw new ConfigError('is required (or set DATABASE_URL)', undefined, '--database-url');
    const caCert = readFileFlag(values['ca-cert-file'], '--ca-cert-file', 'CA certificate');
    const print = (r: unknown) => {
      if (values.json) console.log(JSON.stringify(r, null, 2));
    };
    if (sub === 'generate') {
      const profile = values.profile ?? 'realistic';
      if (profile !== 'realistic' && profile !== 'all-subscribed')
        throw new ConfigError(
          `expected realistic or all-subscribed, got '${profile}'`,
          undefined,
          '--profile',
        );
      print(
        await generatePaket7Data(
          {
            databaseUrl,
            caCert,
            users: int(values.users, '--users') ?? 1000,
            profile,
            replace: values.replace,
          },
          logger,
        ),
      );
      return 0;
    }
    const base = {
      spec: requiredFlag(values.spec, '--spec'),
      databaseUrl,
      caCert,
      batchSize: int(values['batch-size'], '--batch-size'),
    };
    switch (sub) {
      case 'analyze':
      case 'dry-run': {
        const r =
          sub === 'analyze'
            ? await analyzeBackfill(base, logger)
            : await dryRunBackfill(base, logger);
        print(r);
        return values['fail-on-checks'] && r.failedChecks.length ? 1 : 0;
      }
      case 'execute':
        try {
          const r = await executeBackfill(
            {
              ...base,
              maxBatches: int(values['max-batches'], '--max-batches'),
              pauseMs: durationFlag(values.pause, '--pause'),
              lockWaitMs: durationFlag(values['lock-wait'], '--lock-wait'),
            },
            logger,
          );
          print(r);
          return 0;
        } catch (e) {
          if (e instanceof ConfigError) throw e;
          // Busy, lock timeout after retries, a failing statement: the run is recorded as
          // failed (or was never started) and the next execute resumes.
          const code = (e as { code?: string }).code;
          logger.error(
            `${e instanceof BackfillBusyError ? '' : 'execute failed: '}${redactUrl((e as Error).message)}${code ? ` (SQLSTATE ${code})` : ''}`,
          );
          return 1;
        }
      case 'verify': {
        const r = await verifyBackfill(base, logger);
        print(r);
        return r.verified ? 0 : 1;
      }
      default:
        throw new ConfigError(
          `unknown subcommand '${sub ?? ''}' (analyze, dry-run, execute, verify, generate)`,
          undefined,
          'runbook backfill',
        );
    }
  },
};
