/**
 * Secret leaks, tried as an attacker and as a bad day would: every bundled action, run as the
 * runner runs it (test/support/action.ts), through a table of failure cases with planted
 * secrets. After each run, stdout (minus the `::add-mask::` commands the runner consumes),
 * stderr, the job summary, GITHUB_OUTPUT, GITHUB_ENV, every file under RUNNER_TEMP and every
 * file in the workspace are searched for each planted secret in every form a server or a
 * library may print it: raw, percent-encoded (upper- and lower-case hex), base64 and
 * JSON-escaped.
 *
 * The table is built from {@link SECRET_INPUTS} (each action's secret-bearing inputs) crossed
 * with the failure scenarios of its kind (database, metrics provider, flag service, Kubernetes
 * API, HTTP service): adding an action or a secret input there adds rows. Servers are shared:
 * the run's real PostgreSQL (roles whose passwords are the planted secrets), a hostile HTTP
 * server that echoes every credential it receives (test/support/hostile-server.ts), a closed
 * port and a TCP server that never answers.
 *
 * Print the counts: `SECURITY_REPORT=1 npm test -- test/security` (one line per case on stderr,
 * then `security: N cases, M leaks`). Build the bundles first: `npm run bundle`.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { filesUnder, runBundledAction, type ActionRun } from '../support/action.js';
import { startHostileServer, type HostileServer } from '../support/hostile-server.js';
import { adminUrl, freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';

const root = resolve(import.meta.dirname, '../..');

/** Planted secret shapes: each one makes a different encoded form differ from the raw value. */
const SHAPES = {
  plain: (id: string) => `Plain5ecret-${id}-Zq7`,
  symbols: (id: string) => `p@ss:w/rd%${id} &x+y=z?#`,
  unicode: (id: string) => `ünï"çø\\dé-${id}-Kx`,
} as const;
type Shape = keyof typeof SHAPES;
/** Shapes a header can carry (HTTP header values are Latin-1 without control characters). */
const HEADER_SHAPES: Shape[] = ['plain', 'symbols'];

/** Every form of `secret` the suite searches for. */
export function leakForms(secret: string): string[] {
  const pct = encodeURIComponent(secret);
  const forms = new Set([
    secret,
    pct,
    pct.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    JSON.stringify(secret).slice(1, -1),
  ]);
  return [...forms];
}

/** One row of the table. */
interface Case {
  id: string;
  action: string;
  title: string;
  secrets: string[];
  inputs: Record<string, string>;
  /** The hostile server must have been reached (the case exercised an echoed error body). */
  reachesServer?: boolean;
  /** The run must fail with an error annotation matching this. */
  refusedWith?: RegExp;
  env?: Record<string, string>;
}

/** What one run left behind, by place. */
interface Outcome {
  c: Case;
  run?: ActionRun;
  leaks: string[];
  error?: string;
  hits: number;
}

/** Secret-bearing inputs per action: the rows of the table come from here. */
const SECRET_INPUTS: Record<string, string[]> = {
  migrate: ['database-url'],
  backfill: ['database-url'],
  'flag-toggle': ['database-url', 'token'],
  smoke: ['database-url', 'secrets'],
  'canary-gate': [
    'prometheus-token',
    'prometheus-password',
    'grafana-token',
    'datadog-api-key',
    'datadog-app-key',
  ],
  rollout: ['kubeconfig'],
};

let hostile: HostileServer;
let hung: Server;
const hungSockets: Socket[] = [];
let hungPort: number;
let closedPort: number;
let template: string;
let db: TestDatabase;
/** One database per action, so actions never wait on each other's locks. */
const databases: Record<string, string> = {};
const roles: Record<Shape, { name: string; password: string }> = {} as never;
const outcomes = new Map<string, Outcome>();

// ---- the table -------------------------------------------------------------------------------

type UrlWriter = 'encoded' | 'query' | 'raw';
type DbScenario = 'auth-ok' | 'wrong-password' | 'refused' | 'no-database' | 'hung';

