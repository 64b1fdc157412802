/**
 * Database URLs as libpq reads them (src/db/connect.ts): the whole password, `?password=`,
 * unparseable URLs refused without echoing them, `connect_timeout` and `sslmode` with libpq's
 * meaning (PostgreSQL docs §34.1.1 and §34.19), against the run's real PostgreSQL (no TLS).
 */
import { createServer, type Server } from 'node:net';
import {
  clientConfig,
  connect,
  parseDatabaseUrl,
  urlPasswordCandidates,
} from '../../src/db/connect.js';
import { ConfigError } from '../../src/errors.js';
import { redactSecrets } from '../../src/redact.js';
import { adminUrl } from '../support/postgres.js';

describe('parseDatabaseUrl', () => {
  it('decodes the whole password, also from ?password=', () => {
    expect(parseDatabaseUrl('postgres://app:p%40ss%3Aw%2Frd%25@db:6432/x').password).toBe(
      'p@ss:w/rd%',
    );
    expect(parseDatabaseUrl('postgres://app@db/x?password=s3cr%20et').password).toBe('s3cr et');
    const u = parseDatabaseUrl('postgresql://app:pw-long@db/x?connect_timeout=1&sslmode=require');
    expect(u).toMatchObject({ host: 'db', port: 5432, database: 'x', sslmode: 'require' });
    // libpq: a value of 1 is taken as 2 s; 0 waits forever.
    expect(u.connectTimeoutMs).toBe(2000);
    expect(parseDatabaseUrl('postgres://db/x?connect_timeout=0').connectTimeoutMs).toBe(0);
    expect(parseDatabaseUrl('postgres://db/x').sslmode).toBe('prefer');
  });

  it.each([
    ['postgres://app:p@ss:w/rd%25@db:5432/x', 'p@ss:w/rd%25'],
    ['postgres://app:se cr#et@db/x', 'se cr#et'],
    ['mysql://app:topsecret-pw@db/x', 'topsecret-pw'],
    ['postgres://app:topsecret-pw@db/x?sslmode=maybe', 'topsecret-pw'],
    ['postgres://app:topsecret-pw@db:99999/x', 'topsecret-pw'],
    ['not a url topsecret-pw', 'topsecret-pw'],
  ])('refuses %s without echoing it', (url, secret) => {
    let err: unknown;
    try {
      parseDatabaseUrl(url, 'database-url');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/database-url/);
    expect(msg).not.toContain(secret);
    for (const part of secret.split(/[@/:# ]/).filter((p) => p.length >= 3)) {
      expect(msg).not.toContain(part);
    }
  });

  it('offers every spelling of the password for masking, up to the last @', () => {
    expect(urlPasswordCandidates('postgres://app:p@ss:w/rd%25@db:5432/x')).toContain(
      'p@ss:w/rd%25',
    );
    expect(urlPasswordCandidates('postgres://app:s3cr%40t@db/x')).toEqual(
      expect.arrayContaining(['s3cr@t', 's3cr%40t']),
    );
    expect(urlPasswordCandidates('postgres://app@db/x?password=a%2Bb+c&sslmode=disable')).toEqual(
      expect.arrayContaining(['a%2Bb+c', 'a+b c']),
    );
  });
});

describe('short secrets', () => {
  it('are not replaced, so common letters survive; long ones are', () => {
    expect(redactSecrets('a database at db', ['a', 'db'])).toBe('a database at db');
    expect(redactSecrets('token abcd!', ['abcd'])).toBe('token ***!');
  });
});

describe('sslmode and connect_timeout against a server without TLS', () => {
  const base = new URL(adminUrl());
  const withMode = (mode?: string, extra = '') => {
    const u = new URL(base);
    if (mode) u.searchParams.set('sslmode', mode);
    return u.toString() + extra;
  };

  it.each(['prefer', 'allow', 'disable', undefined])(
    'sslmode=%s connects (prefer falls back to plain)',
    async (mode) => {
      const c = await connect(withMode(mode));
      const r = await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(r.rows[0].ssl).toBe(false);
      await c.end();
    },
  );

  it.each(['require', 'verify-ca', 'verify-full'])('sslmode=%s refuses plain', async (mode) => {
    await expect(connect(withMode(mode))).rejects.toThrow(/cannot connect.*(SSL|TLS)/i);
  });

  it('maps each mode to its first attempt', () => {
    expect(clientConfig(withMode('disable')).ssl).toBe(false);
    expect(clientConfig(withMode('require')).ssl).toEqual({ rejectUnauthorized: false });
    expect(clientConfig(withMode('verify-full')).ssl).toEqual({ rejectUnauthorized: true });
    const ca = clientConfig(withMode('verify-ca')).ssl as { checkServerIdentity?: unknown };
    expect(typeof ca.checkServerIdentity).toBe('function');
  });

  describe('against a server that accepts and never answers', () => {
    let server: Server;
    let port: number;
    const sockets: import('node:net').Socket[] = [];
    beforeAll(async () => {
      server = createServer((s) => sockets.push(s));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });

    it('gives up after the URL connect_timeout, naming host and port, not the password', async () => {
      const started = Date.now();
      const err = await connect(
        `postgres://app:hung-secret-pw@127.0.0.1:${port}/x?connect_timeout=2&sslmode=disable`,
        { connectTimeoutMs: 60_000 },
      ).catch((e: Error) => e);
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
      expect((err as Error).message).toMatch(/timeout/i);
      expect((err as Error).message).not.toContain('hung-secret-pw');
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(15_000);
    });
  });
});
