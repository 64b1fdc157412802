/**
 * Demo step "flags": the Paket 7 canary flag on the postgres backend, from
 * examples/paket7/flags.yml — enable BILLING_ENFORCEMENT for tn-4582 and tn-9014 with the global
 * flag guarded off, show the status, show that the guard refuses a global enable, then roll back
 * by restoring the previous state.
 */
import { join } from 'node:path';
import { FlagGuardError, flagSummary, restoreFlag, toggleFlag } from '../../src/flags/index.js';
import type { DemoStep } from './context.js';

export const demo: DemoStep = async ({ databaseUrl, root, logger }) => {
  const plan = join(root, 'examples/paket7/flags.yml');
  const base = { backend: 'postgres' as const, databaseUrl };

  const enabled = await logger.group(
    'flags: enable BILLING_ENFORCEMENT for the canary tenants',
    async () => {
      const r = await toggleFlag(
        { ...base, operation: 'enable', plan, reason: 'Paket 7 canary (demo)' },
        logger,
      );
      logger.info(flagSummary(r));
      logger.info(`previous-state: ${JSON.stringify(r.previousState)}`);
      return r;
    },
  );
  if (enabled.state.global !== 'off' || enabled.state.tenants.join(',') !== 'tn-4582,tn-9014') {
    throw new Error(`flags demo: unexpected state ${JSON.stringify(enabled.state)}`);
  }

  await logger.group('flags: status', async () => {
    const r = await toggleFlag({ ...base, operation: 'status', plan }, logger);
    logger.info(flagSummary(r));
  });

  await logger.group('flags: the guard refuses a global enable during the canary', async () => {
    try {
      await toggleFlag({ ...base, operation: 'enable', plan, scope: 'global' }, logger);
      throw new Error('flags demo: the guard did not refuse a global enable');
    } catch (e) {
      if (!(e instanceof FlagGuardError)) throw e;
      logger.info(`refused as expected: ${e.message}`);
    }
  });

  await logger.group('flags: rollback restores the previous state', async () => {
    const r = await restoreFlag(
      { ...base, plan, restoreState: enabled.previousState, reason: 'canary rollback (demo)' },
      logger,
    );
    logger.info(flagSummary(r));
    if (r.state.tenants.length !== 0 || r.state.global !== 'off') {
      throw new Error(`flags demo: rollback left ${JSON.stringify(r.state)}`);
    }
  });
};