function dbUrl(
  ownDatabase: string | undefined,
  action: string,
  scenario: DbScenario,
  writer: UrlWriter,
  shape: Shape,
  password: string,
): string {
  const admin = new URL(adminUrl());
  const host =
    scenario === 'refused'
      ? `127.0.0.1:${closedPort}`
      : scenario === 'hung'
        ? `127.0.0.1:${hungPort}`
        : admin.host;
  const user = scenario === 'wrong-password' ? roles[shape].name : roles[shape].name;
  const database =
    scenario === 'no-database' ? 'no_such_database_x' : (ownDatabase ?? databases[action]);
  const extra = scenario === 'hung' ? 'connect_timeout=2' : '';
  if (writer === 'query') {
    const q = new URLSearchParams({ password });
    return `postgres://${user}@${host}/${database}?${q}${extra ? `&${extra}` : ''}`;
  }
  const pw = writer === 'raw' ? password : encodeURIComponent(password);
  return `postgres://${user}:${pw}@${host}/${database}${extra ? `?${extra}` : ''}`;
}

/** Inputs that make each database action fail after it has connected. */
function dbActionInputs(action: string, url: string, caseId: string): Record<string, string> {
  switch (action) {
    case 'migrate':
      return { command: 'apply', 'database-url': url, dir: 'migrations', 'lock-wait': '2s' };
    case 'backfill':
      return { command: 'analyze', 'database-url': url, spec: 'backfill.yml' };
    case 'flag-toggle':
      return {
        backend: 'postgres',
        'database-url': url,
        operation: 'enable',
        flag: 'BILLING_ENFORCEMENT',
        tenants: 'tn-4582',
        'global-must-be': 'on',
        reason: 'security suite',
      };
    default:
      return {
        checks: 'smoke-sql.yml',
        'base-url': hostile.base(caseId, 200, 'json'),
        'database-url': url,
        secrets: 'API_TOKEN=unused-token-value-123',
      };
  }
}

function databaseCases(): Case[] {
  const out: Case[] = [];
  const actions = Object.keys(SECRET_INPUTS).filter((a) =>
    SECRET_INPUTS[a].includes('database-url'),
  );
  for (const action of actions) {
    const variants: [UrlWriter, Shape[], DbScenario[]][] = [
      [
        'encoded',
        ['plain', 'symbols', 'unicode'],
        ['auth-ok', 'wrong-password', 'refused', 'no-database'],
      ],
      ['query', ['plain', 'symbols'], ['auth-ok', 'refused']],
      ['raw', ['symbols', 'unicode'], ['auth-ok']],
      ['encoded', ['symbols'], ['hung']],
    ];
    for (const [writer, shapes, scenarios] of variants) {
      for (const shape of shapes) {
        for (const scenario of scenarios) {
          const id = `c${out.length}${action.slice(0, 2)}`;
          out.push({
            id,
            action,
            title: `${action}: database-url (${writer}, ${shape}) ${scenario}`,
            secrets: [],
            inputs: {},
            // filled in beforeAll, once the roles exist
            ...{ pending: { writer, shape, scenario } },
          } as Case);
        }
      }
    }
  }
  return out;
}

type Style = 'json' | 'text' | 'html';
const HTTP_FAULTS: [number, Style][] = [
  [400, 'json'],
  [401, 'text'],
  [403, 'html'],
  [404, 'json'],
  [422, 'json'],
  [429, 'json'],
  [500, 'html'],
  [503, 'json'],
  [200, 'html'],
];

