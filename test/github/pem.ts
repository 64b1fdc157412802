/**
 * A throwaway self-signed CA certificate (PEM) made with `openssl` for the `ca-cert` input tests.
 * The test PostgreSQL runs without TLS, so a connection told to verify with this CA fails with
 * "The server does not support SSL connections" — proof that the certificate reached the client.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM text of a new self-signed CA certificate (P-256 key, valid one day). */
export function makeCaPem(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-ca-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=runbook ca-cert test CA',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    return readFileSync(join(dir, 'ca.crt'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a client that requires TLS reports when the server has TLS off (or, with TLS on, refuses the CA). */
export const TLS_REFUSED = /does not support SSL|certificate/i;
