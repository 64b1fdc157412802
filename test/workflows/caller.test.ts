/**
 * The caller workflow the README's quick start (and docs/quick-start-caller.md) tells users to
 * copy: it passes actionlint, calls release.yml from the repository and ref its actions are
 * pinned to, and uses only the inputs, secrets and outputs release.yml's `workflow_call` declares.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { lintOnce, unexcused } from './actionlint.js';
import { readWorkflow, root, type Workflow } from './workflows.js';

/** The first ```yaml block after `heading` (or from the top) in a Markdown file. */
function yamlBlock(file: string, heading?: string): string {
  const text = readFileSync(resolve(root, file), 'utf8');
  const from = heading === undefined ? 0 : text.indexOf(`\n${heading}\n`);
  if (from < 0) throw new Error(`${file}: no heading '${heading}'`);
  const m = /\n```yaml\n([\s\S]*?)\n```\n/.exec(text.slice(from));
  if (!m) throw new Error(`${file}: no yaml block after '${heading ?? 'the top'}'`);
  return `${m[1]}\n`;
}

const README = yamlBlock('README.md', '### Release from your own repository');
const DOCS = yamlBlock('docs/quick-start-caller.md');
const release = readWorkflow('release.yml').wf;

interface WorkflowCall {
  inputs?: Record<string, { required?: boolean; default?: unknown }>;
  secrets?: Record<string, { required?: boolean }>;
  outputs?: Record<string, { value: string }>;
}

/**
 * The repository release.yml checks its own actions out from (at `job.workflow_sha`, the commit
 * the caller called it at), and the ref callers use (`@v1`).
 */
function pinnedRepository(wf: Workflow): { repo: string; ref: string } {
  const pins = new Set<string>();
  for (const job of Object.values(wf.jobs)) {
    for (const s of job.steps ?? []) {
      if (s.uses?.startsWith('actions/checkout@') && s.with?.path === '.runbook-actions')
        pins.add(`${String(s.with.repository)}@${String(s.with.ref)}`);
    }
  }
  if (pins.size !== 1)
    throw new Error(`release.yml checks its actions out as ${[...pins].join(', ')}`);
  const [repo, at] = [...pins][0].split('@');
  if (at !== '${{ job.workflow_sha }}')
    throw new Error(`release.yml checks its actions out at ${at}`);
  return { repo, ref: 'v1' };
}

/**
 * What is wrong with a caller of release.yml: a `uses:` that is not release.yml in the
 * repository and ref its actions are pinned to, `with:` keys release.yml does not declare or a
 * required input left out, secrets it does not declare (or a required one not passed), and
 * `needs.<job>.outputs.<name>` reads of outputs it does not declare.
 */
function callerProblems(callerText: string, callee: Workflow): string[] {
  const caller = parse(callerText) as Workflow;
  const call = callee.on.workflow_call as WorkflowCall;
  const { repo, ref } = pinnedRepository(callee);
  const problems: string[] = [];
  const callers = Object.entries(caller.jobs).filter(([, j]) =>
    /\/\.github\/workflows\/release\.yml@/.test(j.uses ?? ''),
  );
  if (callers.length !== 1) problems.push(`${callers.length} jobs call release.yml`);
  for (const [id, job] of callers) {
    if (job.uses !== `${repo}/.github/workflows/release.yml@${ref}`) {
      problems.push(`${id}: uses ${job.uses}, not ${repo}/.github/workflows/release.yml@${ref}`);
    }
    const given = Object.keys(job.with ?? {});
    for (const k of given) {
      if (!(k in (call.inputs ?? {}))) problems.push(`${id}: unknown input '${k}'`);
    }
    for (const [name, spec] of Object.entries(call.inputs ?? {})) {
      if (spec.required && spec.default === undefined && !given.includes(name)) {
        problems.push(`${id}: required input '${name}' missing`);
      }
    }
    const secrets = (job as { secrets?: unknown }).secrets;
    if (secrets !== 'inherit') {
      const passed = Object.keys((secrets as Record<string, unknown> | undefined) ?? {});
      for (const k of passed) {
        if (!(k in (call.secrets ?? {}))) problems.push(`${id}: unknown secret '${k}'`);
      }
      for (const [name, spec] of Object.entries(call.secrets ?? {})) {
        if (spec.required && !passed.includes(name)) {
          problems.push(`${id}: required secret '${name}' not passed`);
        }
      }
    }
    for (const m of callerText.matchAll(new RegExp(`needs\\.${id}\\.outputs\\.([\\w-]+)`, 'g'))) {
      if (!(m[1] in (call.outputs ?? {}))) problems.push(`unknown output '${m[1]}' of ${id}`);
    }
  }
  return problems;
}

