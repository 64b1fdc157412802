/**
 * Demo step: plan, apply and show the status of `examples/paket7/migrations`, then apply again
 * to show that nothing is pending.
 */
import { join } from 'node:path';
import type { DemoStep } from './context.js';
import {
  applyMigrations,
  lintMigrations,
  migrationStatus,
  planMigrations,
  textTable,
  type MigrateOptions,
} from '../../src/migrate/index.js';

export const demo: DemoStep = async ({ databaseUrl, root, logger }) => {
  const options: MigrateOptions = {
    databaseUrl,
    dir: join(root, 'examples/paket7/migrations'),
    runInfo: { actor: 'demo', via: 'cli' },
  };
  await logger.group('migrate plan', async () => {
    const plan = await planMigrations(options, logger);
    logger.info(`${plan.pending.length} pending migration(s)`);
  });
  await logger.group('migrate lint (pending files)', () =>
    lintMigrations({ ...options, failOn: 'never' }, logger),
  );
  await logger.group('migrate apply', async () => {
    const res = await applyMigrations(options, logger);
    logger.info(textTable(res));
  });
  await logger.group('migrate status', async () => {
    const res = await migrationStatus(options, logger);
    logger.info(textTable(res));
  });
  await logger.group('migrate apply (again: nothing pending)', async () => {
    const again = await applyMigrations(options, logger);
    if (again.applied.length !== 0) throw new Error('second apply applied migrations again');
    logger.info(`applied ${again.applied.length}, pending ${again.pending.length}`);
  });
};
