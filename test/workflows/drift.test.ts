/**
 * The drift test: release.yml must run the compiled release of every example plan. For each
 * compiled job and step, the workflow job holds a step with the same id, in the same order, using
 * the same action and command, with every compiled input read from preflight's output (or the
 * traffic/backfill leg), every secret input from that secret, and the compiled condition.
 */
import { resolve } from 'node:path';
import { compileRelease, loadPlan } from '../../src/release/index.js';
import { drift, examplePlans } from './drift.js';
import { readWorkflow, root } from './workflows.js';

describe('release.yml runs the compiled release', () => {
  const { wf } = readWorkflow('release.yml');

  test.each(examplePlans)('%s: every compiled step, in order, with its inputs', (plan) => {
    const release = compileRelease(loadPlan(resolve(root, plan)));
    expect(drift(wf, release)).toEqual([]);
  });

  test('a step deleted from release.yml is found', () => {
    const release = compileRelease(loadPlan(resolve(root, examplePlans[0])));
    const broken = structuredClone(wf);
    broken.jobs['deploy-canary'].steps = broken.jobs['deploy-canary'].steps!.filter(
      (s) => s.id !== 'wait',
    );
    expect(drift(broken, release)).toEqual([
      "deploy-canary: compiled step 'wait' (wait until videokit-api-canary is ready) is missing from the job",
    ]);
  });

  test('steps out of order, another input, another condition are found', () => {
    const release = compileRelease(loadPlan(resolve(root, examplePlans[0])));
    const broken = structuredClone(wf);
    const t = broken.jobs.traffic.steps!;
    const gate = t.findIndex((s) => s.id === 'gate');
    const smoke = t.findIndex((s) => s.id === 'smoke');
    [t[gate], t[smoke]] = [t[smoke], t[gate]];
    broken.jobs.migrate.steps!.find((s) => s.id === 'apply')!.with!.dir = 'migrations';
    broken.jobs.rollback.steps!.find((s) => s.id === 'undo')!.if = 'failure()';
    const p = drift(broken, release);
    expect(p).toContainEqual(
      expect.stringMatching(/^traffic: step '(gate|smoke)' is out of order/),
    );
    expect(p).toContainEqual(expect.stringMatching(/^migrate\.apply: input dir is 'migrations'/));
    expect(p).toContainEqual(expect.stringMatching(/^rollback\.undo: if 'failure\(\)'/));
  });
});