describe('the README caller workflow', () => {
  test('docs/quick-start-caller.md shows the same workflow', () => {
    expect(DOCS).toBe(README);
  });

  test('passes actionlint (except the rules it gets wrong)', async () => {
    const findings = await lintOnce(README, '.github/workflows/release.yml');
    expect(unexcused(findings)).toEqual([]);
  });

  test('the linter sees the block: a broken needs is reported', async () => {
    const broken = README.replace('needs: release', 'needs: relase');
    expect(broken).not.toBe(README);
    const kinds = (await lintOnce(broken, 'caller.yml')).map((f) => f.kind);
    expect(kinds).toContain('job-needs');
  });

  test('calls release.yml from the repository release.yml checks its actions out from', () => {
    const { repo, ref } = pinnedRepository(release);
    expect(repo).toBe('runbook-actions/runbook-actions');
    const job = (parse(README) as Workflow).jobs.release;
    expect(job.uses).toBe(`${repo}/.github/workflows/release.yml@${ref}`);
  });

  test("uses only release.yml's workflow_call inputs, secrets and outputs", () => {
    expect(callerProblems(README, release)).toEqual([]);
    // It reads outputs and passes inputs at all, so the check above checked something.
    expect(README).toMatch(/needs\.release\.outputs\.verdict/);
    expect(Object.keys((parse(README) as Workflow).jobs.release.with ?? {})).toEqual([
      'plan',
      'environment',
    ]);
  });

  test('the check notices a wrong owner, input, secret or output', () => {
    const mutations: [string, string, string][] = [
      [
        'uses: runbook-actions/runbook-actions/',
        'uses: OWNER/runbook-actions/',
        'release: uses OWNER/runbook-actions/.github/workflows/release.yml@v1, not runbook-actions/runbook-actions/.github/workflows/release.yml@v1',
      ],
      ['      plan: ${{ inputs.plan }}\n', '', "release: required input 'plan' missing"],
      [
        '      plan: ${{',
        '      dry-run: true\n      plan: ${{',
        "release: unknown input 'dry-run'",
      ],
      [
        'secrets: inherit',
        'secrets:\n      DB_URL: ${{ secrets.DB_URL }}',
        "release: unknown secret 'DB_URL'",
      ],
      ['outputs.rolled-back', 'outputs.rolledback', "unknown output 'rolledback' of release"],
    ];
    for (const [from, to, problem] of mutations) {
      const text = README.replace(from, to);
      expect(text).not.toBe(README);
      expect(callerProblems(text, release)).toEqual([problem]);
    }
  });

  test('the secrets its comment lists are exactly the secrets release.yml declares', () => {
    const m = /reads only the secrets it declares: ([\s\S]*?)\. Pass/.exec(README);
    expect(m).not.toBeNull();
    const listed = m![1]
      .replace(/\n\s*#/g, ' ')
      .split(/,\s*/)
      .map((s) => s.trim());
    expect(listed.sort()).toEqual(Object.keys(release.on.workflow_call.secrets).sort());
  });

  test("grants the union of release.yml's job permissions, no more", () => {
    const union: Record<string, string> = {};
    for (const job of Object.values(release.jobs)) {
      for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
        if (union[scope] !== 'write') union[scope] = level;
      }
    }
    const caller = parse(README) as Workflow;
    expect(caller.permissions).toEqual({});
    expect(caller.jobs.release.permissions).toEqual(union);
  });
});
