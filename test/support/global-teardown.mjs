/** Jest global teardown: stops the embedded PostgreSQL started by global-setup.mjs. */
export default async function globalTeardown() {
  const server = globalThis.__RUNBOOK_PG__;
  if (server) await server.stop();
}
