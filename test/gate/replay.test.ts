/** Replay of the recorded Paket 7 canaries (examples/paket7/gate/recorded) and the job summary. */
import { recordingLogger, silentLogger } from '../../src/errors.js';
import { loadCriteria, renderSummary, runGate } from '../../src/gate/index.js';

const criteriaFile = 'examples/paket7/gate/prometheus.yml';
const recorded = (name: string) => `examples/paket7/gate/recorded/${name}.json`;

test('the recorded healthy canary passes and the regression fails at 19:16 UTC', async () => {
  const healthy = await runGate(
    { criteria: criteriaFile, mode: 'replay', replayFile: recorded('healthy') },
    silentLogger,
  );
  expect(healthy.verdict).toBe('pass');
  expect(healthy.window).toEqual({
    start: '2024-06-03T19:06:00.000Z',
    end: '2024-06-03T19:35:00.000Z',
  });
  const regression = await runGate(
    { criteria: criteriaFile, mode: 'replay', replayFile: recorded('regression') },
    silentLogger,
  );
  expect(regression.verdict).toBe('fail');
  // The 5xx regression starts at 19:13; the trailing-window test fails it at its second minute.
  expect(regression.failedAt).toBe('2024-06-03T19:14:00.000Z');
  // The dry-run metric saw failures too, but is reported only.
  const dry = regression.metrics.find((m) => m.name === '5xx-rate-vs-stable')!;
  expect(dry.dryRun).toBe(true);
  expect(dry.failed).toBeGreaterThan(0);
  expect(regression.reason).toMatch(/^canary-5xx-rate failed the sequential rate test/);
  // slow-requests was added to the criteria after the recording: reported, not judged.
  expect(regression.metrics.find((m) => m.name === 'slow-requests')!.dryRun).toBe(true);
});

test('re-judging a recording with tuned criteria: lookback: all pools from the start and fails later', async () => {
  const c = loadCriteria(criteriaFile);
  c.metrics[0].lookbackIntervals = undefined;
  const r = await runGate(
    { criteria: c, mode: 'replay', replayFile: recorded('regression') },
    silentLogger,
  );
  expect(r.verdict).toBe('fail');
  expect(Date.parse(r.failedAt!)).toBeGreaterThan(Date.parse('2024-06-03T19:14:00.000Z'));
});

test('a changed query replays the recorded values with a warning', async () => {
  const log = recordingLogger();
  const r = await runGate(
    {
      criteria: criteriaFile,
      variables: { service: 'other-api' },
      mode: 'replay',
      replayFile: recorded('healthy'),
    },
    log,
  );
  expect(r.verdict).toBe('pass');
  expect(
    log.lines.some((l) =>
      /warning: replay: the numerator query of 'canary-5xx-rate' differs/.test(l),
    ),
  ).toBe(true);
});

test('replay without a file is a ConfigError naming replay-file', async () => {
  await expect(runGate({ criteria: criteriaFile, mode: 'replay' }, silentLogger)).rejects.toThrow(
    /input 'replay-file': is required/,
  );
  await expect(
    runGate({ criteria: criteriaFile, mode: 'replay', replayFile: criteriaFile }, silentLogger),
  ).rejects.toThrow(/input 'replay-file'.*cannot read measurements/);
});

test('the job summary has a table row per metric and an xychart of value against threshold', async () => {
  const r = await runGate(
    { criteria: criteriaFile, mode: 'replay', replayFile: recorded('regression') },
    silentLogger,
  );
  const md = renderSummary(r);
  expect(md).toContain('## Canary gate: ❌ fail');
  expect(md).toContain('**failed at 2024-06-03T19:14:00.000Z**');
  expect(md).toMatch(
    /\| canary-5xx-rate \| replay \| `< 1%` \(ratio\) \| 6\.045% \| 1% \| 73\/5271 \| 8 \| 1 \| 0 \| 0 \| failed \|/,
  );
  expect(md).toContain('- slow-requests: 9 of 9: the denominator query returned no value (×9)');
  expect(md).toContain('| 5xx-rate-vs-stable (dry-run) |');
  const charts = md.match(/```mermaid\nxychart-beta[\s\S]*?```/g)!;
  expect(charts).toHaveLength(4);
  expect(charts[0]).toContain('title "canary-5xx-rate < 1%"');
  expect(charts[0]).toContain('x-axis ["19:06", "19:07"');
  // Ratios are drawn in percent: the interval rate, the judged lower bound, the 1% threshold.
  expect(charts[0]).toContain('y-axis "%"');
  expect(charts[0]).toMatch(
    /line \[0\.686106, 0, [^\]]+\]\n\s+line \[0\.00\d*,[^\]]+\]\n\s+line \[1, 1,/,
  );
  expect(md).toContain(
    '**canary-5xx-rate** `< 1%` in %, UTC; lines in order: value, pooled lower bound, threshold.',
  );
});

test('runbook gate: exit code 0 on pass, 1 on fail, with the summary printed', async () => {
  const { command } = await import('../../src/gate/cli.js');
  const log = recordingLogger();
  const args = (name: string) => [
    '--criteria',
    criteriaFile,
    '--mode',
    'replay',
    '--replay-file',
    recorded(name),
  ];
  expect(await command.run(args('healthy'), log)).toBe(0);
  expect(await command.run(args('regression'), log)).toBe(1);
  expect(log.lines.join('\n')).toContain('## Canary gate: ❌ fail');
  await expect(command.run(['--mode', 'replay'], log)).rejects.toThrow(/--criteria/);
});
