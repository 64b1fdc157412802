/**
 * The examples in the README, the docs and every action's README follow our own rules: a step
 * output reaches a `run:` script through `env:`, never as `${{ }}` spliced into the script (the
 * script-injection pattern), and the text speaks of the product only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'actions')).map((a) => `actions/${a}/README.md`),
];

/** Every `run:` script of every YAML example block in `text`. */
function runScripts(text: string): string[] {
  const scripts: string[] = [];
  for (const m of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
    let doc: unknown;
    try {
      doc = parse(m[1]);
    } catch {
      continue; // a fragment, not a document
    }
    const walk = (o: unknown): void => {
      if (Array.isArray(o)) o.forEach(walk);
      else if (o && typeof o === 'object') {
        const run = (o as { run?: unknown }).run;
        if (typeof run === 'string') scripts.push(run);
        Object.values(o).forEach(walk);
      }
    };
    walk(doc);
  }
  return scripts;
}

describe.each(files)('%s', (file) => {
  const text = readFileSync(join(root, file), 'utf8');
  it('passes values to run: scripts through env:, never as ${{ }} inside the script', () => {
    expect(runScripts(text).filter((s) => s.includes('${{'))).toEqual([]);
  });
  it('speaks of the product, not of where its work was planned', () => {
    expect(text).not.toMatch(
      /\bthe seeds?'?s?\b|\bseed [0-9]{3}\b|\bissue #?[0-9]+\b|\bcanary-gate issue\b/i,
    );
  });
});

it('the scan finds a spliced expression when there is one', () => {
  const bad = '```yaml\nsteps:\n  - run: echo "${{ steps.x.outputs.y }}"\n```\n';
  expect(runScripts(bad)).toEqual(['echo "${{ steps.x.outputs.y }}"']);
});
