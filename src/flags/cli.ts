/** `runbook flag`: placeholder until the flags engine lands. */
import type { CliCommand } from '../cli/types.js';

export const command: CliCommand = {
  name: 'flag',
  summary: '(flag: not yet available)',
  usage: 'runbook flag',
  run: async (_argv, logger) => {
    logger.error('runbook flag is not available yet');
    return 2;
  },
};
