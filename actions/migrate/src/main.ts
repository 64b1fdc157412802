/**
 * The `migrate` action: reads typed inputs, runs the migrate engine, writes outputs, the job
 * summary and annotations.
 */
import {
  actionsLogger,
  annotate,
  inputs,
  output,
  runAction,
  summary,
} from '../../../src/github/action.js';
import { ConfigError } from '../../../src/errors.js';
import {
  applyMigrations,
  baselineMigrations,
  lintAnnotations,
  lintMigrations,
  lintSummary,
  migrateSummary,
  migrationStatus,
  MigrationFailedError,
  planMigrations,
  verifyMigrations,
  type MigrateOptions,
  type MigrateResult,
} from '../../../src/migrate/index.js';

const COMMANDS = ['plan', 'apply', 'status', 'verify', 'baseline', 'lint'] as const;

await runAction(async () => {
  const command = inputs.choice('command', COMMANDS, 'apply');
  const databaseUrl = inputs.databaseUrl('database-url', { required: command !== 'lint' });
  const options: MigrateOptions = {
    databaseUrl,
    dir: inputs.string('dir', { default: 'migrations' }),
    historyTable: inputs.string('history-table', { default: 'runbook.schema_migrations' }),
    lockWaitMs: inputs.durationMs('lock-wait', '60s'),
    lockTimeoutMs: inputs.durationMs('lock-timeout', '5s'),
    statementTimeoutMs: inputs.durationMs('statement-timeout', '0'),
    retries: inputs.number('retries', 3, { min: 0, max: 20 }),
    allowOutOfOrder: inputs.bool('allow-out-of-order', false),
    caCert: inputs.caCert('ca-cert'),
  };

  if (command === 'lint') {
    const failOn = inputs.choice('fail-on', ['error', 'warning', 'never'] as const, 'error');
    const res = await lintMigrations(
      { ...options, databaseUrl: databaseUrl || undefined, failOn, logFindings: false },
      actionsLogger,
    );
    annotate(lintAnnotations(res.findings));
    output('lint-findings', String(res.findings.length));
    await summary(lintSummary(res));
    if (res.failed) {
      throw new ConfigError(
        `lint found ${res.findings.length} finding(s) at or above fail-on '${failOn}'`,
        undefined,
        'fail-on',
      );
    }
    return;
  }

  let res: MigrateResult;
  try {
    res =
      command === 'plan'
        ? await planMigrations(options, actionsLogger)
        : command === 'apply'
          ? await applyMigrations(options, actionsLogger)
          : command === 'status'
            ? await migrationStatus(options, actionsLogger)
            : command === 'verify'
              ? await verifyMigrations(options, actionsLogger)
              : await baselineMigrations(
                  {
                    ...options,
                    baselineVersion: inputs.string('baseline-version', { required: true }),
                  },
                  actionsLogger,
                );
  } catch (e) {
    if (e instanceof MigrationFailedError) {
      output('applied', e.applied);
      output('applied-count', String(e.applied.length));
      const pending = e.rows.filter((r) => r.state === 'pending' || r.state === 'failed');
      output('pending-count', String(pending.length));
      await summary(
        migrateSummary({
          command: 'apply',
          rows: e.rows,
          applied: e.applied,
          baselined: [],
          pending: pending.map((r) => r.version),
          problems: [e.message],
          warnings: [],
        }),
      );
    }
    throw e;
  }
  output('applied', res.applied);
  output('applied-count', String(res.applied.length));
  output('pending-count', String(res.pending.length));
  await summary(migrateSummary(res));
  if (command === 'verify' && res.problems.length) {
    throw new ConfigError(`verify found ${res.problems.length} problem(s): ${res.problems[0]}`);
  }
});
