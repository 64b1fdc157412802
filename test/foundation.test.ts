import { parseYaml, parseDuration } from '../src/config/load.js';
import { redactUrl, clientConfig, connect } from '../src/db/connect.js';
import { ConfigError } from '../src/errors.js';
import { acquireAdvisoryLock, LockTimeoutError } from '../src/db/lock.js';
import { freshDatabase, type TestDatabase } from './support/postgres.js';
import { z } from 'zod';

describe('loadYaml', () => {
  const schema = z.object({ name: z.string(), steps: z.array(z.object({ weight: z.number() })) });

  it('reports a schema error at the line of the offending value', () => {
    const text = 'name: p7\nsteps:\n  - weight: 1\n  - weight: five\n';
    expect(() => parseYaml(text, 'plan.yml', schema)).toThrow(ConfigError);
    try {
      parseYaml(text, 'plan.yml', schema);
    } catch (e) {
      expect((e as ConfigError).location).toEqual({ file: 'plan.yml', line: 4 });
      expect((e as Error).message).toMatch(/^plan\.yml:4: steps\.1\.weight/);
    }
  });

  it('reports invalid YAML with its line', () => {
    try {
      parseYaml('name: p7\nsteps: [\n', 'bad.yml', schema);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).location?.file).toBe('bad.yml');
      expect((e as ConfigError).location?.line).toBeGreaterThanOrEqual(2);
    }
  });

  it('parses durations to milliseconds', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('45')).toBe(45_000);
    expect(() => parseDuration('5 minutes')).toThrow(ConfigError);
  });
});

describe('connection URLs', () => {
  it('redacts passwords in URLs and conninfo strings', () => {
    expect(redactUrl('postgres://app:s3cr%40t@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('host=db password=hunter2 user=x')).toBe('host=db password=*** user=x');
  });

  it('rejects a non-postgres URL without echoing the password', () => {
    expect(() => clientConfig('mysql://u:topsecret@h/db')).toThrow(/postgres:\/\//);
    expect(() => clientConfig('mysql://u:topsecret@h/db')).not.toThrow(/topsecret/);
  });

  it('names host and port, never the password, when the server is unreachable', async () => {
    await expect(
      connect('postgres://u:topsecret@127.0.0.1:1/db', { connectTimeoutMs: 2000 }),
    ).rejects.toThrow(/127\.0\.0\.1:1/);
    await expect(
      connect('postgres://u:topsecret@127.0.0.1:1/db', { connectTimeoutMs: 2000 }),
    ).rejects.not.toThrow(/topsecret/);
  });
});

describe('advisory locks', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await freshDatabase('lock')));
  afterAll(async () => db.dispose());

  it('names the holder when the wait runs out', async () => {
    const a = await connect(db.url, { applicationName: 'holder-app' });
    const b = await connect(db.url);
    const release = await acquireAdvisoryLock(a, 'runbook:test', 1000);
    const err = await acquireAdvisoryLock(b, 'runbook:test', 300).catch((e) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err.message).toMatch(/application_name 'holder-app'/);
    await release();
    const release2 = await acquireAdvisoryLock(b, 'runbook:test', 300);
    await release2();
    await a.end();
    await b.end();
  });
});