function gateCases(start: number): Case[] {
  const out: Case[] = [];
  const window = {
    start: new Date(Date.UTC(2026, 10, 2, 10, 0)).toISOString(),
    end: new Date(Date.UTC(2026, 10, 2, 10, 35)).toISOString(),
  };
  const providers: [string, (base: string, s: string) => Record<string, string>, string[]][] = [
    [
      'prometheus-token',
      (base, s) => ({ provider: 'prometheus', 'prometheus-url': base, 'prometheus-token': s }),
      ['prometheus-token'],
    ],
    [
      'prometheus-password',
      (base, s) => ({
        provider: 'prometheus',
        'prometheus-url': base,
        'prometheus-username': 'gate',
        'prometheus-password': s,
      }),
      ['prometheus-password'],
    ],
    [
      'grafana-token',
      (base, s) => ({
        provider: 'grafana',
        'grafana-url': base,
        'grafana-token': s,
        'grafana-datasource-uid': 'prom-main',
      }),
      ['grafana-token'],
    ],
  ];
  for (const [name, inputsFor] of providers) {
    for (const [i, [status, style]] of HTTP_FAULTS.entries()) {
      const id = `g${start + out.length}`;
      const shape = HEADER_SHAPES[i % HEADER_SHAPES.length];
      const secret = SHAPES[shape](id);
      out.push({
        id,
        action: 'canary-gate',
        title: `canary-gate: ${name} (${shape}), server answers ${status} ${style}`,
        secrets: [secret],
        reachesServer: true,
        inputs: {
          criteria: 'criteria.yml',
          mode: 'backtest',
          tenants: 'tn-4582, tn-9014',
          service: 'checkout',
          ...window,
          'measurements-file': 'out/measurements.json',
          ...inputsFor(hostile.base(id, status, style), secret),
        },
      });
    }
    // A closed port: the network error names the server, never the credentials.
    const id = `g${start + out.length}`;
    const secret = SHAPES.symbols(id);
    out.push({
      id,
      action: 'canary-gate',
      title: `canary-gate: ${name} (symbols), connection refused`,
      secrets: [secret],
      inputs: {
        criteria: 'criteria.yml',
        mode: 'backtest',
        ...window,
        'measurements-file': 'out/measurements.json',
        ...inputsFor(`http://127.0.0.1:${closedPort}`, secret),
      },
    });
  }
  // Credentials written into the URL instead of the secret inputs.
  for (const shape of ['plain', 'symbols'] as Shape[]) {
    const id = `g${start + out.length}`;
    const secret = SHAPES[shape](id);
    out.push({
      id,
      action: 'canary-gate',
      title: `canary-gate: password in prometheus-url (${shape})`,
      secrets: [secret],
      inputs: {
        criteria: 'criteria.yml',
        mode: 'backtest',
        ...window,
        'prometheus-url': `http://gate:${encodeURIComponent(secret)}@127.0.0.1:${closedPort}/`,
      },
    });
  }
  // Datadog keys: an unknown site, a missing second key, a key with a newline.
  const dd: [string, (a: string, b: string) => Record<string, string>][] = [
    [
      'unknown site',
      (a, b) => ({ 'datadog-site': 'example.invalid', 'datadog-api-key': a, 'datadog-app-key': b }),
    ],
    ['app key missing', (a) => ({ 'datadog-api-key': a })],
    ['api key missing', (_a, b) => ({ 'datadog-app-key': b })],
  ];
  for (const [title, keys] of dd) {
    const id = `g${start + out.length}`;
    const a = SHAPES.plain(`${id}a`);
    const b = SHAPES.symbols(`${id}b`);
    out.push({
      id,
      action: 'canary-gate',
      title: `canary-gate: datadog keys, ${title}`,
      secrets: [a, b],
      inputs: {
        criteria: 'criteria-datadog.yml',
        mode: 'backtest',
        ...window,
        ...keys(a, b),
      },
    });
  }
  return out;
}

function flagCases(start: number): Case[] {
  const out: Case[] = [];
  const backends: [string, Record<string, string>][] = [
    ['http', { environment: 'staging' }],
    ['launchdarkly', { environment: 'staging', project: 'billing' }],
    ['unleash', { environment: 'development', project: 'default' }],
  ];
  for (const [backend, extra] of backends) {
    for (const [i, [status, style]] of HTTP_FAULTS.entries()) {
      const id = `f${start + out.length}`;
      const shape = HEADER_SHAPES[(i + 1) % HEADER_SHAPES.length];
      const secret = SHAPES[shape](id);
      out.push({
        id,
        action: 'flag-toggle',
        title: `flag-toggle: ${backend} token (${shape}), server answers ${status} ${style}`,
        secrets: [secret],
        reachesServer: true,
        inputs: {
          backend,
          operation: 'enable',
          flag: 'BILLING_ENFORCEMENT',
          tenants: 'tn-4582',
          reason: 'security suite',
          'base-url': hostile.base(id, status, style),
          token: secret,
          ...extra,
        },
      });
    }
  }
  return out;
}

