/** `runbook backfill`: placeholder until the backfill engine lands. */
import type { CliCommand } from '../cli/types.js';

export const command: CliCommand = {
  name: 'backfill',
  summary: '(backfill: not yet available)',
  usage: 'runbook backfill',
  run: async (_argv, logger) => {
    logger.error('runbook backfill is not available yet');
    return 2;
  },
};
