/**
 * The bundled `smoke` action (actions/smoke/dist/index.js, built with `node scripts/bundle.mjs
 * smoke`) run as the runner runs it, against the seed service fake and a real PostgreSQL.
 */
import { runBundledAction } from '../support/action.js';
import { makeCaPem, TLS_REFUSED } from '../github/pem.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { startSmokeService, type SmokeService } from '../support/smoke-service.js';

const TOKEN = 'tok_live_action_8d1e44c9';
const describeBundle = describe;

describeBundle('smoke action bundle', () => {
  let db: TestDatabase;
  let good: SmokeService;
  let broken: SmokeService;
  beforeAll(async () => {
    db = await freshDatabase('smoke_action');
    good = await startSmokeService({ token: TOKEN, databaseUrl: db.url });
    broken = await startSmokeService({ token: TOKEN, databaseUrl: db.url, idempotent: false });
  });
  afterAll(async () => {
    await good.close();
    await broken.close();
    await db.dispose();
  });

  it('passes the Paket 7 checks, writes outputs and a summary table, masks every secret', async () => {
    const run = await runBundledAction('smoke', {
      checks: 'examples/paket7/smoke.yml',
      'base-url': `${good.url}/`,
      env: 'staging',
      secrets: `API_TOKEN=${TOKEN}\nUNUSED=other-secret-value`,
      'database-url': db.url,
      timeout: '5s',
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.outputs.passed).toBe('10');
    expect(run.outputs.failed).toBe('0');
    const results = JSON.parse(run.outputs.results);
    expect(results).toHaveLength(10);
    expect(Object.keys(results[0]).sort()).toEqual(['error', 'latencyMs', 'name', 'ok', 'status']);
    expect(
      results.find((r: { name: string }) => r.name === 'quota denies over-quota tenant tn-9014'),
    ).toMatchObject({
      status: 429,
      ok: true,
      error: null,
    });
    expect(run.summary).toContain('| check | status | latency ms | result | detail |');
    expect(run.summary).toMatch(/\| credit purchase is idempotent \| 201 \| \d+ \| ✅ pass \|/);
    expect(run.masks).toEqual(expect.arrayContaining([TOKEN, 'other-secret-value']));
    const dbPassword = new URL(db.url).password;
    if (dbPassword) expect(run.masks).toContain(dbPassword);
    for (const text of [run.stdout, run.summary, run.outputs.results]) {
      expect(text.replace(/^::add-mask::.*$/gm, '')).not.toContain(TOKEN);
    }
  });

  it('fails on a purchase endpoint that charges twice, with an annotation at the check line', async () => {
    const run = await runBundledAction('smoke', {
      checks: 'examples/paket7/smoke.yml',
      'base-url': broken.url,
      secrets: `API_TOKEN=${TOKEN}`,
      'database-url': db.url,
      only: 'health, credit purchase is idempotent',
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ passed: '1', failed: '1' });
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors[0]).toMatchObject({
      file: 'examples/paket7/smoke.yml',
      line: 73,
      title: "smoke check 'credit purchase is idempotent' failed",
    });
    expect(errors[0].message).toMatch(/sql: expected 1 row, got 2/);
    expect(errors.at(-1)?.message).toMatch(
      /1 of 2 smoke checks failed: credit purchase is idempotent/,
    );
    expect(run.summary).toContain('**1 of 2 checks failed**');
    expect(run.summary).toMatch(
      /\| credit purchase is idempotent \| 201 \| \d+ \| ❌ fail \| .*different body/,
    );
  });

  it('runs the SQL assertion over TLS verified with ca-cert, and names a bad ca-cert', async () => {
    // The test server has TLS off: the assertion's client, told to verify with a CA, refuses it.
    const run = await runBundledAction('smoke', {
      checks: 'examples/paket7/smoke.yml',
      'base-url': good.url,
      secrets: `API_TOKEN=${TOKEN}`,
      'database-url': db.url,
      'ca-cert': makeCaPem(),
      only: 'health, credit purchase is idempotent',
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ passed: '1', failed: '1' });
    const failed = run.annotations.find((a) => a.level === 'error' && a.line === 73);
    expect(failed?.message).toMatch(/sql: .*cannot connect to PostgreSQL/);
    expect(failed?.message).toMatch(TLS_REFUSED);

    const before = good.requests.length;
    const bad = await runBundledAction('smoke', {
      checks: 'examples/paket7/smoke.yml',
      'base-url': good.url,
      secrets: `API_TOKEN=${TOKEN}`,
      'database-url': db.url,
      'ca-cert': 'certs/missing.pem',
    });
    expect(bad.exitCode).toBe(1);
    expect(bad.annotations).toHaveLength(1);
    expect(bad.annotations[0].message).toMatch(/^input 'ca-cert': 'certs\/missing.pem' is neither/);
    expect(good.requests.length).toBe(before);
  });

  it('annotates a bad checks file at its line and sends nothing', async () => {
    const before = good.requests.length;
    const run = await runBundledAction('smoke', {
      checks: 'test/smoke/fixtures/bad-variable.yml',
      'base-url': good.url,
    });
    expect(run.exitCode).toBe(1);
    expect(run.annotations[0]).toMatchObject({
      level: 'error',
      file: 'test/smoke/fixtures/bad-variable.yml',
      line: 7,
    });
    expect(run.annotations[0].message).toMatch(/unknown variable '\{\{tenant\}\}'/);
    expect(good.requests.length).toBe(before);
  });

  it('refuses a malformed secrets line without echoing it', async () => {
    const run = await runBundledAction('smoke', {
      checks: 'examples/paket7/smoke.yml',
      'base-url': good.url,
      secrets: 'API_TOKEN=x\nthis-line-is-secret-9f8e',
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/input 'secrets': line 2 is not name=value/);
    expect(run.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain('this-line-is-secret-9f8e');
  });
});
