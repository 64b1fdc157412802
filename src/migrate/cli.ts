/** `runbook migrate`: placeholder until the migrate engine lands. */
import type { CliCommand } from '../cli/types.js';

export const command: CliCommand = {
  name: 'migrate',
  summary: '(migrate: not yet available)',
  usage: 'runbook migrate',
  run: async (_argv, logger) => {
    logger.error('runbook migrate is not available yet');
    return 2;
  },
};
