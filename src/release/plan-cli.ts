/** `runbook plan`: a release plan compiled into the release the workflow and the rehearsal run. */
import { resolve, relative } from 'node:path';
import { parseFlags } from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { compileRelease } from './compile.js';
import { loadPlan, missingPaths } from './load.js';
import { outline } from './outline.js';

const usage = `usage: runbook plan <plan.yml> [--json] [--root <dir>]

Compiles a release plan into the release the reusable workflow (.github/workflows/release.yml)
and 'runbook rehearse' run: the jobs in order, each step with its action, command, inputs and
condition, the job timeouts, and what the rollback would undo.

options:
  --json         print the compiled release as JSON on stdout (nothing else goes there)
  --root <dir>   repository root the plan's paths are relative to (default: .)

exit codes: 0 compiled, 2 usage or plan error (with the plan's file and line)`;

/** The `runbook plan` command. */
export const command: CliCommand = {
  name: 'plan',
  summary: 'compile a release plan and print its jobs and steps (--json for the full release)',
  usage,
  run: async (argv, logger) => {
    const { values, positionals } = parseFlags(
      argv,
      { json: { type: 'boolean', default: false }, root: { type: 'string' } },
      usage,
      true,
    );
    if (positionals.length !== 1) {
      logger.error(`expected one plan file, got ${positionals.length}\n\n${usage}`);
      return 2;
    }
    const root = resolve(values.root ?? '.');
    const loaded = loadPlan(positionals[0], 'plan');
    const missing = missingPaths(loaded, root);
    if (missing.length) throw missing[0];
    const release = compileRelease(loaded, {
      planFile: relative(root, resolve(positionals[0])),
    });
    process.stdout.write(values.json ? JSON.stringify(release, null, 2) + '\n' : outline(release));
    return 0;
  },
};
