/**
 * Demo step `backfill`: on the database the migrate step brought to the latest schema, generate
 * Paket 7 data, then analyze, dry-run, execute (staged: a few batches, then resume) and verify
 * the usage-limits backfill.
 */
import { join } from 'node:path';
import pg from 'pg';
import {
  analyzeBackfill,
  dryRunBackfill,
  executeBackfill,
  generatePaket7Data,
  verifyBackfill,
} from '../../src/backfill/index.js';
import type { DemoStep } from './context.js';

export const demo: DemoStep = async ({ databaseUrl, root, logger }) => {
  const spec = join(root, 'examples/paket7/backfills/usage-limits.yml');
  const client = new pg.Client(databaseUrl);
  await client.connect();
  const hasUsers = (await client.query('SELECT EXISTS (SELECT 1 FROM "user") AS any')).rows[0].any;
  await client.end();
  if (hasUsers) logger.info('the "user" table already has rows; backfilling the existing data');
  else await generatePaket7Data({ databaseUrl, users: 50_000 }, logger);

  await logger.group('backfill analyze', () => analyzeBackfill({ spec, databaseUrl }, logger));
  await logger.group('backfill dry-run', () =>
    dryRunBackfill({ spec, databaseUrl, sampleSize: 3 }, logger),
  );
  await logger.group('backfill execute (staged: 2 batches, then resume)', async () => {
    await executeBackfill({ spec, databaseUrl, batchSize: 2000, maxBatches: 2 }, logger);
    await executeBackfill({ spec, databaseUrl, batchSize: 2000 }, logger);
  });
  const verify = await logger.group('backfill verify', () =>
    verifyBackfill({ spec, databaseUrl }, logger),
  );
  if (!verify.verified) throw new Error('backfill verify failed');
  const again = await logger.group('backfill execute again (idempotent)', () =>
    executeBackfill({ spec, databaseUrl }, logger),
  );
  if (again.rowsWritten !== 0) throw new Error(`second execute wrote ${again.rowsWritten} rows`);
};
