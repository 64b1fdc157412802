/**
 * The backfill engine, one module per command: analyze (analyze.ts), dry-run (dry-run.ts),
 * execute (execute.ts), verify (verify.ts); the checkpoint tables (checkpoint.ts), sessions and
 * run locks (session.ts), health and batch-size control (health.ts), spec checks (lint.ts) and
 * what the commands share (prepare.ts). This module re-exports them.
 */
export * from './prepare.js';
export * from './analyze.js';
export * from './dry-run.js';
export * from './verify.js';
