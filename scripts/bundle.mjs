#!/usr/bin/env node
// Bundles every actions/<name>/src/main.ts into actions/<name>/dist/index.js with @vercel/ncc.
// Usage: node scripts/bundle.mjs [name ...]   (default: every action)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const names = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(join(root, 'actions')).filter((n) =>
      existsSync(join(root, 'actions', n, 'src', 'main.ts')),
    );
for (const name of names) {
  const out = join(root, 'actions', name, 'dist');
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    join(root, 'node_modules', '.bin', 'ncc'),
    [
      'build',
      join('actions', name, 'src', 'main.ts'),
      '-o',
      out,
      '--license',
      'licenses.txt',
      '--quiet',
      '--target',
      'es2023',
    ],
    { cwd: root, stdio: 'inherit' },
  );
  console.log(`bundled actions/${name}/dist`);
}
