/** What every demo step receives from `scripts/demo.ts`. */
import type { Logger } from '../../src/errors.js';

export interface DemoContext {
  /** Superuser URL of the embedded PostgreSQL database `postgres` (the application's database). */
  databaseUrl: string;
  /** Repository root (absolute path). */
  root: string;
  logger: Logger;
}

/** One step of the demo; returns normally on success and throws on failure. */
export type DemoStep = (ctx: DemoContext) => Promise<void>;
