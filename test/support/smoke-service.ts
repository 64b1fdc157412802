/**
 * A FAKE of the services the seed runbooks smoke-test, for the smoke tests and the demo. It is
 * not a real billing API; it implements just the endpoints and behaviours the seeds name:
 *
 * - seed 000 (video-kit API): `GET /v1/usage/quota?tenant=…` → 429 for a tenant over its quota
 *   (with `Retry-After` and `RateLimit-*` fields, per RFC 6585 §4 and the IETF HTTPAPI
 *   "RateLimit header fields" draft) and 200 under it; `POST /v1/jobs` → 200 with an
 *   `X-Request-ID` header; `GET /v1/analytics/events?range=1h` → 200.
 * - seed 004 (billing service): `GET /health`, `GET /readyz` (Kubernetes health-endpoint
 *   convention: 503 until ready), `GET /metrics` (Prometheus text exposition format 0.0.4),
 *   `POST /api/purchases` with an `Idempotency-Key` header and `POST /api/usage/reconcile` with
 *   an `idempotencyKey` body field, `GET /api/ledger`.
 *
 * Idempotency follows draft-ietf-httpapi-idempotency-key-header: a missing key → 400, the same
 * key with a different payload → 422, the same key and payload → the stored first response,
 * marked `Idempotent-Replayed: true` as Stripe does (docs.stripe.com/api/idempotent_requests).
 * With `idempotent: false` the purchase and reconcile endpoints ignore the key and charge again
 * (a new id, a new row) — the regression an idempotency smoke check must catch.
 *
 * Purchases and usage charges are rows in a real PostgreSQL database when `databaseUrl` is
 * given (tables `purchase` and `usage_charge`), so SQL assertions can count them.
 * Test helpers: `GET /slow?ms=N` answers after N ms; `GET /echo` returns the request headers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** Behaviour switches of the fake. */
export interface SmokeServiceOptions {
  /** Bearer token the `/v1/*` and `/api/*` endpoints require. Default `test-token`. */
  token?: string;
  /** PostgreSQL URL to write purchase and usage rows into (tables created if missing). */
  databaseUrl?: string;
  /** When false, purchases and reconciliations are charged again on every retry. Default true. */
  idempotent?: boolean;
  /** `/readyz` answers 503 to this many requests before it answers 200. Default 0. */
  warmupRequests?: number;
  /** Tenants whose quota is used up. Default the seed's canary tenants tn-4582 and tn-9014. */
  overQuota?: string[];
  /** When true, `POST /v1/jobs` omits `X-Request-ID` (a broken deploy). Default false. */
  omitRequestId?: boolean;
}

/** A running fake. */
export interface SmokeService {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Requests seen, as `METHOD /path` lines in order. */
  requests: string[];
  options: SmokeServiceOptions;
  close(): Promise<void>;
}

interface Stored {
  fingerprint: string;
  status: number;
  body: string;
}

const PACKAGES: Record<string, number> = { starter: 500, standard: 2000, pro: 5000 };

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    ...headers,
  });
  res.end(text);
}

