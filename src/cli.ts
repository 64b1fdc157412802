/**
 * The `runbook` command line: the same engines as the actions, for local rehearsal.
 *
 *   runbook <command> [subcommand] [options]
 *
 * Exit codes: 0 success; 1 a step failed (failed gate, failed verify, refused migration);
 * 2 a usage or configuration error.
 */
import { ConfigError, consoleLogger } from './errors.js';
import type { CliCommand } from './cli/types.js';
import { command as migrate } from './migrate/cli.js';
import { command as backfill } from './backfill/cli.js';
import { command as gate } from './gate/cli.js';
import { command as flag } from './flags/cli.js';
import { command as rollout } from './k8s/cli.js';
import { command as smoke } from './smoke/cli.js';
import { command as rehearse } from './release/rehearse-cli.js';
import { command as plan } from './release/plan-cli.js';

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
];

/**
 * Older verbs kept working: each step has one name across its action folder and its CLI verb
 * (`canary-gate`, `flag-toggle`); `gate` and `flag` are the earlier verbs.
 */
export const aliases: Record<string, string> = { gate: 'canary-gate', flag: 'flag-toggle' };

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: runbook <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `aliases: ${Object.entries(aliases)
      .map(([a, c]) => `${a} = ${c}`)
      .join(', ')}`,
    '',
    "run 'runbook <command> --help' for a command's options",
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script). @returns the exit code */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
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
  try {
    return await cmd.run(rest, consoleLogger);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`runbook ${name}: ${e.message}`);
      return 2;
    }
    throw e;
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
