/**
 * A REAL Unleash server for the flags tests (npm `unleash-server`, run as a child process by
 * `flags-unleash-server.mjs` on a fresh database of the run's PostgreSQL), plus a small
 * fault-injecting reverse proxy in front of it.
 *
 * The proxy is not a fake of Unleash: it forwards every request to the real server unchanged,
 * except when a test asks it to answer the next requests with a status (409, 429 with
 * `Retry-After`, 5xx) or to acknowledge writes without forwarding them (a server that silently
 * ignores a write) — faults the real server cannot be made to produce on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { freshDatabase, type TestDatabase } from './postgres.js';

export interface UnleashServer {
  /** Base URL of the real server. */
  url: string;
  /** An admin API token created at startup (`authentication.initApiTokens`). */
  token: string;
  stop(): Promise<void>;
}

/**
 * Starts unleash-server on a fresh database; resolves when it listens (about 10 s: it runs its
 * migrations first). @param timeoutMs - give up after this many milliseconds
 */
export async function startUnleash(timeoutMs = 90_000): Promise<UnleashServer> {
  const db: TestDatabase = await freshDatabase('unleash');
  const token = `*:*.${randomBytes(16).toString('hex')}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [resolve(import.meta.dirname, 'flags-unleash-server.mjs')],
    {
      cwd: resolve(import.meta.dirname, '../..'),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        UNLEASH_TEST_DATABASE_URL: db.url,
        UNLEASH_TEST_PORT: '0',
        UNLEASH_TEST_ADMIN_TOKEN: token,
        NODE_OPTIONS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`unleash-server did not start in ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (d) => {
      const m = /READY (\d+)/.exec(String(d));
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`unleash-server exited with ${code}: ${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    stop: async () => {
      child.removeAllListeners('exit');
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await db.dispose();
    },
  };
}

export interface FaultProxy {
  url: string;
  /** The next `times` requests (only non-GET ones when `writesOnly`) get `status`. */
  failNext(
    status: number,
    times?: number,
    headers?: Record<string, string>,
    writesOnly?: boolean,
  ): void;
  /** Non-GET requests are answered 200 `{}` and not forwarded. */
  ignoreWrites: boolean;
  /** `METHOD path` of every request forwarded. */
  forwarded: string[];
  close(): Promise<void>;
}

/** Starts a reverse proxy to `target` on 127.0.0.1. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const faults: { status: number; headers: Record<string, string>; writesOnly: boolean }[] = [];
  const proxy = { forwarded: [] as string[], ignoreWrites: false } as FaultProxy;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const write = req.method !== 'GET';
    const fault = faults[0] && (!faults[0].writesOnly || write) ? faults.shift() : undefined;
    if (fault) {
      res.writeHead(fault.status, { 'Content-Type': 'application/json', ...fault.headers });
      return res.end(
        JSON.stringify({ name: 'InjectedError', message: `injected ${fault.status}` }),
      );
    }
    if (write && proxy.ignoreWrites) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('{}');
    }
    proxy.forwarded.push(`${req.method} ${req.url}`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
    const up = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await up.arrayBuffer());
    res.writeHead(up.status, {
      'Content-Type': up.headers.get('content-type') ?? 'application/json',
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(proxy, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failNext(status: number, times = 1, headers: Record<string, string> = {}, writesOnly = false) {
      for (let i = 0; i < times; i++) faults.push({ status, headers, writesOnly });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
  return proxy;
}
