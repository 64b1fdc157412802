/**
 * The `smoke` action: typed inputs → smoke engine → outputs, job summary and one error
 * annotation per failed check at its line in the checks file. Fails the step when a check fails.
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
  parseAssignments,
  runSmokeChecks,
  smokeResults,
  smokeSummary,
} from '../../../src/smoke/index.js';

await runAction(async () => {
  const secretsText = inputs.secret('secrets');
  const secrets = parseAssignments(secretsText, 'secrets', true);
  for (const value of Object.values(secrets)) mask(value);
  const databaseUrl = inputs.databaseUrl('database-url', { required: false }) || undefined;
  const caCert = inputs.caCert('ca-cert');
  const variables = parseAssignments(inputs.string('variables'), 'variables');
  const baseUrl = inputs.string('base-url');
  const env = inputs.string('env');
  if (baseUrl) variables.base_url = baseUrl.replace(/\/+$/, '');
  if (env) variables.env = env;
  const file = inputs.path('checks', { required: true });

  const run = await runSmokeChecks(
    {
      file,
      variables,
      secrets,
      databaseUrl,
      caCert,
      only: inputs.list('only'),
      timeoutMs: inputs.durationMs('timeout', '10s'),
    },
    actionsLogger,
  );

  output('passed', String(run.passed));
  output('failed', String(run.failed));
  output('results', smokeResults(run));
  await summary(smokeSummary(run));
  annotate(run.annotations);
  if (run.failed > 0) {
    const names = run.results.filter((r) => !r.ok).map((r) => r.name);
    throw new Error(
      `${run.failed} of ${run.results.length} smoke checks failed: ${names.join(', ')}`,
    );
  }
});
