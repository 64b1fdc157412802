/**
 * Guards the copy-paste workflow examples in the READMEs: every ```yaml block parses, every step
 * that uses one of our actions references it as a user's repository must
 * (`runbook-actions/runbook-actions/actions/<name>@v1`, as .github/workflows/release.yml does),
 * and its `with:` keys are inputs of that action's action.yml.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const ACTION_REF = /^runbook-actions\/runbook-actions\/actions\/([a-z0-9-]+)@v1$/;

const actionNames = readdirSync(join(root, 'actions')).filter((n) =>
  existsSync(join(root, 'actions', n, 'action.yml')),
);
const readmes = [
  join(root, 'README.md'),
  ...actionNames.map((n) => join(root, 'actions', n, 'README.md')),
].filter((f) => existsSync(f));

interface Block {
  file: string;
  line: number;
  text: string;
}

/** The ```yaml (or ```yml) fenced blocks of a Markdown file, with the line each starts on. */
function yamlBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ya?ml\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ file: relative(root, file), line: start + 1, text: body.join('\n') });
  }
  return blocks;
}

/** Every object in a parsed document that has a `uses` key (steps and reusable-workflow jobs). */
function usesNodes(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) for (const v of value) usesNodes(v, out);
  else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.uses === 'string') out.push(obj);
    for (const v of Object.values(obj)) usesNodes(v, out);
  }
  return out;
}

function inputsOf(name: string): string[] {
  const meta = parse(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, unknown>;
  };
  return Object.keys(meta.inputs ?? {});
}

const blocks = readmes.flatMap(yamlBlocks);

test('every action has a README with at least one yaml example', () => {
  for (const name of actionNames) {
    expect(blocks.some((b) => b.file === join('actions', name, 'README.md'))).toBe(true);
  }
});

test.each(blocks.map((b) => [`${b.file}:${b.line}`, b] as const))(
  '%s is valid YAML and uses the actions as a user repository must',
  (_where, block) => {
    const docs = parseAllDocuments(block.text);
    const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
    expect(errors).toEqual([]);
    for (const node of docs.flatMap((d) => usesNodes(d.toJS()))) {
      const uses = node.uses as string;
      // Only a reference by repository and ref works in a user's repository.
      expect(uses).not.toMatch(/^\.\//);
      if (uses.startsWith('actions/checkout@')) expect(uses).toBe('actions/checkout@v4');
      if (/\/actions\/[a-z0-9-]+@/.test(uses) && !uses.startsWith('actions/')) {
        expect(uses).toMatch(ACTION_REF);
      }
      const m = ACTION_REF.exec(uses);
      if (!m) continue;
      expect(actionNames).toContain(m[1]);
      const known = inputsOf(m[1]);
      const unknown = Object.keys((node.with as Record<string, unknown>) ?? {}).filter(
        (k) => !known.includes(k),
      );
      expect({ uses, unknown }).toEqual({ uses, unknown: [] });
    }
  },
);

test('the checker itself flags an unknown input', () => {
  const docs = parseAllDocuments(
    'steps:\n  - uses: runbook-actions/runbook-actions/actions/migrate@v1\n    with:\n      databse-url: x\n',
  );
  const [node] = docs.flatMap((d) => usesNodes(d.toJS()));
  const keys = Object.keys(node.with as Record<string, unknown>);
  expect(keys.filter((k) => !inputsOf('migrate').includes(k))).toEqual(['databse-url']);
});
