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
import { ConfigError, silentLogger, type Logger } from '../errors.js';
import { connect, redactUrl } from '../db/connect.js';
import { runInfo } from '../runinfo.js';
import { setRunControl } from './checkpoint.js';
import { loadBackfillSpec } from './spec.js';
import { analyzeBackfill, dryRunBackfill, verifyBackfill } from './engine.js';
import { BackfillBusyError, executeBackfill, prepareRun } from './execute.js';
import { generatePaket7Data } from './generate.js';

const usage = `usage: runbook backfill <command> --spec FILE [options]

commands:
  analyze    read-only counts: rows to create, to update, unchanged; anomaly checks; estimate
  dry-run    analyze + a sample of differences + the first batch executed and rolled back
  execute    keyset batches with checkpoint (resumes an interrupted run), advisory lock
  verify     recompute the difference (must be zero) and run the spec's assertions
  pause      ask a running execute to pause after its current batches (through the checkpoint table)
  resume     let a paused execute go on
  status     the latest run: status, partitions, heartbeat (a stale heartbeat means the process died)
  generate   fill the Paket 7 base schema with generated data (--users N [--profile P] [--replace])

options:
  --spec FILE            backfill spec (YAML)
  --database-url URL     PostgreSQL URL (default: $DATABASE_URL)
  --ca-cert FILE         PEM CA certificate to trust (--ca-cert-file is the older name)
  --batch-size N         rows per batch (overrides the spec)
  --max-batches N        execute: stop after N batches (the next execute resumes)
  --pause DURATION       execute: pause between batches (overrides the spec), e.g. 100ms
  --lock-wait DURATION   execute: wait this long for another run to finish (default 0: refuse)
  --partitions N         execute: split the key space into N concurrent ranges (overrides the spec)
  --partition-index I    execute: run only partition I of the prepared run (one Indexed Job index)
  --prepare-only         execute: create the run and its partitions, run nothing
  --run-token ID         execute: with --partition-index, the id the indexes of one Job share
  --replica-url URL      execute: a replica whose replay lag throttles the backfill
  --fail-on-checks       analyze/dry-run: exit 1 when an anomaly check returns rows
  --json                 print the result as JSON
exit codes: 0 ok; 1 failed verify, failed checks or backfill already running; 2 usage error`;

/**
 * An AbortSignal that SIGINT/SIGTERM abort: each partition stops after its current batch and
 * the checkpoint keeps the work (a Kubernetes pod deletion sends SIGTERM).
 */
function cancelSignal(logger: Logger): AbortSignal {
  const ac = new AbortController();
  const stop = (sig: string) => {
    logger.warning(`${sig}: stopping after the current batch; the next execute resumes`);
    ac.abort();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return ac.signal;
}

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
        'ca-cert': { type: 'string' },
        'ca-cert-file': { type: 'string' },
        'batch-size': { type: 'string' },
        'max-batches': { type: 'string' },
        pause: { type: 'string' },
        'lock-wait': { type: 'string' },
        partitions: { type: 'string' },
        'partition-index': { type: 'string' },
        'prepare-only': { type: 'boolean', default: false },
        'run-token': { type: 'string' },
        'replica-url': { type: 'string' },
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
    // --ca-cert as in migrate and the actions' ca-cert input; --ca-cert-file still works.
    const caCert = values['ca-cert']
      ? readFileFlag(values['ca-cert'], '--ca-cert', 'CA certificate')
      : readFileFlag(values['ca-cert-file'], '--ca-cert-file', 'CA certificate');
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
          const index = values['partition-index'];
          const options = {
            ...base,
            maxBatches: int(values['max-batches'], '--max-batches'),
            pauseMs: durationFlag(values.pause, '--pause'),
            lockWaitMs: durationFlag(values['lock-wait'], '--lock-wait'),
            partitions: numberFlag(values.partitions, '--partitions', { integer: true, min: 1 }),
            partitionIndex:
              index === undefined
                ? undefined
                : numberFlag(index, '--partition-index', { integer: true, min: 0 }),
            replicaUrl: values['replica-url'],
            runToken: values['run-token'],
            signal: cancelSignal(logger),
          };
          if (values['prepare-only']) {
            const run = await prepareRun(options, logger);
            print(run);
            logger.info(
              `run #${run.runId} prepared with ${run.partitions.length} partition(s); start each with --partition-index 0..${run.partitions.length - 1}`,
            );
            return 0;
          }
          const r = await executeBackfill(options, logger);
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
      case 'pause':
      case 'resume': {
        const spec = loadBackfillSpec(base.spec);
        const client = await connect(databaseUrl, {
          caCert,
          applicationName: 'runbook-backfill control',
        });
        try {
          const r = await setRunControl(
            client,
            spec.name,
            sub === 'pause' ? 'pause' : null,
            runInfo().actor,
          );
          if (!r) {
            logger.error(`backfill '${spec.name}' has no unfinished run to ${sub}`);
            return 1;
          }
          logger.info(
            sub === 'pause'
              ? `run #${r.runId} of '${spec.name}' asked to pause: each partition stops after its current batch and waits for 'runbook backfill resume'`
              : `run #${r.runId} of '${spec.name}' may go on`,
          );
          return 0;
        } finally {
          await client.end().catch(() => {});
        }
      }
      case 'status': {
        const r = await analyzeBackfill(base, silentLogger);
        print(r.lastRun ?? null);
        const l = r.lastRun;
        if (!l) logger.info(`backfill '${r.name}' has never run`);
        else
          logger.info(
            `run #${l.id}: ${l.status}${l.dead ? ' — DEAD: heartbeat ' + Math.round(l.heartbeatAgeS) + ' s old, the process running it died or hangs' : ''}; ${l.batches} batch(es), ${l.rowsSeen} rows; ${l.partitions} partition(s), ${l.unfinishedPartitions} unfinished`,
          );
        return l?.dead ? 1 : 0;
      }
      case 'verify': {
        const r = await verifyBackfill(base, logger);
        print(r);
        return r.verified ? 0 : 1;
      }
      default:
        throw new ConfigError(
          `unknown subcommand '${sub ?? ''}' (analyze, dry-run, execute, verify, pause, resume, status, generate)`,
          undefined,
          'runbook backfill',
        );
    }
  },
};
