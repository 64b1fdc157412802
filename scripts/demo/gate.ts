/**
 * Demo step "gate": replays two recorded Paket 7 canaries against the Prometheus exit criteria
 * (examples/paket7/gate/prometheus.yml): a healthy canary (pass) and a 5xx regression (fail,
 * with the time of failure). Throws when either verdict is not the expected one.
 */
import { join } from 'node:path';
import { runGate } from '../../src/gate/index.js';
import { fmt } from '../../src/gate/evaluation.js';
import type { DemoStep } from './context.js';

export const demo: DemoStep = async ({ root, logger }) => {
  const criteria = join(root, 'examples/paket7/gate/prometheus.yml');
  for (const [recording, expected] of [
    ['healthy', 'pass'],
    ['regression', 'fail'],
  ] as const) {
    const result = await logger.group(`replay ${recording} canary`, () =>
      runGate(
        {
          criteria,
          mode: 'replay',
          replayFile: join(root, `examples/paket7/gate/recorded/${recording}.json`),
        },
        { ...logger, info: () => {}, debug: () => {} },
      ),
    );
    const rate = result.metrics.find((m) => m.name === 'canary-5xx-rate')!;
    const last = rate.measurements[rate.measurements.length - 1];
    logger.info(
      `${recording}: verdict ${result.verdict}${result.failedAt ? ` at ${result.failedAt}` : ''} — ${result.reason}`,
    );
    logger.info(
      `  canary-5xx-rate: ${rate.measurements.length} measurements, pooled ${fmt(last.pooled?.numerator)}/${fmt(last.pooled?.denominator)} = ${fmt(last.estimate)} (99% bounds ${fmt(last.lower)}..${fmt(last.upper)})`,
    );
    if (result.verdict !== expected) {
      throw new Error(
        `gate demo: the ${recording} canary should ${expected}, got ${result.verdict}: ${result.reason}`,
      );
    }
  }
};
