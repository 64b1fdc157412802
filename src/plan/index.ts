/** The release plan: schema, loader and helpers shared by the workflows' preflight and the rehearsal. */
export * from './schema.js';
export * from './load.js';
export { releasePlanJsonSchema, SCHEMA_FILE } from './json-schema.js';
