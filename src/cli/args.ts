/**
 * Argument helpers shared by the `runbook` command modules (`src/<area>/cli.ts`): one wrapper
 * around `node:util` `parseArgs` and small readers for the flag kinds every command repeats
 * (database URL, durations, whole numbers, lists, choices, files).
 *
 * Every helper throws {@link ConfigError} for a user's mistake, naming the flag, so that
 * `src/cli.ts` prints it without a stack and exits with code 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { parseDuration } from '../config/load.js';
import { ConfigError } from '../errors.js';

/** What {@link parseFlags} returns: `parseArgs`' result for `options`, in strict mode. */
export type ParsedFlags<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>
>;

/**
 * Parses a command's arguments with `node:util` `parseArgs` in strict mode.
 *
 * @param argv the arguments after the command's name
 * @param options the `parseArgs` option specification (flag name → `{type, multiple, short, default}`)
 * @param usage the command's usage text, appended to a parse error
 * @param allowPositionals whether bare words (a subcommand, a file) are accepted; default false
 * @returns `{ values, positionals }` as `parseArgs` returns them
 * @throws ConfigError for an unknown flag, a missing flag value or an unexpected positional
 *   (`parseArgs`' message followed by a blank line and `usage`)
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
  usage: string,
  allowPositionals = false,
): ParsedFlags<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n\n${usage}`);
  }
}

/**
 * The PostgreSQL URL from `--database-url`, else from the `DATABASE_URL` environment variable.
 * An empty value counts as not given.
 *
 * @param flag the `--database-url` value, if any
 * @param env the environment to read `DATABASE_URL` from (default `process.env`)
 * @returns the URL, or undefined when neither is set
 */
export function databaseUrlFlag(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return flag || env.DATABASE_URL || undefined;
}

/**
 * A duration flag such as `--timeout 10m`, parsed with `parseDuration` (`250ms`, `30s`, `5m`,
 * `1h30m`; a bare number is seconds). An empty value counts as not given.
 *
 * @param raw the flag's value, if any
 * @param flag the flag's name, e.g. `--timeout`, for the error message
 * @param fallback the duration text used when the flag is not given
 * @returns milliseconds, or undefined when neither `raw` nor `fallback` is given
 * @throws ConfigError `<flag>: '<raw>' is not a duration ...` for an unparsable value
 */
export function durationFlag(raw: string | undefined, flag: string, fallback: string): number;
export function durationFlag(
  raw: string | undefined,
  flag: string,
  fallback?: string,
): number | undefined;
export function durationFlag(
  raw: string | undefined,
  flag: string,
  fallback?: string,
): number | undefined {
  const text = raw || fallback;
  return text === undefined ? undefined : parseDuration(text, flag);
}

/** Constraints of {@link numberFlag}. */
export interface NumberFlagOptions {
  /** Accept whole numbers only (default false: any finite number). */
  integer?: boolean;
  /** Smallest accepted value (default 0). */
  min?: 0 | 1;
}

/**
 * A numeric flag such as `--batch-size 500`.
 *
 * @param raw the flag's value, if any
 * @param flag the flag's name, e.g. `--batch-size`, for the error message
 * @param constraints whole numbers only and the minimum (0 or 1)
 * @returns the number, or undefined when the flag is not given
 * @throws ConfigError naming `flag`: `expected a positive integer` (integer, min 1),
 *   `expected a whole number` (integer, min 0) or `expected a number >= 0` (otherwise),
 *   followed by `, got '<raw>'`
 */
export function numberFlag(
  raw: string | undefined,
  flag: string,
  constraints: NumberFlagOptions = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const { integer = false, min = 0 } = constraints;
  const n = Number(raw);
  if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min) {
    const expected = integer
      ? min === 1
        ? 'a positive integer'
        : 'a whole number'
      : `a number >= ${min}`;
    throw new ConfigError(`expected ${expected}, got '${raw}'`, undefined, flag);
  }
  return n;
}

/**
 * A list flag: every value of a repeatable flag, each also split on commas (`--tenant a,b
 * --tenant c` → `['a', 'b', 'c']`); items are trimmed and blanks dropped, as the actions'
 * list inputs are.
 *
 * @param raw one value, the values of a `multiple` flag, or undefined
 * @returns the items; empty when the flag is not given
 */
export function listFlag(raw: string | readonly string[] | undefined): string[] {
  const values = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
  return values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Secrets named by a repeatable flag (`--secret API_TOKEN`), each read from the environment
 * variable of that name. Values never come from the command line, where shell history and
 * process listings would keep them.
 *
 * @param names the flag's values (environment variable names), if any
 * @param flag the flag's name, e.g. `--secret`
 * @param env the environment to read (default `process.env`)
 * @returns name → value
 * @throws ConfigError naming `flag` for a `NAME=VALUE` (the value is not repeated in the
 *   message) or for a variable that is unset or empty
 */
export function envSecretsFlag(
  names: readonly string[] | undefined,
  flag: string,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const name of names ?? []) {
    if (name.includes('=')) {
      throw new ConfigError(
        `expected a NAME whose value is in the environment variable NAME, got '${name.split('=')[0]}=…'`,
        undefined,
        flag,
      );
    }
    const value = env[name];
    if (value === undefined || value === '') {
      throw new ConfigError(`environment variable ${name} is not set`, undefined, flag);
    }
    secrets[name] = value;
  }
  return secrets;
}

/**
 * A flag that must be given and not empty.
 *
 * @param value the flag's value, if any
 * @param flag the flag's name, e.g. `--spec`
 * @returns `value`
 * @throws ConfigError `input '<flag>': is required` when `value` is undefined or empty
 */
export function requiredFlag(value: string | undefined, flag: string): string {
  if (!value) throw new ConfigError('is required', undefined, flag);
  return value;
}

/**
 * A value that must be one of a fixed set (a mode, a provider, a backend, an operation).
 *
 * @param value the given value, if any
 * @param allowed the accepted values
 * @param flag the flag's (or positional's) name for the error message
 * @param hint text appended on a new line to the error, e.g. the usage
 * @returns `value`, typed as one of `allowed`
 * @throws ConfigError `input '<flag>': expected one of a, b, c` when `value` is not in `allowed`
 */
export function oneOfFlag<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
  hint?: string,
): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(
      `expected one of ${allowed.join(', ')}${hint ? `\n${hint}` : ''}`,
      undefined,
      flag,
    );
  }
  return value as T;
}

/**
 * Reads a UTF-8 file named by a flag, e.g. a PEM CA certificate.
 *
 * @param path the flag's value, if any
 * @param flag the flag's name, e.g. `--ca-cert`
 * @param what what the file is, for the error message (e.g. `CA certificate`)
 * @returns the file's text, or undefined when the flag is not given
 * @throws ConfigError `input '<flag>': cannot read <what>: <reason>` when the file cannot be read
 */
export function readFileFlag(
  path: string | undefined,
  flag: string,
  what = 'file',
): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${what}: ${(e as Error).message}`, undefined, flag);
  }
}
