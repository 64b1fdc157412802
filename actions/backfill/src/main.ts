/**
 * `backfill` action: typed inputs → the backfill engine (`analyze`, `dry-run`, `execute` or
 * `verify`) → outputs and job summary. The engine's warnings and errors that carry a spec file
 * and line (anomaly checks, failed assertions, spec errors) become annotations through
 * `actionsLogger`. See actions/backfill/README.md.
 */
import { actionsLogger, inputs, output, runAction, summary } from '../../../src/github/action.js';
import { connect } from '../../../src/db/connect.js';
import { runInfo } from '../../../src/runinfo.js';
import {
  BackfillBatchError,
  BackfillConnectionError,
  setRunControl,
  kubernetesMarkdown,
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

const COMMANDS = ['analyze', 'dry-run', 'execute', 'verify', 'pause', 'resume'] as const;
const RUNNERS = ['runner', 'kubernetes'] as const;

function optionalInt(name: string): number | undefined {
  if (!inputs.string(name)) return undefined;
  const n = inputs.number(name, 0, { min: 1 });
  return Math.floor(n);
}

await runAction(async () => {
  const command = inputs.choice('command', COMMANDS, 'analyze');
  const runner = inputs.choice('runner', RUNNERS, 'runner');
  const specPath = inputs.path('spec', { required: true });
  const batchSize = optionalInt('batch-size');
  const partitions = optionalInt('partitions');
  const spec = loadBackfillSpec(specPath, 'spec');
  if (command === 'execute' && runner === 'kubernetes') {
    // Inside the cluster: the runner needs no database access; the pods read the URL from a Secret.
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    // The Kubernetes client is loaded only for this runner.
    const { executeInKubernetes } = await import('../../../src/backfill/kubernetes.js');
    const r = await executeInKubernetes(
      {
        spec: specPath,
        image: inputs.string('image', { required: true }),
        databaseSecret: inputs.string('database-secret', { required: true }),
        kubeconfig: inputs.secret('kubeconfig'),
        namespace: inputs.string('namespace') || undefined,
        partitions,
        batchSize,
        timeoutMs: inputs.durationMs('timeout', '6h'),
        signal: ac.signal,
      },
      actionsLogger,
    );
    output('job', r.job);
    output('completed-indexes', r.completedIndexes);
    output('failed-indexes', r.failedIndexes);
    output('rows-written', '');
    output('verified', 'false');
    output('run-id', '');
    await summary(kubernetesMarkdown(spec.name, r));
    if (r.status !== 'Complete') {
      throw new Error(
        `job ${r.job} ${r.status === 'Failed' ? `failed (${r.reason}; failed indexes ${r.failedIndexes})` : r.status === 'Timeout' ? 'is still running after the timeout (left running)' : 'was cancelled and deleted'}; the checkpoint keeps every committed batch: re-run this step to resume`,
      );
    }
    return;
  }
  const databaseUrl = inputs.databaseUrl('database-url');
  const maxBatches = optionalInt('max-batches');
  const failOnChecks = inputs.bool('fail-on-checks', false);
  if (command === 'pause' || command === 'resume') {
    const client = await connect(databaseUrl, { caCert: inputs.caCert('ca-cert') });
    try {
      const r = await setRunControl(
        client,
        spec.name,
        command === 'pause' ? 'pause' : null,
        runInfo().actor,
      );
      if (!r) throw new Error(`backfill '${spec.name}' has no unfinished run to ${command}`);
      actionsLogger.info(
        command === 'pause'
          ? `run #${r.runId} asked to pause: each partition stops after its current batch and waits for command: resume`
          : `run #${r.runId} may go on`,
      );
      output('run-id', String(r.runId));
      output('rows-written', '0');
      output('verified', 'false');
    } finally {
      await client.end().catch(() => {});
    }
    return;
  }
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
    const ac = new AbortController();
    // A cancelled job: every partition stops after its current batch; the checkpoint keeps it.
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    const r = await executeBackfill(
      {
        ...base,
        maxBatches,
        partitions,
        replicaUrl: inputs.databaseUrl('replica-url', { required: false }) || undefined,
        signal: ac.signal,
      },
      logger,
    ).catch(async (e: unknown) => {
      if (e instanceof BackfillBatchError || e instanceof BackfillConnectionError)
        await summary(executeFailureMarkdown(spec.name, e));
      throw e;
    });
    counts(r.inserted, r.updated, r.unchanged);
    output('rows-written', String(r.rowsWritten));
    output('verified', 'false');
    output('run-id', String(r.runId));
    output('status', r.status);
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
