/**
 * Loading user YAML files against a zod schema, with errors that name the file and line.
 *
 * Parsing uses the `yaml` package (its `LineCounter` gives 1-based lines); validation uses
 * `zod`. Every problem becomes a {@link ConfigError} whose location is the line of the offending
 * key or value, so the action can annotate it.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type SourceLocation } from '../errors.js';

/**
 * Most alias expansions a document may make (yaml's `maxAliasCount`); more is taken as an alias
 * bomb ("billion laughs") rather than a configuration file.
 */
export const MAX_ALIAS_COUNT = 100;

/** A parsed YAML document that can map a value path back to its line. */
export interface LoadedYaml<T> {
  file: string;
  value: T;
  /** 1-based line of the node at `path` (e.g. `['metrics', 0, 'query']`), or the closest parent. */
  lineOf(path: (string | number)[]): number | undefined;
  locate(path: (string | number)[]): SourceLocation;
}

/**
 * Reads `file`, parses it as YAML and validates it with `schema`.
 *
 * @param file - path to a YAML file
 * @param schema - zod schema for the document
 * @param input - the action input / CLI flag that named the file (appears in errors)
 * @throws ConfigError when the file cannot be read, is not valid YAML (with line and column),
 *   or does not match the schema (with the line of the first offending key).
 */
export function loadYaml<S extends z.ZodTypeAny>(
  file: string,
  schema: S,
  input?: string,
): LoadedYaml<z.infer<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read file: ${(e as Error).message}`, { file }, input);
  }
  return parseYaml(text, file, schema, input);
}

/** As {@link loadYaml}, for text already in memory. */
export function parseYaml<S extends z.ZodTypeAny>(
  text: string,
  file: string,
  schema: S,
  input?: string,
): LoadedYaml<z.infer<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
    throw new ConfigError(
      `invalid YAML: ${err.message.split('\n')[0]}`,
      { file, line: pos?.line, column: pos?.col },
      input,
    );
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    let node: unknown = doc.contents;
    let best: number | undefined = lineAt(node as Node, lineCounter);
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) break;
        const kl = lineAt(pair.key as Node, lineCounter);
        if (kl) best = kl;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        const l = lineAt(node as Node, lineCounter);
        if (l) best = l;
      } else break;
    }
    return best;
  };
  let raw: unknown;
  try {
    // yaml refuses to expand more aliases than this (a "billion laughs" alias bomb).
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new ConfigError(
      `invalid YAML: ${(e as Error).message.split('\n')[0]} (more than ${MAX_ALIAS_COUNT} alias expansions)`,
      { file },
      input,
    );
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    let path = issue.path.filter(
      (p: unknown) => typeof p === 'string' || typeof p === 'number',
    ) as (string | number)[];
    let message = issue.message;
    // An unknown key is reported at its own line, not at the line of the object holding it.
    const keys = (issue as { keys?: unknown }).keys;
    if (issue.code === 'unrecognized_keys' && Array.isArray(keys) && keys.length > 0) {
      path = [...path, String(keys[0])];
      message = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${String(k)}'`).join(', ')}`;
    }
    const dotted = path.length ? path.join('.') : '(top level)';
    throw new ConfigError(`${dotted}: ${message}`, { file, line: lineOf(path) }, input);
  }
  return {
    file,
    value: result.data,
    lineOf,
    locate: (path) => ({ file, line: lineOf(path) }),
  };
}

function lineAt(node: Node | undefined | null, lc: LineCounter): number | undefined {
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

/**
 * Parses a duration such as `30s`, `5m`, `1h30m`, `250ms` or a bare number of seconds.
 * @returns milliseconds
 * @throws ConfigError naming `what` when the text is not a duration
 */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') return text * 1000;
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
    consumed += m[0].length;
  }
  if (consumed !== s.length || consumed === 0) {
    throw new ConfigError(`${what}: '${text}' is not a duration (use e.g. 30s, 5m, 1h30m, 250ms)`);
  }
  return total;
}
