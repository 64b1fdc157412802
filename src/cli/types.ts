/**
 * The contract between `src/cli.ts` and each area's command module (`src/<area>/cli.ts`).
 */
import type { Logger } from '../errors.js';

/** One top-level `runbook` command, e.g. `runbook migrate apply --dir ...`. */
export interface CliCommand {
  /** The word after `runbook`. */
  name: string;
  /** One line for `runbook --help`. */
  summary: string;
  /** Full usage text for `runbook <name> --help`. */
  usage: string;
  /**
   * Runs the command with the arguments after its name.
   * @returns the process exit code (0 success, 1 failure such as a failed gate, 2 usage error)
   * @throws ConfigError for a user's mistake (printed without a stack, exit code 2)
   */
  run(argv: string[], logger: Logger): Promise<number>;
}
