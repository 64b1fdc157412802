/**
 * The `rollout` engine: Kubernetes Deployments, nginx ingress canary weights, server-side apply
 * and Jobs, on the official `@kubernetes/client-node` client. Every function takes one options
 * object (cluster connection, timing in milliseconds, an injectable sleep) and a {@link Logger},
 * and returns a plain result object.
 */
export * from './client.js';
export * from './rollout.js';
export * from './canary.js';
export * from './apply.js';
export * from './job.js';
export * from './summary.js';
export * from './commands.js';
