/**
 * What a `runbook` command is about to write to, said before the first write: the database host
 * and name, the Kubernetes cluster and namespace, the flag backend. A command that would change a
 * real system can ask first ({@link confirmTarget}), and refuses in CI or without a terminal
 * unless told `--yes`.
 */
import { createInterface } from 'node:readline/promises';
import { parse } from 'pg-connection-string';
import { ConfigError } from '../errors.js';

/**
 * A PostgreSQL URL as `host:port/database (user u)`, never with its password.
 * @returns the description, or `an unparsable URL` for text `pg-connection-string` cannot read
 */
export function describeDatabase(url: string): string {
  try {
    const c = parse(url);
    const host = c.host ?? 'localhost';
    const where = host.startsWith('/') ? `socket ${host}` : `${host}:${c.port ?? 5432}`;
    return `PostgreSQL ${where}/${c.database ?? ''}${c.user ? ` (user ${c.user})` : ''}`;
  } catch {
    return 'PostgreSQL at an unparsable URL';
  }
}

/** Options of {@link confirmTarget}. */
export interface ConfirmOptions {
  /** What will be written, e.g. `rehearse writes migrations, a backfill and flags to`. */
  action: string;
  /** The target, e.g. from {@link describeDatabase}. */
  target: string;
  /** `--yes` was given: go on without asking. */
  yes: boolean;
  /** The environment (`CI`); default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Whether a person can answer (stdin and stderr are terminals); default from `process`. */
  interactive?: boolean;
  /** Reads the answer; default a readline prompt on stdin/stderr. */
  ask?: (question: string) => Promise<string>;
  /** Where the target line goes; default stderr. */
  say?: (line: string) => void;
}

/**
 * Says what will be written and where, then asks for confirmation unless `yes`.
 *
 * @throws ConfigError (exit 2, nothing written) in CI (`CI` set and not `false`) or without a
 *   terminal when `yes` is not given, and when the person does not answer `y` or `yes`
 */
export async function confirmTarget(options: ConfirmOptions): Promise<void> {
  const env = options.env ?? process.env;
  const say = options.say ?? ((l: string) => console.error(l));
  say(`${options.action} ${options.target}`);
  if (options.yes) return;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false';
  const interactive =
    options.interactive ?? (process.stdin.isTTY === true && process.stderr.isTTY === true);
  if (ci || !interactive) {
    throw new ConfigError(
      `refusing to write to ${options.target} without confirmation${ci ? ' in CI' : ' (no terminal to ask)'}; add --yes to go on`,
      undefined,
      '--yes',
    );
  }
  const ask =
    options.ask ??
    (async (q: string) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(q);
      } finally {
        rl.close();
      }
    });
  const answer = (await ask('go on? [y/N] ')).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') {
    throw new ConfigError(
      `not confirmed; nothing was written to ${options.target}`,
      undefined,
      '--yes',
    );
  }
}

/** The subcommands that write, per command (the other subcommands only read). */
const WRITES: Record<string, readonly string[]> = {
  migrate: ['apply', 'baseline', 'rollback', 'undo', 'repair'],
  backfill: ['execute', 'generate', 'pause', 'resume'],
  'flag-toggle': ['enable', 'disable', 'restore'],
  rollout: ['set-image', 'undo', 'set-weight', 'promote', 'abort', 'apply', 'run-job'],
};

/** The value of `--name VALUE` or `--name=VALUE` in `argv` (the last one given). */
function flagValue(argv: readonly string[], ...names: string[]): string | undefined {
  let value: string | undefined;
  argv.forEach((a, i) => {
    for (const n of names) {
      if (a === n && i + 1 < argv.length) value = argv[i + 1];
      else if (a.startsWith(`${n}=`)) value = a.slice(n.length + 1);
    }
  });
  return value;
}

/**
 * What `runbook <command> <subcommand> ...` is about to write to, for the line printed before
 * the first write; undefined for a command or subcommand that only reads, and for a dry run.
 *
 * @param command the command's canonical name (`migrate`, `backfill`, `flag-toggle`, `rollout`)
 * @param argv the arguments after the command's name
 * @returns e.g. `PostgreSQL db.internal:5432/app (user app)`, `Kubernetes context prod
 *   (kubeconfig ~/.kube/config), namespace billing`, `the unleash flag backend at https://...`
 */
export function describeWriteTarget(
  command: string,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const sub = argv.find((a) => !a.startsWith('-'));
  if (!sub || !WRITES[command]?.includes(sub) || argv.includes('--dry-run')) return undefined;
  const database = () => {
    const url = flagValue(argv, '--database-url') ?? env.DATABASE_URL;
    return url ? describeDatabase(url) : 'PostgreSQL (no --database-url or $DATABASE_URL given)';
  };
  if (command === 'migrate' || command === 'backfill') return database();
  if (command === 'flag-toggle') {
    const backend = flagValue(argv, '--backend') ?? 'postgres';
    if (backend === 'postgres') return `the postgres flag backend in ${database()}`;
    const base = flagValue(argv, '--base-url');
    let where = '';
    if (base) {
      try {
        where = ` at ${new URL(base).origin}`;
      } catch {
        where = '';
      }
    }
    return `the ${backend} flag backend${where}`;
  }
  const kubeconfig = flagValue(argv, '--kubeconfig') ?? env.KUBECONFIG ?? '~/.kube/config';
  const context = flagValue(argv, '--context');
  const namespace = flagValue(argv, '--namespace', '-n');
  return `Kubernetes ${context ? `context ${context}` : 'current context'} (kubeconfig ${kubeconfig})${namespace ? `, namespace ${namespace}` : ''}`;
}
