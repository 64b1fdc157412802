/** `runbook rollout`: placeholder until the k8s engine lands. */
import type { CliCommand } from '../cli/types.js';

export const command: CliCommand = {
  name: 'rollout',
  summary: '(rollout: not yet available)',
  usage: 'runbook rollout',
  run: async (_argv, logger) => {
    logger.error('runbook rollout is not available yet');
    return 2;
  },
};
