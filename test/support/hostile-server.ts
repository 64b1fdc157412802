/**
 * A hostile HTTP server for the security suite: whatever it is asked, it answers with the
 * status and body style named in the request path and echoes everything it received (method,
 * URL, every header, the body, Basic credentials decoded, each header value percent-encoded in
 * both hex cases, base64 and JSON-escaped) back in the body, as careless proxies, API gateways
 * and debug error pages do. Any client that copies an error body into a log, a summary, an output
 * or a file without redaction leaks its credentials through it.
 *
 * Path: `/<case>/<status>/<style>/...` (the rest is the client's own path). Styles:
 * - `json`: one object that every consumer reads its message from: Kubernetes `Status`
 *   (`kind`, `message`, `reason`, `code`; kubernetes.io API conventions), Prometheus
 *   (`status: error`, `errorType`, `error`; prometheus.io HTTP API), Datadog (`errors: [...]`),
 *   LaunchDarkly / Unleash (`message`, `code`);
 * - `text`: the echo as `text/plain`;
 * - `html`: an HTML error page holding the echo.
 * A 429 carries `Retry-After: 0` and `X-RateLimit-Reset: 0`, 5xx `Retry-After: 0`, 401
 * `WWW-Authenticate` (RFC 9110 §11.6.1) echoing the credentials.
 * `hits` counts requests per case, so a test can tell that a case reached the server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** A running hostile server. */
export interface HostileServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Base URL of one case: `<origin>/<caseId>/<status>/<style>`. */
  base(caseId: string, status: number, style: 'json' | 'text' | 'html'): string;
  /** Requests received per case id. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

function forms(value: string): string[] {
  const pct = encodeURIComponent(value);
  return [
    value,
    pct,
    pct.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    Buffer.from(value).toString('base64'),
    JSON.stringify(value).slice(1, -1),
  ];
}

function echo(req: IncomingMessage, body: string): string {
  const lines = [`${req.method} ${req.url}`];
  for (const [k, v] of Object.entries(req.headers)) {
    const value = Array.isArray(v) ? v.join(', ') : (v ?? '');
    lines.push(`${k}: ${forms(value).join(' | ')}`);
    // The credential alone, without its scheme, and Basic credentials decoded.
    const m = /^(\w+)\s+(.+)$/.exec(value);
    if (k === 'authorization' && m) {
      lines.push(`credential: ${forms(m[2]).join(' | ')}`);
      if (/^basic$/i.test(m[1])) {
        const decoded = Buffer.from(m[2], 'base64').toString('utf8');
        lines.push(
          `basic: ${decoded} | password: ${forms(decoded.split(':').slice(1).join(':')).join(' | ')}`,
        );
      }
    }
  }
  if (body) lines.push(`body: ${forms(body).join(' | ')}`);
  return lines.join('\n');
}

/** Starts the server on a free port of 127.0.0.1. */
export async function startHostileServer(): Promise<HostileServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const [, caseId = '', statusText = '500', style = 'json'] = (req.url ?? '').split('/');
      hits.set(caseId, (hits.get(caseId) ?? 0) + 1);
      const status = Number(statusText) || 500;
      const text = echo(req, body);
      const headers: Record<string, string> = {};
      if (status === 429) Object.assign(headers, { 'Retry-After': '0', 'X-RateLimit-Reset': '0' });
      if (status >= 500) headers['Retry-After'] = '0';
      if (status === 401) {
        headers['WWW-Authenticate'] =
          `Bearer realm="echo", error="invalid_token", error_description="${encodeURIComponent(req.headers.authorization ?? '')}"`;
      }
      let payload: string;
      if (style === 'text') {
        headers['Content-Type'] = 'text/plain';
        payload = `error: ${text}`;
      } else if (style === 'html') {
        headers['Content-Type'] = 'text/html';
        payload = `<html><body><h1>${status}</h1><pre>${text}</pre></body></html>`;
      } else {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: status < 400 ? 'error' : 'Failure',
          code: status,
          reason: 'BadRequest',
          errorType: 'bad_data',
          message: text,
          error: text,
          errors: [text],
        });
      }
      res.writeHead(status, headers);
      res.end(payload);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    origin,
    base: (caseId, status, style) => `${origin}/${caseId}/${status}/${style}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
