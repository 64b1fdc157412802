/**
 * `runbook rollout` configuration errors end with exit 2 and a message naming the fix, not a
 * stack trace: no kubeconfig anywhere, and an API server nobody answers at.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function run(args: string[], env: Record<string, string | undefined>) {
  const { main } = await import('../../src/cli.js');
  const err: string[] = [];
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const error = jest
    .spyOn(console, 'error')
    .mockImplementation((m: unknown) => void err.push(String(m)));
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    return { code: await main(args), stderr: err.join('\n') };
  } finally {
    error.mockRestore();
    warn.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('runbook rollout configuration errors', () => {
  it('without any kubeconfig: exit 2 naming where it looked and what to pass', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nohome-'));
    const r = await run(['rollout', 'wait', '--deployment', 'api', '--timeout', '5s'], {
      HOME: home,
      KUBECONFIG: undefined,
      KUBERNETES_SERVICE_HOST: undefined,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no kubeconfig found .*pass --kubeconfig FILE, set \$KUBECONFIG/);
    expect(r.stderr).not.toMatch(/skipTLSVerify|\n\s+at /);
  });

  it('with an API server that refuses connections: exit 2 saying it cannot be reached', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const file = join(dir, 'config');
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t0ken-never-printed}}]
current-context: c
`,
    );
    const r = await run(
      ['rollout', 'wait', '--deployment', 'api', '--timeout', '5s', '--kubeconfig', file],
      {},
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot reach the Kubernetes API server \(ECONNREFUSED\)/);
    expect(r.stderr).not.toContain('t0ken-never-printed');
  });
});
