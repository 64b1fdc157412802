/** The `http` backend (in progress). */
import type { Logger } from '../../errors.js';
import type { RetryOptions } from '../http.js';
import { BackendError, type FlagBackend, type FlagChange, type FlagState } from './types.js';

export interface HttpApiConfig {
  readPath: string;
}
export class HttpBackend implements FlagBackend {
  readonly name = 'http' as const;
  readonly globalMeaning = 'configurable';
  constructor(
    _o: {
      baseUrl: string;
      token: string;
      environment?: string;
      api?: Partial<HttpApiConfig>;
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
