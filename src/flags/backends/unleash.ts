/** The `unleash` backend (in progress). */
import type { Logger } from '../../errors.js';
import type { RetryOptions } from '../http.js';
import { BackendError, type FlagBackend, type FlagChange, type FlagState } from './types.js';

export class UnleashBackend implements FlagBackend {
  readonly name = 'unleash' as const;
  readonly globalMeaning = 'in progress';
  constructor(
    _o: {
      baseUrl: string;
      token: string;
      environment: string;
      project: string;
      retry?: RetryOptions;
    },
    _l: Logger,
  ) {}
  async read(_f: string): Promise<FlagState> {
    throw new BackendError('not available');
  }
  async write(_c: FlagChange): Promise<void> {}
  async close(): Promise<void> {}
}
