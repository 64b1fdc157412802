/**
 * `backfill` action: typed inputs → the backfill engine (`analyze`, `dry-run`, `execute` or
 * `verify`) → outputs and job summary. The engine's warnings and errors that carry a spec file
 * and line (anomaly checks, failed assertions, spec errors) become annotations through
 * `actionsLogger`. See actions/backfill/README.md.
 */
import { actionsLogger, inputs, output, runAction, summary } from '../../../src/github/action.js';
import {
  BackfillBatchError,
  analyzeBackfill,
  analyzeMarkdown,
  dryRunBackfill,
  executeBackfill,
  executeFailureMarkdown,
  executeMarkdown,
  loadBackfillSpec,
  verifyBackfill,
  verifyMarkdown,
} from '../../../src/backfill/index.js';

const COMMANDS = ['analyze', 'dry-run', 'execute', 'verify'] as const;

function optionalInt(name: string): number | undefined {
  if (!inputs.string(name)) return undefined;
  const n = inputs.number(name, 0, { min: 1 });
  return Math.floor(n);
}

await runAction(async () => {
  const command = inputs.choice('command', COMMANDS, 'analyze');
  const specPath = inputs.path('spec', { required: true });
  const databaseUrl = inputs.databaseUrl('database-url');
  const batchSize = optionalInt('batch-size');
  const maxBatches = optionalInt('max-batches');
  const failOnChecks = inputs.bool('fail-on-checks', false);
  const spec = loadBackfillSpec(specPath, 'spec');
  const base = { spec, databaseUrl, caCert: inputs.caCert('ca-cert'), batchSize, failOnChecks };
  const logger = actionsLogger;

  const counts = (toCreate: number, toUpdate: number, unchanged: number) => {
    output('to-create', String(toCreate));
    output('to-update', String(toUpdate));
    output('unchanged', String(unchanged));
    output('total-operations', String(toCreate + toUpdate));
  };

  if (command === 'analyze' || command === 'dry-run') {
    const r =
      command === 'analyze'
        ? await analyzeBackfill(base, logger)
        : await dryRunBackfill(base, logger);
    counts(r.toCreate, r.toUpdate, r.unchanged);
    output('rows-written', '0');
    output('verified', 'false');
    output('run-id', '');
    await summary(analyzeMarkdown(r));
    if (failOnChecks && r.failedChecks.length) {
      throw new Error(
        `${r.failedChecks.length} anomaly check(s) returned rows: ${r.failedChecks.map((c) => c.name).join(', ')} (fail-on-checks is true)`,
      );
    }
    return;
  }
  if (command === 'execute') {
    const r = await executeBackfill({ ...base, maxBatches }, logger).catch(async (e: unknown) => {
      if (e instanceof BackfillBatchError) await summary(executeFailureMarkdown(spec.name, e));
      throw e;
    });
    counts(r.inserted, r.updated, r.unchanged);
    output('rows-written', String(r.rowsWritten));
    output('verified', 'false');
    output('run-id', String(r.runId));
    await summary(executeMarkdown(r));
    return;
  }
  const r = await verifyBackfill(base, logger);
  counts(r.toCreate, r.toUpdate, r.unchanged);
  output('rows-written', '0');
  output('verified', String(r.verified));
  output('run-id', '');
  await summary(verifyMarkdown(r));
  if (!r.verified) {
    const differing = r.toCreate + r.toUpdate;
    throw new Error(
      `verify failed: ${differing} row(s) differ from the source${
        r.differences.length
          ? ` (first keys: ${r.differences.map((d) => d.key.join(',')).join('; ')})`
          : ''
      }; ${r.assertions.filter((a) => a.rows > 0).length} assertion(s) returned rows`,
    );
  }
});
