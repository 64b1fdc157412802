/** `runbook smoke`: placeholder until the smoke engine lands. */
import type { CliCommand } from '../cli/types.js';

export const command: CliCommand = {
  name: 'smoke',
  summary: '(smoke: not yet available)',
  usage: 'runbook smoke',
  run: async (_argv, logger) => {
    logger.error('runbook smoke is not available yet');
    return 2;
  },
};