function kubeconfig(server: string, user: Record<string, string>): string {
  const userYaml = Object.entries(user)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `apiVersion: v1
kind: Config
clusters:
  - name: target
    cluster:
      server: ${JSON.stringify(server)}
      insecure-skip-tls-verify: true
contexts:
  - name: deploy
    context: { cluster: target, user: deployer, namespace: billing }
current-context: deploy
users:
  - name: deployer
    user:
${userYaml}
`;
}

function rolloutCases(start: number): Case[] {
  const out: Case[] = [];
  const creds: [string, (base: string, s: string) => string][] = [
    ['token', (base, s) => kubeconfig(base, { token: s })],
    ['basic password', (base, s) => kubeconfig(base, { username: 'deployer', password: s })],
    [
      'password in the server URL',
      (base, s) =>
        kubeconfig(base.replace('http://', `http://deployer:${encodeURIComponent(s)}@`), {
          token: `${s}-tok`,
        }),
    ],
  ];
  for (const [name, kc] of creds) {
    for (const [i, [status, style]] of HTTP_FAULTS.entries()) {
      const id = `r${start + out.length}`;
      const shape = HEADER_SHAPES[i % HEADER_SHAPES.length];
      const secret = SHAPES[shape](id);
      out.push({
        id,
        action: 'rollout',
        title: `rollout: kubeconfig ${name} (${shape}), API server answers ${status} ${style}`,
        secrets: name === 'password in the server URL' ? [secret, `${secret}-tok`] : [secret],
        // fetch refuses a URL with credentials: the action must say so before any request.
        reachesServer: name !== 'password in the server URL',
        ...(name === 'password in the server URL'
          ? { refusedWith: /server URL carries credentials/ }
          : {}),
        inputs: {
          command: 'set-image',
          kubeconfig: kc(hostile.base(id, status, style), secret),
          deployment: 'billing-api',
          images: 'api=registry.example.com/billing-api:2.4.1',
          timeout: '5s',
          'poll-interval': '100ms',
        },
      });
    }
  }
  return out;
}

function smokeCases(start: number): Case[] {
  const out: Case[] = [];
  for (const [i, [status, style]] of HTTP_FAULTS.entries()) {
    const id = `s${start + out.length}`;
    const shape = HEADER_SHAPES[i % HEADER_SHAPES.length];
    const token = SHAPES[shape](`${id}t`);
    const key = SHAPES[shape === 'plain' ? 'symbols' : 'plain'](`${id}k`);
    out.push({
      id,
      action: 'smoke',
      title: `smoke: secrets in headers (${shape}), service answers ${status} ${style}`,
      secrets: [token, key],
      reachesServer: true,
      inputs: {
        checks: 'smoke.yml',
        'base-url': hostile.base(id, status, style),
        secrets: `API_TOKEN=${token}\nAPI_KEY=${key}`,
        timeout: '5s',
      },
    });
  }
  return out;
}

