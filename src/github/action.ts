/**
 * The one place that touches `@actions/core` (with `src/github/deployments.ts` for the GitHub
 * API). Every `actions/<name>/src/main.ts` calls {@link runAction} with a body that reads typed
 * inputs, calls an engine and writes outputs and the job summary.
 *
 * Inputs follow the runner's contract (`INPUT_<NAME>` variables, read by `core.getInput`);
 * outputs go to `GITHUB_OUTPUT`, the summary to `GITHUB_STEP_SUMMARY`, annotations are workflow
 * commands (docs.github.com, "Workflow commands for GitHub Actions").
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import * as core from '@actions/core';
import { parseDuration } from '../config/load.js';
import { ConfigError, type Annotation, type Logger, type SourceLocation } from '../errors.js';
import { parseDatabaseUrl, urlPasswordCandidates } from '../db/connect.js';
import { maskable, MIN_SECRET_LENGTH, redactor } from '../redact.js';

/** Every value masked in this process (see {@link mask}). */
const masked = new Set<string>();
let redactMasked: (text: string) => string = redactor([]);

/**
 * `text` with every masked value (in each of its encoded forms) and every credential-shaped
 * value (a URL's password, `password=`, `Authorization`) replaced by `***`. Applied to everything
 * this module writes: log lines, annotations, step outputs and the job summary, because outputs
 * and the summary file are not covered by the runner's log masking.
 */
export function clean(text: string): string {
  return redactMasked(text);
}

/**
 * The path GitHub needs to attach an annotation to a file: relative to the checkout
 * (`GITHUB_WORKSPACE`). Engines report the path they were given; an absolute path inside the
 * workspace is made relative, anything else is passed through.
 */
