/**
 * Errors and logging shared by every engine.
 *
 * Engines throw {@link ConfigError} for a user's mistake (bad input, bad file, bad spec) and let
 * anything else propagate as a bug. The action wrapper (`src/github/action.ts`) turns a
 * `ConfigError` that carries a file and line into an `::error file=...,line=...::` annotation.
 */

/** Where in a user's file a problem is. `line` and `column` are 1-based. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * A user's mistake: a bad input, file, spec or URL. The message names what is wrong; `input`
 * names the action input or CLI flag; `location` points at the file and line when known.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly location?: SourceLocation,
    readonly input?: string,
  ) {
    super(ConfigError.format(message, location, input));
  }

  private static format(message: string, location?: SourceLocation, input?: string): string {
    const where = location
      ? `${location.file}${location.line ? `:${location.line}` : ''}${location.line && location.column ? `:${location.column}` : ''}: `
      : '';
    const which = input ? `input '${input}': ` : '';
    return `${which}${where}${message}`;
  }
}

/** A finding that belongs at a file and line (a lint hit, a failed check) without being thrown. */
export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  title?: string;
  location?: SourceLocation;
}

/**
 * The small logging interface every engine takes. The action passes one backed by
 * `@actions/core`; the CLI and tests pass {@link consoleLogger} or a recording logger.
 */
export interface Logger {
  info(message: string): void;
  warning(message: string, location?: SourceLocation): void;
  error(message: string, location?: SourceLocation): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible group (the runner's `::group::`); plain heading elsewhere. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

function where(location?: SourceLocation): string {
  return location ? ` (${location.file}${location.line ? `:${location.line}` : ''})` : '';
}

/** A {@link Logger} that writes to stdout/stderr; used by the CLI. */
export const consoleLogger: Logger = {
  info: (m) => console.log(m),
  warning: (m, l) => console.warn(`warning: ${m}${where(l)}`),
  error: (m, l) => console.error(`error: ${m}${where(l)}`),
  debug: (m) => {
    if (process.env.RUNBOOK_DEBUG) console.log(`debug: ${m}`);
  },
  group: async (title, fn) => {
    console.log(`\n== ${title}`);
    return fn();
  },
};

/** A {@link Logger} that discards everything; for benchmarks and quiet tests. */
export const silentLogger: Logger = {
  info: () => {},
  warning: () => {},
  error: () => {},
  debug: () => {},
  group: (_t, fn) => fn(),
};

/** A {@link Logger} that records every line; for tests that assert what was logged. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warning: (m, l) => lines.push(`warning: ${m}${where(l)}`),
    error: (m, l) => lines.push(`error: ${m}${where(l)}`),
    debug: (m) => lines.push(`debug: ${m}`),
    group: async (t, fn) => {
      lines.push(`== ${t}`);
      return fn();
    },
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
