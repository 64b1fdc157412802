import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, recordingLogger } from '../../src/errors.js';
import { freePort } from '../../src/db/embedded.js';
import {
  firstDifference,
  jsonAt,
  runSmokeChecks,
  smokeResults,
  smokeSummary,
} from '../../src/smoke/index.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import {
  startSmokeService,
  type SmokeService,
  type SmokeServiceOptions,
} from '../support/smoke-service.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/paket7/smoke.yml');
const TOKEN = 'tok_live_5f3b9c0e7a1d42e8';
const LONG_SECRET = `lng_${'7Qm2'.repeat(40)}`;
const dir = mkdtempSync(join(tmpdir(), 'smoke-engine-'));
let n = 0;

function checksFile(text: string): string {
  const file = join(dir, `checks-${++n}.yml`);
  writeFileSync(file, text);
  return file;
}

describe('smoke checks against the seed service', () => {
  let db: TestDatabase;
  const services: SmokeService[] = [];
  const start = async (o: SmokeServiceOptions = {}) => {
    const s = await startSmokeService({ token: TOKEN, databaseUrl: db.url, ...o });
    services.push(s);
    return s;
  };
  beforeAll(async () => (db = await freshDatabase('smoke')));
  afterAll(async () => {
    for (const s of services) await s.close();
    await db.dispose();
  });

  it('passes every Paket 7 check against a healthy deploy, one purchase row per key', async () => {
    const svc = await start();
    const logger = recordingLogger();
    const run = await runSmokeChecks(
      {
        file: EXAMPLE,
        variables: { base_url: svc.url, env: 'staging' },
        secrets: { API_TOKEN: TOKEN },
        databaseUrl: db.url,
      },
      logger,
    );
    expect(run.results.filter((r) => !r.ok)).toEqual([]);
    expect(run.passed).toBe(10);
    expect(run.failed).toBe(0);
    const byName = Object.fromEntries(run.results.map((r) => [r.name, r]));
    expect(byName['quota denies over-quota tenant tn-4582'].status).toBe(429);
    expect(byName['create job returns a request id'].status).toBe(200);
    expect(byName['credit purchase is idempotent']).toMatchObject({
      status: 201,
      attempts: 2,
      kind: 'idempotency',
    });
    // The purchase was sent twice but written once.
    const purchaseRoutes = svc.requests.filter((r) => r === 'POST /api/purchases');
    expect(purchaseRoutes).toHaveLength(2);
    const rows = await withClient(db.url, (c) =>
      c.query('SELECT count(*)::int AS n FROM purchase'),
    );
    expect(rows.rows[0].n).toBe(1);
    // Each check points at its own line of the YAML file.
    expect(byName.health.location).toEqual({ file: EXAMPLE, line: 20 });
    expect(logger.lines.join('\n')).not.toContain(TOKEN);
  });

  it('catches a purchase endpoint that charges twice: different body and two rows', async () => {
    const svc = await start({ idempotent: false });
    const run = await runSmokeChecks(
      {
        file: EXAMPLE,
        variables: { base_url: svc.url },
        secrets: { API_TOKEN: TOKEN },
        databaseUrl: db.url,
        only: ['credit purchase is idempotent', 'usage reconciliation does not charge twice'],
      },
      recordingLogger(),
    );
    expect(run.results.map((r) => r.ok)).toEqual([false, false]);
    const purchase = run.results[0];
    expect(purchase.error).toMatch(
      /retry with the same key returned a different body \(id: "pur_[\w-]+" vs "pur_[\w-]+"\)/,
    );
    expect(purchase.error).toMatch(
      /replay header Idempotent-Replayed: expected equal to 'true', got \(absent\)/,
    );
    expect(purchase.error).toMatch(/sql: expected 1 row, got 2/);
    expect(run.results[1].error).toMatch(/sql: expected 1 row, got 2/);
    expect(run.annotations).toHaveLength(2);
    expect(run.annotations[0]).toMatchObject({
      level: 'error',
      location: { file: EXAMPLE, line: 73 },
    });
    expect(smokeSummary(run)).toContain('**2 of 2 checks failed**');
    expect(smokeResults(run)).toEqual(
      run.results.map((r) => ({
        name: r.name,
        status: r.status,
        latencyMs: r.latencyMs,
        ok: false,
        error: r.error,
      })),
    );
    expect(smokeResults(run)[0]).not.toHaveProperty('url');
  });

  it('reports status, missing header and JSON mismatches of a broken deploy', async () => {
    const svc = await start({ omitRequestId: true, overQuota: ['tn-9014'] });
    const run = await runSmokeChecks(
      {
        file: EXAMPLE,
        variables: { base_url: svc.url },
        secrets: { API_TOKEN: TOKEN },
        databaseUrl: db.url,
        only: ['quota denies over-quota tenant tn-4582', 'create job returns a request id'],
      },
      recordingLogger(),
    );
    const [quota, jobs] = run.results;
    expect(quota).toMatchObject({ ok: false, status: 200 });
    expect(quota.error).toMatch(/status: expected 429, got 200/);
    expect(quota.error).toMatch(/header Retry-After: expected present, got \(absent\)/);
    expect(quota.error).toMatch(/json error: expected "quota_exceeded", got \(missing\)/);
    expect(jobs.error).toBe('header X-Request-ID: expected present, got (absent)');
  });

  it('retries with backoff until a warming-up service is ready, and fails when attempts run out', async () => {
    const svc = await start({ warmupRequests: 2 });
    const file = checksFile(`
checks:
  - name: readyz
    url: '{{base_url}}/readyz'
    expect: { status: 200, body: ok }
    retries: { attempts: 3, backoff-ms: 5 }
  - name: readyz once
    url: '{{base_url}}/readyz'
    expect: { status: 503 }
`);
    const logger = recordingLogger();
    const run = await runSmokeChecks({ file, variables: { base_url: svc.url } }, logger);
    expect(run.results[0]).toMatchObject({ ok: true, attempts: 3, status: 200 });
    expect(
      logger.lines.filter((l) => /attempt \d\/3 failed \(status: expected 200, got 503/.test(l)),
    ).toHaveLength(2);
    expect(logger.lines.some((l) => l.includes('retrying in 10 ms'))).toBe(true);
    expect(run.results[1]).toMatchObject({ ok: false, attempts: 1, status: 200 });

    const svc2 = await start({ warmupRequests: 5 });
    const run2 = await runSmokeChecks(
      { file, variables: { base_url: svc2.url }, only: ['readyz'] },
      recordingLogger(),
    );
    expect(run2.results[0]).toMatchObject({ ok: false, attempts: 3, status: 503 });
    expect(svc2.requests.filter((r) => r === 'GET /readyz')).toHaveLength(3);
  });

  it('does not repeat a POST the server answered: warm-up retries only for idempotent requests', async () => {
    const svc = await start({ omitRequestId: true, warmupRequests: 1 });
    const file = checksFile(`
defaults:
  headers: { Authorization: 'Bearer {{secrets.API_TOKEN}}' }
checks:
  - name: job accepted
    method: POST
    url: '{{base_url}}/v1/jobs'
    body: { kind: smoke }
    expect: { status: 200, headers: { X-Request-ID: present } }
    retries: { attempts: 3, backoff-ms: 1 }
  - name: purchase with a key
    method: POST
    url: '{{base_url}}/api/purchases'
    headers: { Idempotency-Key: 'smoke-{{run_id}}' }
    body: { packageCode: starter }
    expect: { status: 200 }
    retries: { attempts: 2, backoff-ms: 1 }
  - name: readyz
    url: '{{base_url}}/readyz'
    expect: { status: 200 }
    retries: { attempts: 2, backoff-ms: 1 }
`);
    const logger = recordingLogger();
    const run = await runSmokeChecks(
      {
        file,
        variables: { base_url: svc.url, run_id: String(Date.now()) },
        secrets: { API_TOKEN: TOKEN },
      },
      logger,
    );
    const [job, purchase, readyz] = run.results;
    expect(job).toMatchObject({ ok: false, attempts: 1, status: 200 });
    expect(svc.requests.filter((r) => r === 'POST /v1/jobs')).toHaveLength(1);
    expect(
      logger.lines.some((l) => /job accepted: .*not retried: POST is not idempotent/.test(l)),
    ).toBe(true);
    expect(purchase).toMatchObject({ ok: false, attempts: 2, status: 201 });
    expect(svc.requests.filter((r) => r === 'POST /api/purchases')).toHaveLength(2);
    expect(readyz).toMatchObject({ ok: true, attempts: 2 });
  });

  it('retries a POST while the service refuses connections or answers 503', async () => {
    const svc = await start();
    const closedPort = await freePort();
    const file = checksFile(`
defaults:
  headers: { Authorization: 'Bearer {{secrets.API_TOKEN}}' }
checks:
  - name: job on a closed port
    method: POST
    url: 'http://127.0.0.1:${closedPort}/v1/jobs'
    expect: { status: 200 }
    retries: { attempts: 2, backoff-ms: 1 }
`);
    const logger = recordingLogger();
    const run = await runSmokeChecks(
      { file, variables: { base_url: svc.url }, secrets: { API_TOKEN: TOKEN } },
      logger,
    );
    expect(run.results[0]).toMatchObject({ ok: false, attempts: 2, status: null });
    expect(logger.lines.some((l) => l.includes('retrying in 1 ms'))).toBe(true);
  });

  it('fails a check over its latency budget and one that times out', async () => {
    const svc = await start();
    const closedPort = await freePort();
    const file = checksFile(`
checks:
  - name: slow
    url: '{{base_url}}/slow?ms=150'
    expect: { latency-ms: 20 }
  - name: hangs
    url: '{{base_url}}/slow?ms=1000'
    timeout-ms: 100
  - name: nothing listening
    url: 'http://127.0.0.1:${closedPort}/health'
`);
    const run = await runSmokeChecks({ file, variables: { base_url: svc.url } }, recordingLogger());
    expect(run.results[0].error).toMatch(/^latency: \d+ ms over the budget of 20 ms$/);
    expect(run.results[0].latencyMs).toBeGreaterThanOrEqual(150);
    expect(run.results[1]).toMatchObject({ ok: false, status: null });
    expect(run.results[1].error).toBe('request: no response within 100 ms (timeout)');
    expect(run.results[2].error).toMatch(/ECONNREFUSED/);
  });

  it('checks header presence, absence and patterns, JSON values and regexes, and body text', async () => {
    const svc = await start();
    const file = checksFile(`
variables: { tenant: tn-1001 }
checks:
  - name: quota fields
    url: '{{base_url}}/v1/usage/quota?tenant={{tenant}}'
    headers: { Authorization: 'Bearer {{secrets.T}}' }
    expect:
      headers: { content-type: '/json/', X-Powered-By: false }
      json: { limit: 1000, remaining: '/^\\d+$/', tenant: '{{tenant}}' }
  - name: metrics pattern mismatch
    url: '{{base_url}}/metrics'
    expect:
      headers: { Content-Type: '/^application\\/json/' }
      body: 'process_cpu_seconds_total'
`);
    const run = await runSmokeChecks(
      { file, variables: { base_url: svc.url }, secrets: { T: TOKEN } },
      recordingLogger(),
    );
    expect(run.results[0]).toMatchObject({ ok: true, status: 200 });
    expect(run.results[1].error).toMatch(
      /header Content-Type: expected matching \/\^application\\\/json\/, got 'text\/plain/,
    );
    expect(run.results[1].error).toMatch(/body: expected to contain 'process_cpu_seconds_total'/);
  });

  it('never lets a secret reach results, logs or the summary, even when the server echoes it', async () => {
    const svc = await start();
    const file = checksFile(`
checks:
  - name: echo
    url: '{{base_url}}/echo'
    headers: { Authorization: 'Bearer {{secrets.API_TOKEN}}', X-Q: '{{secrets.QUOTED}}', X-Long: '{{secrets.LONG}}' }
    expect:
      json: { headers.authorization: nope, headers.x-q: nope, headers.x-long: nope }
      body: 'absent-text'
  - name: wrong token
    url: '{{base_url}}/v1/jobs'
    method: POST
    headers: { Authorization: 'Bearer {{secrets.KEY}}' }
    body: 'x={{secrets.KEY}}'
`);
    const logger = recordingLogger();
    const dbPassword = new URL(db.url).password;
    const run = await runSmokeChecks(
      {
        file,
        variables: { base_url: svc.url },
        secrets: { API_TOKEN: TOKEN, KEY: 'k3y-Vq9ZpL', QUOTED: 'a"b\\c-Zx81', LONG: LONG_SECRET },
        databaseUrl: db.url,
      },
      logger,
    );
    expect(run.failed).toBe(2);
    // An `authorization` JSON field is a credential by its name: hidden whole, scheme included.
    expect(run.results[0].error).toContain(
      'json headers.authorization: expected "nope", got "***"',
    );
    expect(run.results[0].error).toContain('json headers.x-q: expected "nope", got "***"');
    expect(run.results[0].error).toContain('json headers.x-long: expected "nope", got "***"');
    const everything = [JSON.stringify(run), smokeSummary(run), ...logger.lines].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain('k3y-Vq9ZpL');
    expect(everything).not.toContain('Zx81');
    expect(everything).not.toContain(LONG_SECRET.slice(0, 24));
    if (dbPassword) expect(everything).not.toContain(dbPassword);
  });

  it('compares the two bodies without the ignore-json paths', async () => {
    const svc = await start();
    const file = checksFile(`
defaults:
  headers: { Authorization: 'Bearer {{secrets.T}}' }
checks:
  - name: jobs strict
    method: POST
    url: '{{base_url}}/v1/jobs'
    body: { type: transcode }
    idempotency: {}
  - name: jobs ignoring id
    method: POST
    url: '{{base_url}}/v1/jobs'
    body: { type: transcode }
    idempotency: { ignore-json: [id] }
`);
    const run = await runSmokeChecks(
      { file, variables: { base_url: svc.url }, secrets: { T: TOKEN } },
      recordingLogger(),
    );
    expect(run.results[0].error).toMatch(/different body \(id: "job_\d+" vs "job_\d+"\)/);
    expect(run.results[1]).toMatchObject({ ok: true, attempts: 2 });
  });

  it('reports an SQL error as a failed check, without the database password', async () => {
    const svc = await start();
    const file = checksFile(`
checks:
  - name: purchase
    method: POST
    url: '{{base_url}}/api/purchases'
    headers: { Authorization: 'Bearer ${TOKEN}' }
    body: { packageCode: pro }
    idempotency:
      key: 'fixed-{{env}}'
      sql: { query: 'SELECT * FROM no_such_table WHERE k = $1', params: ['{{idempotency_key}}'], expect-rows: 1 }
`);
    const run = await runSmokeChecks(
      { file, variables: { base_url: svc.url, env: 'ci' }, databaseUrl: db.url },
      recordingLogger(),
    );
    expect(run.results[0].ok).toBe(false);
    expect(run.results[0].error).toMatch(/sql: relation "no_such_table" does not exist/);
    // The fixed key was the one sent: one row for it.
    const rows = await withClient(db.url, (c) =>
      c.query("SELECT count(*)::int AS n FROM purchase WHERE idempotency_key = 'fixed-ci'"),
    );
    expect(rows.rows[0].n).toBe(1);
  });
});

describe('JSON paths', () => {
  it('reads dotted paths and array indexes, and names the first difference', () => {
    const v = { data: { items: [{ id: 'a' }, { id: 'b' }] } };
    expect(jsonAt(v, 'data.items.1.id')).toBe('b');
    expect(jsonAt(v, 'data.items[0].id')).toBe('a');
    expect(jsonAt(v, 'data.nope.id')).toBeUndefined();
    expect(firstDifference(v, { data: { items: [{ id: 'a' }, { id: 'c' }] } })).toBe(
      'data.items.1.id: "b" vs "c"',
    );
    expect(firstDifference(v, structuredClone(v))).toBeUndefined();
  });
});

describe('checks file errors (before any request is sent)', () => {
  const run = (text: string, extra: Partial<Parameters<typeof runSmokeChecks>[0]> = {}) =>
    runSmokeChecks(
      {
        file: checksFile(text),
        variables: { base_url: 'http://127.0.0.1:1' },
        fetch: () => {
          throw new Error('no request may be sent');
        },
        ...extra,
      },
      recordingLogger(),
    );
  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err) => err,
    );
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  };

  it('names the line of a schema violation', async () => {
    const e = await failure(
      run('checks:\n  - name: a\n    url: x\n    expect:\n      status: ok\n'),
    );
    expect(e.location?.line).toBe(5);
    expect(e.message).toMatch(/checks\.0\.expect\.status/);
  });

  it('rejects unknown keys, duplicate names and retries on an idempotency check', async () => {
    expect(
      (await failure(run('checks:\n  - name: a\n    url: x\n    expcet: {}\n'))).location?.line,
    ).toBe(4); // the unknown key's own line
    const dup = await failure(run('checks:\n  - name: a\n    url: x\n  - name: a\n    url: y\n'));
    expect(dup.message).toMatch(/duplicate check name 'a'/);
    expect(dup.location?.line).toBe(4);
    const retry = await failure(
      run(
        'checks:\n  - name: a\n    url: x\n    method: POST\n    idempotency: {}\n    retries: { attempts: 2 }\n',
      ),
    );
    expect(retry.location?.line).toBe(6);
  });

  it('names an unknown variable or secret and its line', async () => {
    const v = await failure(run("checks:\n  - name: a\n    url: '{{base_url}}/{{tenant}}'\n"));
    expect(v.message).toMatch(/:3: url: unknown variable '\{\{tenant\}\}'/);
    const s = await failure(
      run(
        "checks:\n  - name: a\n    url: '{{base_url}}'\n    headers:\n      X: '{{secrets.NOPE}}'\n",
      ),
    );
    expect(s.location?.line).toBe(5);
    expect(s.message).toMatch(/unknown secret 'NOPE'/);
  });

  it('refuses a secret in a URL, without showing its value', async () => {
    const e = await failure(
      run("checks:\n  - name: a\n    url: '{{base_url}}/?t={{secrets.T}}'\n", {
        secrets: { T: 'hunter2secret' },
      }),
    );
    expect(e.message).toMatch(/secrets may only be used in headers and body/);
    expect(e.message).not.toContain('hunter2secret');
  });

  it('needs a database for an SQL assertion, and a known name for only', async () => {
    const text =
      "checks:\n  - name: a\n    method: POST\n    url: '{{base_url}}'\n    idempotency:\n      sql: { query: 'select 1', expect-rows: 1 }\n";
    const e = await failure(run(text));
    expect(e.location?.line).toBe(6);
    expect(e.message).toMatch(/database-url/);
    const o = await failure(run(text, { only: ['b'] }));
    expect(o.input).toBe('only');
    const m = await failure(run(text, { databaseUrl: 'mysql://app:pw-77x@db/app' }));
    expect(m.input).toBe('database-url');
    expect(m.message).not.toContain('pw-77x');
  });

  it('rejects a bad regular expression and a non-http URL', async () => {
    const r = await failure(
      run(
        "checks:\n  - name: a\n    url: '{{base_url}}'\n    expect:\n      body: '/(unclosed/'\n",
      ),
    );
    expect(r.location?.line).toBe(5);
    const u = await failure(run("checks:\n  - name: a\n    url: 'ftp://host/x'\n"));
    expect(u.message).toMatch(/not an http/);
  });
});
