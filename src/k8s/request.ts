/**
 * One API request as the engine makes it: retried when retriable (see {@link withRetries}) and
 * its failure translated by {@link call}.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../errors.js';
import { call, PatchStrategy, type Clients } from './client.js';
import { withRetries } from './transport.js';

/**
 * Runs an idempotent request (a read, a server-side apply, a patch guarded by a
 * `resourceVersion`) with retries, then translates a remaining failure as {@link call} does.
 * @param what the object, for messages, e.g. `deployment 'api' in namespace 'prod'`
 * @param input the action input a 404 or 4xx is blamed on
 * @throws ConfigError for 4xx answers (see {@link call}); the last error otherwise
 */
export function idempotent<T>(
  what: string,
  input: string | undefined,
  fn: () => Promise<T>,
  logger?: Logger,
): Promise<T> {
  return call(what, input, () => withRetries({ idempotent: true, what, logger }, fn));
}

/**
 * Sends a manifest object to the API server as it was written, for a server-side apply
 * (`PATCH`, `application/apply-patch+yaml`) or a create (`POST`). The typed methods of
 * `@kubernetes/client-node` serialize through the kind's model and silently drop every field
 * the model does not know, so a typo (`imagee:`) would never reach the server's strict field
 * validation; this path keeps the object untouched and lets the server judge it.
 *
 * Uses `KubernetesObjectApi`'s own path resolution (API discovery), request context and
 * response handling, so authentication, timeouts and errors (`ApiException`) are as for every
 * other request.
 */
export async function sendManifest<T extends KubernetesObject>(
  c: Clients,
  method: 'PATCH' | 'POST',
  object: T,
  query: Record<string, string | undefined>,
): Promise<T> {
  const api = c.objects as unknown as {
    specUriPath(spec: KubernetesObject, action: string): Promise<string>;
    configuration: {
      baseServer: {
        makeRequestContext(
          path: string,
          method: string,
        ): {
          setHeaderParam(k: string, v: string): void;
          setQueryParam(k: string, v: string): void;
          setBody(b: string): void;
        };
      };
    };
    requestPromise(ctx: unknown): Promise<T>;
  };
  const path = await api.specUriPath(object, method === 'POST' ? 'create' : 'patch');
  const ctx = api.configuration.baseServer.makeRequestContext(path, method);
  ctx.setHeaderParam('Accept', 'application/json, */*;q=0.8');
  ctx.setHeaderParam(
    'Content-Type',
    method === 'PATCH' ? PatchStrategy.ServerSideApply : 'application/json',
  );
  for (const [k, v] of Object.entries(query)) if (v !== undefined) ctx.setQueryParam(k, v);
  ctx.setBody(JSON.stringify(object));
  return api.requestPromise(ctx);
}
