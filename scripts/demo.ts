/**
 * `npm run demo`: the Paket 7 release rehearsed locally on an embedded PostgreSQL.
 * Each area contributes a step in `scripts/demo/<area>.ts`.
 */
import { resolve } from 'node:path';
import { consoleLogger } from '../src/errors.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import type { DemoStep } from './demo/context.js';

const root = resolve(import.meta.dirname, '..');
const steps: [string, () => Promise<{ demo: DemoStep }>][] = [
  ['migrate: plan, apply, status, re-run', () => import('./demo/migrate.js')],
  ['backfill: generate, analyze, dry-run, execute, verify', () => import('./demo/backfill.js')],
  ['flag-toggle: canary tenants on, status, guard, rollback', () => import('./demo/flags.js')],
  ['canary-gate: replay a healthy and a regressed canary', () => import('./demo/gate.js')],
  ['smoke: seed checks against a local service', () => import('./demo/smoke.js')],
  [
    'rehearse Paket 7: healthy canary promoted, regressed canary rolled back',
    () => import('./demo/rehearse.js'),
  ],
];

const server = await startEmbeddedPostgres();
console.log(`embedded PostgreSQL started on 127.0.0.1:${server.port}`);
let code = 0;
try {
  for (const [title, load] of steps) {
    const { demo } = await load();
    await consoleLogger.group(title, () =>
      demo({ databaseUrl: server.url, root, logger: consoleLogger }),
    );
  }
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  code = 1;
} finally {
  await server.stop();
}
process.exit(code);