export function annotationPath(file: string, workspace = process.env.GITHUB_WORKSPACE): string {
  if (!workspace || !isAbsolute(file)) return file;
  const rel = relative(workspace, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

function props(location?: SourceLocation, title?: string): core.AnnotationProperties {
  return {
    title,
    file: location?.file === undefined ? undefined : annotationPath(location.file),
    startLine: location?.line,
    startColumn: location?.line ? location?.column : undefined,
  };
}

/** A {@link Logger} backed by `@actions/core`: warnings and errors become annotations. */
export const actionsLogger: Logger = {
  info: (m) => core.info(clean(m)),
  warning: (m, l) => core.warning(clean(m), props(l)),
  error: (m, l) => core.error(clean(m), props(l)),
  debug: (m) => core.debug(clean(m)),
  group: (title, fn) => core.group(title, fn),
};

/** Emits annotations (lint findings, failed checks) at their file and line. */
export function annotate(annotations: Annotation[]): void {
  for (const a of annotations) {
    const p = props(a.location, a.title);
    const message = clean(a.message);
    if (a.level === 'error') core.error(message, p);
    else if (a.level === 'warning') core.warning(message, p);
    else core.notice(message, p);
  }
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
function realPathOf(path: string): string {
  let p = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(p), ...rest.reverse());
    } catch {
      const parent = dirname(p);
      if (parent === p) return path;
      rest.push(basename(p));
      p = parent;
    }
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** What a path input is: read as a file or directory, or written. */
export type PathKind = 'file' | 'dir' | 'output';

/**
 * Refuses a path input that resolves outside the checkout (`GITHUB_WORKSPACE`, else the working
 * directory), after following symbolic links (`..`, an absolute path, or a link to `/etc` all
 * count). An `output` may also go to the runner's temporary directory (`RUNNER_TEMP`). For a
 * `dir`, every symbolic link inside it (recursively) must stay inside too. A self-hosted runner
 * that keeps shared files elsewhere lists those directories in `RUNBOOK_ALLOWED_PATHS`
 * (separated by `:`), set by whoever controls the runner's environment. The command line does
 * not call this: a local run may read anything its user can.
 * @param value - the path as given (relative to the workspace, or absolute)
 * @returns `value` unchanged (engines report the path as the user wrote it)
 * @throws ConfigError naming the input when the path, or a link in the directory, leaves the
 *   workspace
 */
export function confinedPath(name: string, value: string, kind: PathKind = 'file'): string {
  if (!value) return value;
  const workspace = resolve(process.env.GITHUB_WORKSPACE || process.cwd());
  const roots = [realPathOf(workspace)];
  if (kind === 'output' && process.env.RUNNER_TEMP) roots.push(realPathOf(process.env.RUNNER_TEMP));
  for (const extra of (process.env.RUNBOOK_ALLOWED_PATHS ?? '').split(':').filter(Boolean)) {
    roots.push(realPathOf(resolve(extra)));
  }
  const real = realPathOf(resolve(workspace, value));
  const where =
    kind === 'output' && roots.length > 1 ? 'the workspace or RUNNER_TEMP' : 'the workspace';
  if (!roots.some((r) => inside(r, real))) {
    throw new ConfigError(
      `'${value}' resolves outside ${where} (${workspace}); use a path inside the checkout`,
      undefined,
      name,
    );
  }
  if (kind === 'dir' && existsSync(real) && statSync(real).isDirectory()) {
    for (const e of readdirSync(real, { recursive: true, withFileTypes: true })) {
      const p = join(e.parentPath, e.name);
      if (!lstatSync(p).isSymbolicLink()) continue;
      if (!roots.some((r) => inside(r, realPathOf(p)))) {
        throw new ConfigError(
          `'${relative(real, p)}' in '${value}' is a symbolic link to a path outside ${where}`,
          undefined,
          name,
        );
      }
    }
  }
  return value;
}

/** Typed readers for action inputs; every error names the input. */
export const inputs = {
  /** A string input; `''` when unset and not required. @throws ConfigError when required and empty */
  string(name: string, options: { required?: boolean; default?: string } = {}): string {
    const v = core.getInput(name);
    if (!v && options.required) throw new ConfigError('is required', undefined, name);
    return v || options.default || '';
  },
  /**
   * A secret input: masked with `core.setSecret` before anything can print it (a value shorter
   * than {@link MIN_SECRET_LENGTH} characters is not masked, see there, and gets a warning).
   */
  secret(name: string, options: { required?: boolean } = {}): string {
    const v = core.getInput(name);
    if (v) mask(v, name);
    if (!v && options.required) throw new ConfigError('is required', undefined, name);
    return v;
  },
  /**
   * A PostgreSQL URL, parsed as libpq reads it (`pg-connection-string`). Every spelling of its
   * password is masked before anything else happens: decoded, as written (percent-encoded), a
   * `?password=` parameter, and for a URL that does not parse, everything up to the last `@`.
   * @throws ConfigError naming the input when it is required and empty, or does not parse (the
   *   message never echoes the URL)
   */
  databaseUrl(name = 'database-url', options: { required?: boolean } = { required: true }): string {
    const v = core.getInput(name);
    if (v) {
      for (const candidate of urlPasswordCandidates(v)) mask(candidate, name);
      parseDatabaseUrl(v, name);
    }
    if (!v && options.required) throw new ConfigError('is required', undefined, name);
    return v;
  },
  /**
   * A CA certificate input for TLS to PostgreSQL (RDS, Supabase): PEM text (contains
   * `-----BEGIN CERTIFICATE-----`) or the path of a PEM file, relative to the workspace
   * (`GITHUB_WORKSPACE`) unless absolute. Pass the result to `connect(url, { caCert })`.
   * @returns the PEM text, or `undefined` when the input is empty
   * @throws ConfigError naming the input when the path does not exist, is not a file, or the
   *   file holds no PEM certificate
   */
  caCert(name = 'ca-cert'): string | undefined {
    const raw = core.getInput(name).trim();
    if (!raw) return undefined;
    if (raw.includes(PEM_BEGIN)) return raw;
    if (raw.includes('-----BEGIN')) {
      throw new ConfigError(`expected a PEM certificate (${PEM_BEGIN})`, undefined, name);
    }
    const shown = raw.length > 200 || raw.includes('\n') ? 'the value' : `'${raw}'`;
    confinedPath(name, raw);
    const path = resolve(process.env.GITHUB_WORKSPACE || process.cwd(), raw);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new ConfigError(
        `${shown} is neither PEM text (${PEM_BEGIN}) nor the path of an existing file`,
        undefined,
        name,
      );
    }
    const text = readFileSync(path, 'utf8');
    if (!text.includes(PEM_BEGIN)) {
      throw new ConfigError(
        `${shown} is not a PEM certificate file (no ${PEM_BEGIN})`,
        undefined,
        name,
      );
    }
    return text;
  },
  /**
   * A path input (a file or directory read, or a file written) that must stay inside the
   * workspace; see {@link confinedPath}. `''` when unset and not required.
   * @throws ConfigError naming the input when required and empty, or outside the workspace
   */
  path(
    name: string,
    options: { required?: boolean; default?: string; kind?: PathKind } = {},
  ): string {
    return confinedPath(name, inputs.string(name, options), options.kind ?? 'file');
  },
  /** A boolean input: true/false/yes/no/1/0 (case-insensitive). */
  bool(name: string, fallback = false): boolean {
    const v = core.getInput(name).trim().toLowerCase();
    if (!v) return fallback;
    if (['true', 'yes', '1', 'on'].includes(v)) return true;
    if (['false', 'no', '0', 'off'].includes(v)) return false;
    throw new ConfigError(`expected true or false, got '${v}'`, undefined, name);
  },
  /** A number input. @throws ConfigError when not a finite number or outside [min, max] */
  number(name: string, fallback: number, options: { min?: number; max?: number } = {}): number {
    const raw = core.getInput(name).trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n))
      throw new ConfigError(`expected a number, got '${raw}'`, undefined, name);
    if (options.min !== undefined && n < options.min)
      throw new ConfigError(`must be at least ${options.min}, got ${n}`, undefined, name);
    if (options.max !== undefined && n > options.max)
      throw new ConfigError(`must be at most ${options.max}, got ${n}`, undefined, name);
    return n;
  },
  /** A duration input (`30s`, `5m`, bare seconds). @returns milliseconds */
  durationMs(name: string, fallback: string): number {
    const raw = core.getInput(name).trim() || fallback;
    try {
      return parseDuration(raw, name);
    } catch (e) {
      throw new ConfigError((e as Error).message, undefined, name);
    }
  },
  /** As {@link inputs.durationMs}, `undefined` when the input is empty. @returns milliseconds */
  optionalDurationMs(name: string): number | undefined {
    return core.getInput(name).trim() ? inputs.durationMs(name, '0') : undefined;
  },
  /** A list input: one item per line or comma-separated; blanks dropped. */
  list(name: string): string[] {
    return core
      .getInput(name)
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter(Boolean);
  },
  /** One of a fixed set of values. */
  choice<T extends string>(name: string, choices: readonly T[], fallback?: T): T {
    const v = core.getInput(name).trim() || fallback;
    if (!v || !choices.includes(v as T)) {
      throw new ConfigError(
        `expected one of ${choices.join(', ')}, got '${v ?? ''}'`,
        undefined,
        name,
      );
    }
    return v as T;
  },
};

