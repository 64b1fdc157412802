/**
 * One API request as the engine makes it: retried when retriable (see {@link withRetries}) and
 * its failure translated by {@link call}.
 */
import type { Logger } from '../errors.js';
import { call } from './client.js';
import { withRetries } from './transport.js';

/**
 * Runs an idempotent request (a read, a server-side apply, a patch guarded by a
 * `resourceVersion`) with retries, then translates a remaining failure as {@link call} does.
 * @param what the object, for messages, e.g. `deployment 'api' in namespace 'prod'`
 * @param input the action input a 404 or 4xx is blamed on
 * @throws ConfigError for 4xx answers (see {@link call}); the last error otherwise
 */
export function idempotent<T>(
  what: string,
  input: string | undefined,
  fn: () => Promise<T>,
  logger?: Logger,
): Promise<T> {
  return call(what, input, () => withRetries({ idempotent: true, what, logger }, fn));
}
