/**
 * Demo step: the whole Paket 7 release rehearsed twice on the demo's PostgreSQL server, each in
 * a fresh database of its own:
 *
 * 1. the recorded healthy canary → every traffic step passes the gate → promoted
 *    (report: reports/deploy/P7.md, the seed's "Log findings and timestamps");
 * 2. the recorded regression → the gate fails at the first traffic step → rolled back, the flag
 *    back to its previous state (report: reports/deploy/P7-regression.md).
 *
 * The smoke checks run against the local fake of the seed services (test/support/smoke-service.ts).
 * Throws when either outcome is not the expected one.
 */
import { resolve } from 'node:path';
import pg from 'pg';
import { rehearse, type Recording } from '../../src/release/index.js';
import { startSmokeService } from '../../test/support/smoke-service.js';
import type { DemoStep } from './context.js';

const TOKEN = 'demo-smoke-token';

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export const demo: DemoStep = async ({ databaseUrl, root, logger }) => {
  const runs: [Recording, string, 'promoted' | 'rolled-back'][] = [
    ['healthy', 'reports/deploy/P7.md', 'promoted'],
    ['regression', 'reports/deploy/P7-regression.md', 'rolled-back'],
  ];
  for (const [recording, report, expected] of runs) {
    const url = await freshDatabase(databaseUrl, `rehearse_${recording}`);
    const smoke = await startSmokeService({ token: TOKEN, databaseUrl: url });
    try {
      const r = await logger.group(`rehearsal with the recorded ${recording} canary`, () =>
        rehearse(
          {
            plan: resolve(root, 'examples/paket7/release.yml'),
            root,
            databaseUrl: url,
            sampleUsers: 1000,
            recording,
            smoke: { baseUrl: smoke.url, secrets: { API_TOKEN: TOKEN } },
            reportFile: report,
          },
          logger,
        ),
      );
      logger.info(
        `${recording}: ${r.outcome}${r.failedStep ? ` at ${r.failedStep}` : ''}; report ${r.reportFile}`,
      );
      if (r.outcome !== expected) {
        throw new Error(
          `rehearsal with the ${recording} recording: expected ${expected}, got ${r.outcome} (${r.failure ?? ''})`,
        );
      }
    } finally {
      await smoke.close();
    }
  }
};
