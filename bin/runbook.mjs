#!/usr/bin/env node
// The `runbook` command line. Runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli.ts');
process.exit(await main(process.argv.slice(2)));
