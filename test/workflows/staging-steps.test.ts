/**
 * staging.yml as a caller meets it: the plan-reading step run for real (bash, jq, the fake yq of
 * test/workflows/fake-yq.mjs), and the concurrency and environment that the `isolation` input
 * chooses, evaluated as GitHub evaluates `a && b || c`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readWorkflow, root } from './workflows.js';

const { wf } = readWorkflow('staging.yml');
const tmp = mkdtempSync(join(tmpdir(), 'wf-staging-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function readPlan(env: Record<string, string>) {
  const bin = join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'yq'),
    `#!/bin/sh\nexec node ${resolve(import.meta.dirname, 'fake-yq.mjs')} "$@"\n`,
  );
  chmodSync(join(bin, 'yq'), 0o755);
  const step = wf.jobs.staging.steps!.find((s) => s.name === 'Read the plan')!;
  const output = join(mkdtempSync(join(tmp, 'out-')), 'output');
  writeFileSync(output, '');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
    cwd: root,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      GITHUB_OUTPUT: output,
      PLAN: 'examples/paket7/release.yml',
      ...env,
    },
    encoding: 'utf8',
  });
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { code: r.status, stdout: r.stdout, outputs };
}

/** GitHub's `cond && a || b` for the isolation input (`a` is never falsy here). */
const pick = (isolation: string, perPr: string, shared: string) =>
  isolation === 'per-pull-request' ? perPr : shared;

describe('staging.yml', () => {
  it("deploys the caller's build when `images` is given, else the plan's images", () => {
    const own = readPlan({ IMAGES: 'app=ghcr.io/acme/app@sha256:abc' });
    expect(own.code).toBe(0);
    expect(own.outputs.images).toBe('app=ghcr.io/acme/app@sha256:abc');
    const plan = readPlan({ IMAGES: '' });
    expect(plan.code).toBe(0);
    expect(plan.outputs.images).toMatch(/=/);
    expect(plan.outputs.images).not.toBe(own.outputs.images);
  });

  it('refuses an images input holding a line break (it would inject step outputs)', () => {
    const r = readPlan({ IMAGES: 'app=x\nplan={}' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::input 'images' holds a line break/);
    expect(r.outputs).toEqual({});
  });

  it('shares one concurrency group (no cancel) for the shared environment, one per pull request otherwise', () => {
    const group = String(wf.concurrency?.group);
    const cancel = String(wf.concurrency?.['cancel-in-progress']);
    expect(group).toContain("inputs.isolation == 'per-pull-request'");
    expect(group).toContain("format('pr-{0}', github.event.pull_request.number) || 'shared'");
    expect(cancel).toBe("${{ inputs.isolation == 'per-pull-request' }}");
    const environment = wf.jobs.staging.environment;
    const env = typeof environment === 'string' ? environment : String(environment?.name);
    expect(env).toContain(
      "format('staging-pr-{0}', github.event.pull_request.number) || 'staging'",
    );
    expect(pick('shared', 'pr-7', 'shared')).toBe('shared');
    expect(pick('', 'pr-7', 'shared')).toBe('shared');
    expect(wf.on.workflow_call.inputs.isolation.default).toBe('shared');
  });
});
