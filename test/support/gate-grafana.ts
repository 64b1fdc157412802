/**
 * A FAKE of Grafana's data source proxy for tests — not Grafana. It follows the documented
 * route `GET /api/datasources/proxy/uid/:uid/*` (grafana.com/docs/grafana/latest/developers/
 * http_api/data_source/, "Data source proxy calls") with service-account bearer tokens
 * (grafana.com/docs/grafana/latest/administration/service-accounts/): a missing or wrong token
 * gets 401 `{"message":"Unauthorized"}`, an unknown data source UID 404
 * `{"message":"Unable to find datasource"}`, and everything else is forwarded to the real
 * Prometheus behind it. It records every request path so tests can assert the proxy was used.
 */
import { createServer, type Server } from 'node:http';

/** A running fake Grafana. */
export interface FakeGrafana {
  url: string;
  /** Paths (with query) of every request received. */
  requests: string[];
  stop(): Promise<void>;
}

/** Starts the fake on 127.0.0.1 (free port), forwarding data source `uid` to `prometheusUrl`. */
export async function startFakeGrafana(options: {
  prometheusUrl: string;
  token: string;
  uid: string;
}): Promise<FakeGrafana> {
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    requests.push(req.url ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${options.token}`)
      return send(401, { message: 'Unauthorized' });
    const m = /^\/api\/datasources\/proxy\/uid\/([^/]+)\/(.*)$/.exec(req.url ?? '');
    if (!m) return send(404, { message: 'Not found' });
    if (m[1] !== options.uid) return send(404, { message: 'Unable to find datasource' });
    try {
      const upstream = await fetch(`${options.prometheusUrl}/${m[2]}`);
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      });
      res.end(await upstream.text());
    } catch (e) {
      send(502, { message: `data source proxy error: ${(e as Error).message}` });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
