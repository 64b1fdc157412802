/**
 * `runbook migrate <command>`: the migrate engine from the command line (same engine as the
 * `migrate` action). The URL comes from `--database-url` or `DATABASE_URL`.
 */
import {
  databaseUrlFlag,
  durationFlag,
  numberFlag,
  oneOfFlag,
  parseFlags,
  readFileFlag,
} from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { ConfigError, type Logger } from '../errors.js';
import {
  isMigrateCommand,
  parsePlaceholders,
  MIGRATE_COMMANDS as COMMANDS,
  runMigrateCommand,
  type MigrateCommandOptions,
} from './command.js';
import { FORMATS } from './files.js';
import type { FailOn } from './lint.js';
import { textTable } from './report.js';

const usage = `usage: runbook migrate <${COMMANDS.join('|')}> [options]

  plan       list pending migrations (parses them; writes nothing)
  apply      apply pending migrations, each file in its own transaction
  status     show every migration's state
  verify     check checksums, order and syntax; exit 1 on a problem
  baseline   mark versions up to --baseline-version as applied without running them
  lint       flag dangerous operations in pending/changed files (all files without a URL)
  rollback   run the down parts of the last --steps N applied migrations, or of every one
             above --target (formats with down parts: flyway U files, golang-migrate,
             dbmate, diesel)
  repair     realign recorded checksums with edited files and clear failed records

options:
  --database-url URL        PostgreSQL URL (default: $DATABASE_URL)
  --dir DIR                 migrations directory (default: migrations)
  --format FORMAT           auto (default, detected from the files), runbook, flyway,
                            golang-migrate, dbmate, prisma or diesel
  --target VERSION          apply/plan up to this version; rollback down to it
  --steps N                 rollback: how many migrations to undo (default: 1)
  --placeholder NAME=VALUE  value for \${NAME} in the SQL (repeatable)
  --schema                  verify: also compare the live schema with the migrations'
                            schema built in a throwaway PostgreSQL (drift detection)
  --shadow-database-url URL verify --schema: an empty database to build it in instead
  --history-table NAME      history table (default: the tool's own table when it exists,
                            else runbook.schema_migrations)
  --lock-wait SECONDS       wait for another run's lock (default: 60)
  --lock-timeout DURATION   lock_timeout per statement (default: 5s; 0 = none)
  --statement-timeout DUR   statement_timeout per statement (default: 0 = none)
  --retries N               retries after a lock timeout, SQLSTATE 55P03 (default: 3)
  --allow-out-of-order      apply pending files older than the newest applied one
  --baseline-version V      for baseline
  --ca-cert FILE            PEM CA certificate to verify the server with
  --fail-on LEVEL           lint: error|warning|never (default: error)
  --all                     lint: every file, not only pending and changed ones

exit codes: 0 success, 1 refused/failed migration, verify problem or failing lint, 2 usage error`;

/** The `runbook migrate` command (see {@link usage}). */
export const command: CliCommand = {
  name: 'migrate',
  summary: 'plan, apply, status, verify, baseline, lint, rollback and repair SQL migrations',
  usage,
  run: async (argv: string[], logger: Logger): Promise<number> => {
    const { values, positionals } = parseFlags(
      argv,
      {
        'database-url': { type: 'string' },
        dir: { type: 'string', default: 'migrations' },
        'history-table': { type: 'string' },
        'lock-wait': { type: 'string' },
        'lock-timeout': { type: 'string' },
        'statement-timeout': { type: 'string' },
        retries: { type: 'string' },
        'allow-out-of-order': { type: 'boolean', default: false },
        'baseline-version': { type: 'string' },
        'ca-cert': { type: 'string' },
        'fail-on': { type: 'string', default: 'error' },
        all: { type: 'boolean', default: false },
        format: { type: 'string', default: 'auto' },
        target: { type: 'string' },
        steps: { type: 'string' },
        placeholder: { type: 'string', multiple: true },
        schema: { type: 'boolean', default: false },
        'shadow-database-url': { type: 'string' },
      },
      usage,
      true,
    );
    const sub = positionals[0] ?? 'status';
    if (!isMigrateCommand(sub)) {
      throw new ConfigError(`unknown migrate command '${sub}' (expected ${COMMANDS.join(', ')})`);
    }
    const url = databaseUrlFlag(values['database-url']) ?? '';
    if (!url && sub !== 'lint') {
      throw new ConfigError('pass --database-url or set DATABASE_URL', undefined, '--database-url');
    }
    const caCert = readFileFlag(values['ca-cert'], '--ca-cert', 'CA certificate');
    const options: MigrateCommandOptions = {
      databaseUrl: url,
      dir: values.dir!,
      historyTable: values['history-table'],
      lockWaitMs: (numberFlag(values['lock-wait'], '--lock-wait') ?? 60) * 1000,
      lockTimeoutMs: durationFlag(values['lock-timeout'], '--lock-timeout', '5s'),
      statementTimeoutMs: durationFlag(values['statement-timeout'], '--statement-timeout', '0'),
      retries: numberFlag(values.retries, '--retries') ?? 3,
      allowOutOfOrder: values['allow-out-of-order'],
      caCert,
      format: oneOfFlag(values.format, ['auto', ...FORMATS] as const, '--format'),
      target: values.target,
      steps: numberFlag(values.steps, '--steps'),
      placeholders: parsePlaceholders((values.placeholder ?? []).join('\n'), '--placeholder'),
      schema: values.schema,
      shadowDatabaseUrl: values['shadow-database-url'],
    };
    if (sub === 'lint') {
      const failOn = values['fail-on'] as FailOn;
      if (!['error', 'warning', 'never'].includes(failOn)) {
        throw new ConfigError(
          `expected error, warning or never, got '${failOn}'`,
          undefined,
          '--fail-on',
        );
      }
      options.failOn = failOn;
      options.all = values.all;
    }
    if (sub === 'baseline') options.baselineVersion = values['baseline-version'] ?? '';
    const r = await runMigrateCommand(sub, options, logger);
    if (r.failure?.kind === 'refused' || r.failure?.kind === 'failed') {
      logger.error(r.failure.error.message);
      return 1;
    }
    if (r.result) logger.info(textTable(r.result));
    return r.failure ? 1 : 0;
  },
};
