/**
 * Runs a bundled action exactly as the GitHub runner does: `node actions/<name>/dist/index.js`
 * with `INPUT_<NAME>` variables (name upper-cased, spaces to `_`, dashes kept), and the
 * `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_ENV` and `GITHUB_STATE` files pointing at temp
 * files (docs.github.com, "Metadata syntax" and "Workflow commands"). Uses the Node that runs the
 * tests (Node 24, the `node24` runtime).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** One `::error file=...,line=...::message` (or warning/notice) line printed by the action. */
export interface ParsedAnnotation {
  level: 'error' | 'warning' | 'notice';
  file?: string;
  line?: number;
  title?: string;
  message: string;
}

/** What a bundled action run produced. */
export interface ActionRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  env: Record<string, string>;
  annotations: ParsedAnnotation[];
  /** Values the action masked with `::add-mask::`. */
  masks: string[];
  /** Every file left under `RUNNER_TEMP` (the command files included), by path relative to it. */
  files: Record<string, string>;
}

/** Every regular file under `dir`, by path relative to it, read as UTF-8. */
export function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out[path.slice(dir.length + 1)] = readFileSync(path, 'utf8');
  }
  return out;
}

/** Parses the `name<<DELIM ... DELIM` and `name=value` formats of GITHUB_OUTPUT / GITHUB_ENV. */
export function parseKeyValueFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delim] = heredoc;
      const buf: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) buf.push(lines[i]);
      out[key] = buf.join('\n');
    } else if (line.includes('=')) {
      const idx = line.indexOf('=');
      out[line.slice(0, idx)] = line.slice(idx + 1);
    }
  }
  return out;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/** Parses workflow-command annotations and masks from an action's stdout. */
export function parseCommands(stdout: string): {
  annotations: ParsedAnnotation[];
  masks: string[];
} {
  const annotations: ParsedAnnotation[] = [];
  const masks: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line);
    if (m) {
      const props: Record<string, string> = {};
      for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
        const i = kv.indexOf('=');
        props[kv.slice(0, i)] = unescapeData(kv.slice(i + 1))
          .replace(/%3A/g, ':')
          .replace(/%2C/g, ',');
      }
      annotations.push({
        level: m[1] as ParsedAnnotation['level'],
        file: props.file,
        line: props.line ? Number(props.line) : undefined,
        title: props.title,
        message: unescapeData(m[3]),
      });
    }
    const mask = /^::add-mask::(.*)$/.exec(line);
    if (mask) masks.push(unescapeData(mask[1]));
  }
  return { annotations, masks };
}

/**
 * Runs `actions/<name>/dist/index.js` with the given inputs.
 * @param inputs - action inputs by their `action.yml` names (e.g. `database-url`)
 * @param options.env - extra environment (e.g. GITHUB_RUN_ID); `cwd` defaults to the repo root
 */
export async function runBundledAction(
  name: string,
  inputs: Record<string, string | undefined>,
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<ActionRun> {
  const root = resolve(import.meta.dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), `action-${name}-`));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: options.cwd ?? root,
    RUNNER_TEMP: dir,
    // Tests keep their fixtures in the system temporary directory, outside the checkout; the
    // security suite sets this to '' to see path inputs confined to the workspace.
    RUNBOOK_ALLOWED_PATHS: tmpdir(),
    ...files,
    ...options.env,
  };
  for (const [k, v] of Object.entries(inputs)) {
    if (v !== undefined) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  }
  const script = join(root, 'actions', name, 'dist', 'index.js');
  if (!existsSync(script)) {
    throw new Error(`actions/${name}/dist/index.js is missing: run 'npm run bundle' first`);
  }
  const child = spawn(process.execPath, [script], { cwd: options.cwd ?? root, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const exitCode: number = await new Promise((res) => child.on('close', (code) => res(code ?? -1)));
  clearTimeout(timer);
  const read = (f: string) => readFileSync(f, 'utf8');
  const { annotations, masks } = parseCommands(stdout);
  const run: ActionRun = {
    exitCode,
    stdout,
    stderr,
    outputs: parseKeyValueFile(read(files.GITHUB_OUTPUT)),
    summary: read(files.GITHUB_STEP_SUMMARY),
    env: parseKeyValueFile(read(files.GITHUB_ENV)),
    annotations,
    masks,
    files: filesUnder(dir),
  };
  rmSync(dir, { recursive: true, force: true });
  return run;
}
