/**
 * The `runbook` command line: the same engines as the actions, for local rehearsal.
 *
 *   runbook <command> [subcommand] [options]
 *
 * Exit codes: 0 success; 1 a step failed (failed gate, failed verify, refused migration) or an
 * unexpected error; 2 a usage or configuration error.
 *
 * Global flags: `--version`; `--debug` (debug lines, and the stack of an unexpected error). With
 * `--json`, stdout carries the JSON document alone: log lines go to stderr.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, consoleLogger, type Logger } from './errors.js';
import type { CliCommand } from './cli/types.js';
import { command as migrate } from './migrate/cli.js';
import { command as backfill } from './backfill/cli.js';
import { command as gate } from './gate/cli.js';
import { command as flag } from './flags/cli.js';
import { command as rollout } from './k8s/cli.js';
import { command as smoke } from './smoke/cli.js';
import { command as rehearse } from './release/rehearse-cli.js';
import { command as plan } from './release/plan-cli.js';
import { command as db } from './db/cli.js';
import { completionCommand } from './cli/completion.js';
import { colorWanted, renderForTerminal } from './report/terminal.js';
import { describeWriteTarget } from './cli/target.js';

/** Every command, in the order `runbook --help` lists them. */
export const commands: CliCommand[] = [
  plan,
  rehearse,
  migrate,
  backfill,
  { ...gate, name: 'canary-gate' },
  { ...flag, name: 'flag-toggle' },
  rollout,
  smoke,
  db,
  completionCommand(() => [
    ...commands,
    ...Object.entries(aliases).map(([alias, name]) => ({
      ...commands.find((c) => c.name === name)!,
      name: alias,
    })),
  ]),
];

/** The version of this package (`package.json`). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The CLI's logger: report Markdown rendered for the terminal ({@link renderForTerminal}: tables,
 * sparkline charts, colour only on a TTY without `NO_COLOR`), on stdout, or on stderr when stdout
 * must hold a JSON document alone (`--json`).
 */
export function terminalLogger(stream: 'stdout' | 'stderr'): Logger {
  const write = stream === 'stdout' ? console.log : console.error;
  const color = () => colorWanted(stream === 'stdout' ? process.stdout : process.stderr);
  return {
    ...consoleLogger,
    info: (m) => write(renderForTerminal(m, { color: color() })),
    debug: (m) => {
      if (process.env.RUNBOOK_DEBUG) write(`debug: ${m}`);
    },
    group: async (title, fn) => {
      write(`\n== ${title}`);
      return fn();
    },
  };
}

/**
 * Older verbs kept working: each step has one name across its action folder and its CLI verb
 * (`canary-gate`, `flag-toggle`); `gate` and `flag` are the earlier verbs.
 */
export const aliases: Record<string, string> = { gate: 'canary-gate', flag: 'flag-toggle' };

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: runbook <command> [options]',
    '       runbook --version',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `aliases: ${Object.entries(aliases)
      .map(([a, c]) => `${a} = ${c}`)
      .join(', ')}`,
    '',
    "run 'runbook <command> --help' for a command's options",
    'global flags: --debug (debug lines and stack traces), --version',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script). @returns the exit code */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  if (debug) process.env.RUNBOOK_DEBUG = '1';
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(version());
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === (aliases[name] ?? name));
  if (!cmd) {
    console.error(`runbook: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  const logger = terminalLogger(rest.includes('--json') ? 'stderr' : 'stdout');
  // Before the first write, say where it goes (never the password).
  const target = describeWriteTarget(cmd.name, rest);
  if (target) {
    console.error(
      `runbook ${cmd.name} ${rest.find((a) => !a.startsWith('-'))} writes to ${target}`,
    );
  }
  try {
    return await cmd.run(rest, logger);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`runbook ${name}: ${e.message}`);
      if (debug && e.stack) console.error(e.stack);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    console.error(`runbook ${name}: ${message}`);
    console.error(
      debug && e instanceof Error && e.stack
        ? e.stack
        : 'this is not a configuration error; run again with --debug for the stack trace',
    );
    return 1;
  }
}

const invokedDirectly = process.argv[1] && /(^|\/)src\/cli\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(1);
    },
  );
}