/**
 * Masks a secret value in every later log line (`::add-mask::`). A value shorter than
 * {@link MIN_SECRET_LENGTH} characters is not masked (masking it would blank those characters in
 * every later line); `input`, when given, is named in a warning instead.
 */
export function mask(value: string, input?: string): void {
  if (!value) return;
  if (!maskable(value)) {
    if (input) {
      core.warning(
        `input '${input}': a secret shorter than ${MIN_SECRET_LENGTH} characters is not masked in the log (masking it would blank those characters everywhere); use a longer one`,
      );
    }
    return;
  }
  core.setSecret(value);
  if (!masked.has(value)) {
    masked.add(value);
    redactMasked = redactor([...masked]);
  }
}

/** Sets an output; objects and arrays are written as JSON. */
export function output(name: string, value: unknown): void {
  core.setOutput(name, clean(typeof value === 'string' ? value : JSON.stringify(value)));
}

/** Appends Markdown to the job summary (GITHUB_STEP_SUMMARY); a no-op outside the runner. */
export async function summary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.info(clean(markdown));
    return;
  }
  await core.summary.addRaw(clean(markdown), true).write();
}

/**
 * Runs an action body. A {@link ConfigError} becomes an error annotation at its file and line
 * plus a failed step; any other error is reported as a bug with its stack in the debug log.
 */
export async function runAction(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof ConfigError) {
      // One annotation, at the file and line; setFailed would print a second, location-less one.
      core.error(clean(e.message), props(e.location));
      process.exitCode = core.ExitCode.Failure;
    } else {
      const err = e as Error;
      core.debug(clean(err.stack ?? String(err)));
      core.setFailed(clean(err.message ?? String(err)));
    }
  }
}