/** File inputs that leave the workspace: `..`, absolute paths, symbolic links. */
function pathCases(start: number): Case[] {
  const out: Case[] = [];
  const outside = join(tmpdir(), 'sec-outside-never-written');
  const token = (id: string) => SHAPES.symbols(id);
  const rows: [string, Record<string, string>, string][] = [
    ['migrate', { command: 'status', dir: '/etc' }, 'database-url'],
    ['migrate', { command: 'status', dir: '..' }, 'database-url'],
    ['migrate', { command: 'status', dir: 'escape-link' }, 'database-url'],
    ['migrate', { command: 'status', dir: 'migrations-with-link' }, 'database-url'],
    ['backfill', { command: 'analyze', spec: '/etc/passwd' }, 'database-url'],
    ['backfill', { command: 'analyze', spec: 'escape-link/passwd' }, 'database-url'],
    [
      'canary-gate',
      { criteria: '../../etc/passwd', 'prometheus-url': hostile?.origin ?? '' },
      'prometheus-token',
    ],
    [
      'canary-gate',
      { criteria: 'criteria.yml', mode: 'backtest', 'measurements-file': join(outside, 'm.json') },
      'prometheus-token',
    ],
    [
      'canary-gate',
      { criteria: 'criteria.yml', mode: 'replay', 'replay-file': 'escape-link/hosts' },
      'prometheus-token',
    ],
    [
      'flag-toggle',
      {
        backend: 'http',
        operation: 'enable',
        plan: 'escape-link/hosts',
        'base-url': 'http://127.0.0.1:1',
      },
      'token',
    ],
    ['smoke', { checks: '/etc/hosts' }, 'secrets'],
    ['smoke', { checks: 'escape-link/hosts' }, 'secrets'],
    ['rollout', { command: 'apply', manifests: 'escape-link/hosts' }, 'kubeconfig'],
    ['rollout', { command: 'run-job', 'job-manifest': '/etc/hosts' }, 'kubeconfig'],
  ];
  for (const [action, inputs, secretInput] of rows) {
    const id = `p${start + out.length}`;
    const secret = token(id);
    const value =
      secretInput === 'database-url'
        ? `postgres://app:${encodeURIComponent(secret)}@127.0.0.1:${closedPort}/app`
        : secretInput === 'secrets'
          ? `API_TOKEN=${secret}`
          : secretInput === 'kubeconfig'
            ? kubeconfig(`http://127.0.0.1:${closedPort}`, { token: secret })
            : secret;
    const name = Object.entries(inputs).find(
      ([k]) =>
        k !== 'command' &&
        k !== 'mode' &&
        k !== 'backend' &&
        k !== 'operation' &&
        !k.endsWith('-url') &&
        !(action === 'canary-gate' && k === 'criteria' && inputs.criteria === 'criteria.yml'),
    )![0];
    out.push({
      id,
      action,
      title: `${action}: ${name} '${inputs[name]}' leaves the workspace`,
      secrets: [secret],
      inputs: { ...inputs, [secretInput]: value },
      env: { RUNBOOK_ALLOWED_PATHS: '' },
      refusedWith: new RegExp(`${name}.*(outside the workspace|symbolic link to a path outside)`),
    });
  }
  return out;
}

// ---- running ---------------------------------------------------------------------------------

function findLeaks(c: Case, run: ActionRun, workspace: Record<string, string>): string[] {
  const places: [string, string][] = [
    [
      'stdout',
      run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ],
    ['stderr', run.stderr],
    ['summary', run.summary],
    ['outputs', JSON.stringify(run.outputs) + Object.values(run.outputs).join('\n')],
    ['GITHUB_ENV', JSON.stringify(run.env)],
    ...Object.entries(run.files).map(([p, t]): [string, string] => [`RUNNER_TEMP/${p}`, t]),
    ...Object.entries(workspace).map(([p, t]): [string, string] => [`workspace/${p}`, t]),
  ];
  const found: string[] = [];
  for (const secret of c.secrets) {
    for (const form of leakForms(secret)) {
      for (const [place, text] of places) {
        if (text.includes(form)) found.push(`${place} holds ${JSON.stringify(form)}`);
      }
    }
  }
  return found;
}

