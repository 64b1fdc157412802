/**
 * An inconclusive gate (no traffic for the canary tenants) stops the rehearsal unless the plan's
 * gate.on-inconclusive says pass or neutral, as the canary-gate step and release.yml do.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { recordingLogger } from '../../src/errors.js';
import { loadPlan } from '../../src/release/index.js';
import { rehearse } from '../../src/release/index.js';
import { freshDatabase } from '../support/postgres.js';

const root = resolve(import.meta.dirname, '../..');
const PLAN = resolve(root, 'examples/paket7/release.yml');
const tmp = mkdtempSync(join(tmpdir(), 'rehearse-inconclusive-'));
const replayFile = join(tmp, 'no-traffic.json');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  // The healthy recording with no requests at all for the canary tenants: inconclusive.
  const rec = JSON.parse(
    readFileSync(resolve(root, 'examples/paket7/gate/recorded/healthy.json'), 'utf8'),
  );
  for (const m of rec.metrics) {
    if (m.name !== 'canary-5xx-rate') continue;
    for (const x of m.measurements) {
      Object.assign(x, { numerator: 0, denominator: 0, value: null });
      x.pooled = { numerator: 0, denominator: 0 };
      delete x.estimate;
      delete x.lower;
      delete x.upper;
    }
  }
  writeFileSync(replayFile, JSON.stringify(rec));
});

async function run(onInconclusive: 'fail' | 'pass' | undefined) {
  const plan = loadPlan(PLAN);
  plan.value.gate['on-inconclusive'] = onInconclusive;
  const db = await freshDatabase(`rehearse_inconclusive_${onInconclusive ?? 'default'}`);
  try {
    return await rehearse(
      {
        plan,
        root,
        databaseUrl: db.url,
        sampleUsers: 0,
        replayFile,
        reportFile: join(tmp, `${onInconclusive}.md`),
      },
      recordingLogger(),
    );
  } finally {
    await db.dispose();
  }
}

test('by default an inconclusive gate stops the release and rolls back', async () => {
  const r = await run(undefined);
  expect(r.outcome).toBe('rolled-back');
  expect(r.failedStep).toBe('traffic 1%: canary gate');
  expect(r.failure).toMatch(/^verdict inconclusive: canary-5xx-rate/);
});

test('with gate.on-inconclusive: pass the release goes on to the approval and promotion', async () => {
  const r = await run('pass');
  expect(r.outcome).toBe('promoted');
  const gates = r.timeline.filter((t) => t.step === 'canary gate');
  expect(gates).toHaveLength(4);
  for (const g of gates) {
    expect(g.status).toBe('success');
    expect(g.detail).toMatch(
      /^verdict inconclusive: .*; going on because gate\.on-inconclusive is pass$/,
    );
  }
  expect(r.timeline.some((t) => t.job === 'approve promotion')).toBe(true);
});
