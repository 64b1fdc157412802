#!/usr/bin/env node
// Prints the CHANGELOG.md section of one version (the release notes of its tag), or fails.
// Usage: node scripts/changelog.mjs 1.2.3   (a leading "v" is accepted)
// Exit codes: 0 printed; 1 CHANGELOG.md has no section for that version; 2 usage error.
// Sections follow Keep a Changelog 1.1.0: "## [1.2.3] - 2026-12-04".
import { readFileSync } from 'node:fs';

const wanted = (process.argv[2] ?? '').replace(/^v/, '');
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(wanted)) {
  console.error('usage: node scripts/changelog.mjs <semver version>');
  process.exit(2);
}
const file = new URL('../CHANGELOG.md', import.meta.url);
const lines = readFileSync(file, 'utf8').split('\n');
const heading = /^## \[([^\]]+)\]/;
const start = lines.findIndex((l) => heading.exec(l)?.[1] === wanted);
if (start < 0) {
  console.error(`CHANGELOG.md has no section '## [${wanted}]'; add one before tagging v${wanted}`);
  process.exit(1);
}
let end = lines.findIndex((l, i) => i > start && heading.test(l));
if (end < 0) end = lines.length;
console.log(lines.slice(start + 1, end).join('\n').trim());