async function runCase(c: Case): Promise<Outcome> {
  const ws = mkdtempSync(join(tmpdir(), `sec-${c.id}-`));
  try {
    cpSync(template, ws, { recursive: true });
    const before = new Set(Object.keys(filesUnder(ws)));
    const run = await runBundledAction(c.action, c.inputs, {
      cwd: ws,
      timeoutMs: 60_000,
      env: {
        GITHUB_RUN_ID: '4242',
        GITHUB_REPOSITORY: 'acme/billing',
        GITHUB_ACTOR: 'bot',
        RUNBOOK_ALLOWED_PATHS: '',
        ...c.env,
      },
    });
    const written = Object.fromEntries(
      Object.entries(filesUnder(ws)).filter(([p]) => !before.has(p) || p.startsWith('out/')),
    );
    return { c, run, leaks: findLeaks(c, run, written), hits: hostile.hits.get(c.id) ?? 0 };
  } catch (e) {
    return { c, leaks: [], error: String(e), hits: 0 };
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

async function pool<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

function writeTemplate(dir: string): void {
  cpSync(join(root, 'examples/paket7/gate/prometheus.yml'), join(dir, 'criteria.yml'));
  cpSync(join(root, 'examples/paket7/gate/datadog.yml'), join(dir, 'criteria-datadog.yml'));
  cpSync(join(root, 'examples/paket7/backfills/usage-limits.yml'), join(dir, 'backfill.yml'));
  symlinkSync('/etc', join(dir, 'escape-link'));
  mkdirSync(join(dir, 'migrations-with-link'));
  symlinkSync('/etc/hosts', join(dir, 'migrations-with-link/20260101000000_hosts.sql'));
  mkdirSync(join(dir, 'migrations'));
  writeFileSync(
    join(dir, 'migrations/20260101000000_broken.sql'),
    'CREATE TABLE security_probe (id int);\nSELECT * FROM no_such_table_security;\n',
  );
  writeFileSync(
    join(dir, 'smoke.yml'),
    `defaults:
  headers:
    Authorization: 'Bearer {{secrets.API_TOKEN}}'
    X-Api-Key: '{{secrets.API_KEY}}'
  timeout-ms: 3000
checks:
  - name: echo
    url: '{{base_url}}/v1/echo'
    expect: { status: 200, body: '/never-in-the-body/' }
    retries: { attempts: 2, backoff-ms: 1 }
  - name: post echo
    method: POST
    url: '{{base_url}}/v1/jobs'
    body: { token: '{{secrets.API_TOKEN}}' }
    expect: { status: 201 }
`,
  );
  writeFileSync(
    join(dir, 'smoke-sql.yml'),
    `checks:
  - name: purchase is written once
    method: POST
    url: '{{base_url}}/api/purchases'
    body: { packageCode: starter }
    expect: { status: 200 }
    idempotency:
      sql:
        query: SELECT 1 FROM pg_class WHERE relname = $1
        params: ['no_such_relation']
        expect-rows: 1
`,
  );
}

const cases: Case[] = [];

beforeAll(async () => {
  hostile = await startHostileServer();
  hung = createServer((s) => hungSockets.push(s));
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  hungPort = (hung.address() as { port: number }).port;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  closedPort = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  template = mkdtempSync(join(tmpdir(), 'sec-template-'));
  writeTemplate(template);

  db = await freshDatabase('security');
  await withClient(adminUrl(), async (c) => {
    for (const shape of Object.keys(SHAPES) as Shape[]) {
      const name = `${db.name}_${shape}`;
      const password = SHAPES[shape](`db${shape.slice(0, 2)}`);
      roles[shape] = { name, password };
      await c.query(`CREATE ROLE ${name} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
    }
    for (const action of Object.keys(SECRET_INPUTS)) {
      if (!SECRET_INPUTS[action].includes('database-url')) continue;
      const name = `${db.name}_${action.replace(/-/g, '_')}`;
      databases[action] = name;
      await c.query(`CREATE DATABASE ${name}`);
      for (const r of Object.values(roles))
        await c.query(`GRANT ALL ON DATABASE ${name} TO ${r.name}`);
    }
  });
  for (const name of Object.values(databases)) {
    const u = new URL(adminUrl());
    u.pathname = `/${name}`;
    await withClient(u.toString(), (c) => c.query('GRANT ALL ON SCHEMA public TO PUBLIC'));
  }

  for (const c of databaseCases()) {
    const { writer, shape, scenario } = (c as Case & { pending: any }).pending as {
      writer: UrlWriter;
      shape: Shape;
      scenario: DbScenario;
    };
    const password =
      scenario === 'wrong-password' ? SHAPES[shape](`${c.id}-wrong`) : roles[shape].password;
    c.secrets = [password];
    // Two migrate runs that reach the same database at once wait on each other (advisory lock
    // and history table); each connecting migrate case gets its own database.
    let own: string | undefined;
    if (c.action === 'migrate' && scenario === 'auth-ok') {
      own = `${db.name}_m_${c.id}`;
      await withClient(adminUrl(), async (a) => {
        await a.query(`CREATE DATABASE ${own}`);
        for (const role of Object.values(roles))
          await a.query(`GRANT ALL ON DATABASE ${own} TO ${role.name}`);
      });
      const u = new URL(adminUrl());
      u.pathname = `/${own}`;
      await withClient(u.toString(), (a) => a.query('GRANT ALL ON SCHEMA public TO PUBLIC'));
      databases[`migrate:${c.id}`] = own;
    }
    c.inputs = dbActionInputs(
      c.action,
      dbUrl(own, c.action, scenario, writer, shape, password),
      c.id,
    );
    if (c.action === 'smoke') c.secrets.push('unused-token-value-123');
    cases.push(c);
  }
  cases.push(...gateCases(cases.length));
  cases.push(...flagCases(cases.length));
  cases.push(...rolloutCases(cases.length));
  cases.push(...smokeCases(cases.length));
  cases.push(...pathCases(cases.length));
  // SECURITY_ONLY=<action> runs that action's rows alone (while working on it).
  const only = process.env.SECURITY_ONLY;
  const selected = only ? cases.filter((c) => c.action === only) : cases;

  const results = await pool(selected, Number(process.env.SECURITY_CONCURRENCY ?? 6), runCase);
  for (const o of results) outcomes.set(o.c.id, o);
}, 600_000);

afterAll(async () => {
  const all = [...outcomes.values()];
  const leaks = all.reduce((n, o) => n + o.leaks.length, 0);
  if (process.env.SECURITY_REPORT) {
    const lines = all.map(
      (o) =>
        `${o.leaks.length ? 'LEAK' : 'ok  '} exit ${o.run?.exitCode ?? '-'} hits ${o.hits} ${o.c.title}${o.leaks.length ? `\n      ${o.leaks.join('\n      ')}` : ''}`,
    );
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  process.stderr.write(`security: ${all.length} cases, ${leaks} leaks\n`);
  for (const s of hungSockets) s.destroy();
  await new Promise((r) => hung?.close(r));
  await hostile?.close();
  if (template) rmSync(template, { recursive: true, force: true });
  await db?.dispose();
  await withClient(adminUrl(), async (c) => {
    for (const name of Object.values(databases)) {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
    for (const r of Object.values(roles)) await c.query(`DROP ROLE IF EXISTS ${r.name}`);
  });
});

const full = () => (process.env.SECURITY_ONLY ? test.skip : test);

full()('the table has at least 150 cases, every action and every secret input in it', () => {
  expect(cases.length).toBeGreaterThanOrEqual(150);
  for (const [action, names] of Object.entries(SECRET_INPUTS)) {
    const rows = cases.filter((c) => c.action === action);
    for (const name of names) {
      expect([name, rows.some((c) => c.inputs[name] !== undefined)]).toEqual([name, true]);
    }
  }
});

test('every case ran to the end of the bundle (no harness error, no killed process)', () => {
  const broken = [...outcomes.values()].filter((o) => o.error || o.run?.exitCode === -1);
  expect(broken.map((o) => `${o.c.title}: ${o.error ?? 'killed'}`)).toEqual([]);
});

test('the cases that must reach the hostile server did', () => {
  const missed = [...outcomes.values()].filter((o) => o.c.reachesServer && o.hits === 0);
  expect(
    missed.map((o) => `${o.c.title} (exit ${o.run?.exitCode}): ${o.run?.stdout.slice(-300)}`),
  ).toEqual([]);
});

test('file inputs that leave the workspace are refused, naming the input', () => {
  const let_through = [...outcomes.values()]
    .filter((o) => o.c.refusedWith && o.run)
    .filter(
      (o) =>
        o.run!.exitCode !== 1 ||
        !o.run!.annotations.some((a) => a.level === 'error' && o.c.refusedWith!.test(a.message)),
    )
    .map(
      (o) =>
        `${o.c.title} (exit ${o.run!.exitCode}): ${o.run!.annotations.map((a) => a.message).join(' | ')}`,
    );
  expect(let_through).toEqual([]);
});

test('no planted secret appears anywhere, in any form', () => {
  const leaking = [...outcomes.values()]
    .filter((o) => o.leaks.length)
    .map((o) => `${o.c.title}: ${o.leaks.join('; ')}`);
  expect(leaking).toEqual([]);
});