/** Starts the fake on 127.0.0.1 on a free port. */
export async function startSmokeService(options: SmokeServiceOptions = {}): Promise<SmokeService> {
  const token = options.token ?? 'test-token';
  const overQuota = new Set(options.overQuota ?? ['tn-4582', 'tn-9014']);
  const pool = options.databaseUrl
    ? new pg.Pool({ connectionString: options.databaseUrl, max: 2 })
    : undefined;
  if (pool) {
    // An idle client's error (the server shutting down) must not crash the process.
    pool.on('error', () => {});
    await pool.query(`
      CREATE TABLE IF NOT EXISTS purchase (
        id text PRIMARY KEY, idempotency_key text, package_code text NOT NULL,
        amount_cents integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE IF NOT EXISTS usage_charge (
        id text PRIMARY KEY, idempotency_key text, user_id text NOT NULL, model text NOT NULL,
        input_tokens integer NOT NULL, output_tokens integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())`);
  }
  const memoryLedger: { id: string; kind: string; amountCents: number }[] = [];
  const stored = new Map<string, Stored>();
  const requests: string[] = [];
  let readyzSeen = 0;
  let seq = 0;
  let metricsCount = 0;

  const authorized = (req: IncomingMessage) => req.headers.authorization === `Bearer ${token}`;

  /** Runs `charge` once per key (idempotent mode) and replays its response for the same key. */
  async function idempotent(
    res: ServerResponse,
    scope: string,
    key: string | undefined,
    payload: string,
    charge: () => Promise<{ status: number; body: unknown }>,
  ): Promise<void> {
    if (!key) {
      send(res, 400, { error: 'idempotency_key_missing' });
      return;
    }
    if (options.idempotent !== false) {
      const prior = stored.get(`${scope}:${key}`);
      if (prior) {
        if (prior.fingerprint !== payload) {
          send(res, 422, { error: 'idempotency_key_reused_with_different_payload' });
          return;
        }
        res.writeHead(prior.status, {
          'Content-Type': 'application/json',
          'Idempotent-Replayed': 'true',
        });
        res.end(prior.body);
        return;
      }
    }
    const out = await charge();
    const body = JSON.stringify(out.body);
    stored.set(`${scope}:${key}`, { fingerprint: payload, status: out.status, body });
    res.writeHead(out.status, { 'Content-Type': 'application/json' });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = `${req.method} ${url.pathname}`;
    requests.push(route);
    const raw = await readBody(req);

    switch (route) {
      case 'GET /health':
        return send(res, 200, { status: 'ok' });
      case 'GET /readyz':
        readyzSeen++;
        if (readyzSeen <= (options.warmupRequests ?? 0))
          return send(res, 503, 'not ready: warming up');
        return send(res, 200, 'ok');
      case 'GET /metrics':
        metricsCount++;
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(
          '# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n' +
            `http_requests_total{route="/metrics"} ${metricsCount}\n`,
        );
        return;
      case 'GET /slow': {
        const ms = Number(url.searchParams.get('ms') ?? 100);
        await new Promise((r) => setTimeout(r, ms));
        return send(res, 200, { slept: ms });
      }
      case 'GET /echo':
        return send(res, 200, { headers: req.headers });
    }

    if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/api/')) {
      if (!authorized(req))
        return send(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer' });
    }

    switch (route) {
      case 'GET /v1/usage/quota': {
        const tenant = url.searchParams.get('tenant') ?? '';
        if (!tenant) return send(res, 400, { error: 'tenant is required' });
        const limit = 1000;
        if (overQuota.has(tenant)) {
          return send(
            res,
            429,
            { error: 'quota_exceeded', tenant, limit, used: limit },
            { 'Retry-After': '3600', 'RateLimit-Limit': String(limit), 'RateLimit-Remaining': '0' },
          );
        }
        return send(res, 200, { tenant, limit, used: 120, remaining: limit - 120 });
      }
      case 'POST /v1/jobs': {
        const id = `job_${++seq}`;
        const headers: Record<string, string> = options.omitRequestId
          ? {}
          : { 'X-Request-ID': `req_${randomUUID()}` };
        return send(res, 200, { id, status: 'queued' }, headers);
      }
      case 'GET /v1/analytics/events':
        return send(res, 200, { range: url.searchParams.get('range') ?? '1h', events: [] });
      case 'POST /api/purchases': {
        let body: { packageCode?: string };
        try {
          body = JSON.parse(raw || '{}');
        } catch {
          return send(res, 400, { error: 'invalid JSON' });
        }
        const amount = PACKAGES[body.packageCode ?? ''];
        if (!amount) return send(res, 422, { error: 'unknown packageCode' });
        const key = req.headers['idempotency-key'] as string | undefined;
        return idempotent(res, 'purchase', key, raw, async () => {
          const id = `pur_${randomUUID().slice(0, 13)}`;
          if (pool) {
            await pool.query(
              'INSERT INTO purchase (id, idempotency_key, package_code, amount_cents) VALUES ($1, $2, $3, $4)',
              [id, key, body.packageCode, amount],
            );
          }
          memoryLedger.push({ id, kind: 'purchase', amountCents: amount });
          return {
            status: 201,
            body: { id, packageCode: body.packageCode, amountCents: amount, status: 'succeeded' },
          };
        });
      }
      case 'POST /api/usage/reconcile': {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(raw || '{}');
        } catch {
          return send(res, 400, { error: 'invalid JSON' });
        }
        const key = typeof body.idempotencyKey === 'string' ? body.idempotencyKey : undefined;
        return idempotent(res, 'usage', key, raw, async () => {
          const id = `use_${randomUUID().slice(0, 13)}`;
          if (pool) {
            await pool.query(
              'INSERT INTO usage_charge (id, idempotency_key, user_id, model, input_tokens, output_tokens) VALUES ($1, $2, $3, $4, $5, $6)',
              [id, key, body.userId, body.model, body.inputTokens, body.outputTokens],
            );
          }
          memoryLedger.push({ id, kind: 'usage', amountCents: 1 });
          return { status: 200, body: { id, reconciled: true } };
        });
      }
      case 'GET /api/ledger':
        return send(res, 200, { entries: memoryLedger });
    }
    send(res, 404, { error: 'not found', route });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) send(res, 500, { error: (e as Error).message });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    options,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool?.end();
    },
  };
}
