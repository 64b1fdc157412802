#!/usr/bin/env node
// The `runbook` command line. Runs the TypeScript sources through tsx's loader.
// The version check comes first, before any dependency loads: the Kubernetes client (undici)
// fails on older Node with an error that names neither Node nor the version needed.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `runbook: Node 24 or newer is needed (this is Node ${process.versions.node}).\n` +
      'Install it (e.g. `nvm install 24`), or run through npm in this repository (`npm run runbook -- ...`), which uses the Node 24 from its devDependencies.',
  );
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli.ts');
process.exit(await main(process.argv.slice(2)));
