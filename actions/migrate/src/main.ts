/**
 * The `migrate` action: reads typed inputs, runs one migrate command with the engine, writes
 * outputs, the job summary and annotations.
 */
import {
  actionsLogger,
  annotate,
  inputs,
  mask,
  output,
  runAction,
  summary,
} from '../../../src/github/action.js';
import {
  FORMATS,
  lintAnnotations,
  MIGRATE_COMMANDS,
  parsePlaceholders,
  runMigrateCommand,
  SECRET_PLACEHOLDER,
  type MigrateCommandOptions,
} from '../../../src/migrate/index.js';

await runAction(async () => {
  const command = inputs.choice('command', MIGRATE_COMMANDS, 'apply');
  const databaseUrl = inputs.databaseUrl('database-url', { required: command !== 'lint' });
  const options: MigrateCommandOptions = {
    databaseUrl,
    dir: inputs.path('dir', { default: 'migrations', kind: 'dir' }),
    format: inputs.choice('format', ['auto', ...FORMATS] as const, 'auto'),
    historyTable: inputs.string('history-table') || undefined,
    target: inputs.string('target') || undefined,
    lockWaitMs: inputs.durationMs('lock-wait', '60s'),
    lockTimeoutMs: inputs.durationMs('lock-timeout', '5s'),
    statementTimeoutMs: inputs.durationMs('statement-timeout', '0'),
    retries: inputs.number('retries', 3, { min: 0, max: 20 }),
    allowOutOfOrder: inputs.bool('allow-out-of-order', false),
    caCert: inputs.caCert('ca-cert'),
  };
  const placeholders = parsePlaceholders(inputs.string('placeholders'));
  for (const [name, value] of Object.entries(placeholders)) {
    if (SECRET_PLACEHOLDER.test(name) && value) mask(value);
  }
  options.placeholders = placeholders;
  if (command === 'rollback') options.steps = inputs.number('steps', 1, { min: 1, max: 10_000 });
  if (command === 'verify') {
    options.schema = inputs.bool('schema', false);
    options.shadowDatabaseUrl =
      inputs.databaseUrl('shadow-database-url', { required: false }) || undefined;
  }
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
    if (r.result.format) output('format', r.result.format);
    if (r.result.rolledBack) output('rolled-back', r.result.rolledBack);
    if (r.result.schemaDiff) output('schema-drift', String(r.result.schemaDiff.length));
  }
  if (r.summary) await summary(r.summary);
  if (r.failure) throw r.failure.error;
});
