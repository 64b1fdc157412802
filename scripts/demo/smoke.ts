/**
 * Demo step `smoke`: the Paket 7 smoke checks (examples/paket7/smoke.yml) against the seed
 * service fake started in-process (test/support/smoke-service.ts), writing purchase rows into the
 * demo's PostgreSQL; then the same idempotency checks against a deploy whose purchase endpoint
 * charges twice, which they must catch.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../src/errors.js';
import { runSmokeChecks, smokeSummary } from '../../src/smoke/index.js';
import { startSmokeService } from '../../test/support/smoke-service.js';
import type { DemoStep } from './context.js';

export const demo: DemoStep = async ({ databaseUrl, root, logger }) => {
  const file = join(root, 'examples/paket7/smoke.yml');
  const token = randomBytes(12).toString('hex');
  const healthy = await startSmokeService({ token, databaseUrl, warmupRequests: 1 });
  const broken = await startSmokeService({ token, databaseUrl, idempotent: false });
  try {
    const run = await runSmokeChecks(
      {
        file,
        variables: { base_url: healthy.url, env: 'demo' },
        secrets: { API_TOKEN: token },
        databaseUrl,
      },
      { ...logger, info: (m) => logger.info(m) },
    );
    logger.info(smokeSummary(run, 'Smoke checks: healthy deploy'));
    if (run.failed > 0) throw new Error(`${run.failed} smoke checks failed on the healthy deploy`);

    const idempotency = [
      'credit purchase is idempotent',
      'usage reconciliation does not charge twice',
    ];
    const caught = await runSmokeChecks(
      {
        file,
        variables: { base_url: broken.url, env: 'demo' },
        secrets: { API_TOKEN: token },
        databaseUrl,
        only: idempotency,
      },
      silentLogger,
    );
    logger.info(smokeSummary(caught, 'Smoke checks: deploy that charges twice'));
    if (caught.failed !== idempotency.length) {
      throw new Error('the idempotency checks did not catch an endpoint that charges twice');
    }
    logger.info('the idempotency checks caught the double charge, as they must');
  } finally {
    await healthy.close();
    await broken.close();
  }
};
