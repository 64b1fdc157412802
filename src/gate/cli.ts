/** `runbook gate`: placeholder until the gate engine lands. */
import type { CliCommand } from '../cli/types.js';

export const command: CliCommand = {
  name: 'gate',
  summary: '(gate: not yet available)',
  usage: 'runbook gate',
  run: async (_argv, logger) => {
    logger.error('runbook gate is not available yet');
    return 2;
  },
};
