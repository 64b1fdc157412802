/**
 * The `migrate` action: reads typed inputs, runs one migrate command with the engine, writes
 * outputs, the job summary and annotations.
 */
import {
  actionsLogger,
  annotate,
  inputs,
  output,
  runAction,
  summary,
} from '../../../src/github/action.js';
import {
  lintAnnotations,
  MIGRATE_COMMANDS,
  runMigrateCommand,
  type MigrateCommandOptions,
} from '../../../src/migrate/index.js';

await runAction(async () => {
  const command = inputs.choice('command', MIGRATE_COMMANDS, 'apply');
  const databaseUrl = inputs.databaseUrl('database-url', { required: command !== 'lint' });
  const options: MigrateCommandOptions = {
    databaseUrl,
    dir: inputs.path('dir', { default: 'migrations', kind: 'dir' }),
    historyTable: inputs.string('history-table', { default: 'runbook.schema_migrations' }),
    lockWaitMs: inputs.durationMs('lock-wait', '60s'),
    lockTimeoutMs: inputs.durationMs('lock-timeout', '5s'),
    statementTimeoutMs: inputs.durationMs('statement-timeout', '0'),
    retries: inputs.number('retries', 3, { min: 0, max: 20 }),
    allowOutOfOrder: inputs.bool('allow-out-of-order', false),
    caCert: inputs.caCert('ca-cert'),
  };
  if (command === 'lint') {
    options.failOn = inputs.choice('fail-on', ['error', 'warning', 'never'] as const, 'error');
    options.logFindings = false; // findings become titled annotations below
  }
  if (command === 'baseline') {
    options.baselineVersion = inputs.string('baseline-version', { required: true });
  }

  const r = await runMigrateCommand(command, options, actionsLogger);
  if (r.lint) {
    annotate(lintAnnotations(r.lint.findings));
    output('lint-findings', String(r.lint.findings.length));
  }
  if (r.result) {
    output('applied', r.result.applied);
    output('applied-count', String(r.result.applied.length));
    output('pending-count', String(r.result.pending.length));
  }
  if (r.summary) await summary(r.summary);
  if (r.failure) throw r.failure.error;
});
