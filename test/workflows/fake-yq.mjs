#!/usr/bin/env node
// A FAKE of mikefarah/yq v4 (github.com/mikefarah/yq, preinstalled on GitHub's ubuntu runners)
// for the workflow step tests. It implements only the one form the workflows use:
//   yq -o=json -I=0 '.' FILE   → FILE as compact JSON on stdout
// using the `yaml` package. Anything else exits 2 so a new use shows up in the tests.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const args = process.argv.slice(2);
if (args.length !== 4 || args[0] !== '-o=json' || args[1] !== '-I=0' || args[2] !== '.') {
  console.error(`fake yq: unsupported arguments: ${args.join(' ')}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(parse(readFileSync(args[3], 'utf8'))) + '\n');
