/**
 * Connecting to a Kubernetes API server with the official `@kubernetes/client-node` 2.x client:
 * a kubeconfig given as YAML text (the action's secret input), a kubeconfig file (the CLI), or
 * the in-cluster service account. Errors from the API server (`Status` objects, see the
 * Kubernetes API conventions) become readable messages; a user's mistake (unknown object,
 * rejected credentials, invalid object) becomes a {@link ConfigError}.
 */
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError, type Logger, sleep } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { RunbookKubeConfig } from './transport.js';

/**
 * Credentials of every kubeconfig loaded by {@link connect} in this process: the API server's
 * answers (a `Status` message, a proxy's error page) are outside text and may echo them.
 */
const loadedSecrets = new Set<string>();

/** `text` with every loaded kubeconfig credential and every credential-shaped value as `***`. */
export function redactK8s(text: string): string {
  return redactSecrets(text, [...loadedSecrets]);
}

/** How to reach the cluster. Every engine function's options extend this. */
export interface ClusterOptions {
  /**
   * Kubeconfig YAML text (e.g. a secret). Empty or undefined: `kubeconfigFile`, else the
   * in-cluster service account (`KUBERNETES_SERVICE_HOST` and the mounted token).
   */
  kubeconfig?: string;
  /** Path of a kubeconfig file (the CLI's `--kubeconfig`; `default` = $KUBECONFIG or ~/.kube/config). */
  kubeconfigFile?: string;
  /** Context to use instead of the kubeconfig's `current-context`. */
  context?: string;
  /** Namespace (default: the context's namespace, else `default`). */
  namespace?: string;
  /** A ready client set (tests and callers that run several steps share one). */
  clients?: Clients;
}

/** Timing shared by the waiting functions; all values in milliseconds. */
export interface PollOptions {
  /** Time between two status reads (default 2000 ms). */
  pollIntervalMs?: number;
  /** Give up after this long (default 600000 ms = 10 minutes). */
  timeoutMs?: number;
  /** Injectable sleep (tests); defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** The typed API clients of one cluster connection. */
export interface Clients {
  kc: KubeConfig;
  namespace: string;
  apps: AppsV1Api;
  core: CoreV1Api;
  batch: BatchV1Api;
  networking: NetworkingV1Api;
  objects: KubernetesObjectApi;
  /** Values from the kubeconfig that must never be printed (tokens, passwords, client keys). */
  secrets: string[];
  /** The API server URL (for logs; carries no credentials). */
  server: string;
}

/**
 * Builds the clients for {@link ClusterOptions}.
 * @throws ConfigError (input `kubeconfig`/`context`) when the kubeconfig cannot be parsed or the
 *   context does not exist
 */
export function connect(options: ClusterOptions): Clients {
  if (options.clients) return options.clients;
  // Per-request timeouts and fieldValidation=Strict on writes (see transport.ts).
  const kc: KubeConfig = new RunbookKubeConfig();
  try {
    if (options.kubeconfig && options.kubeconfig.trim()) kc.loadFromString(options.kubeconfig);
    else if (options.kubeconfigFile === 'default') {
      // loadFromDefault() falls back to http://localhost:8080 when it finds nothing, which
      // fails later with an error about TLS that names no kubeconfig.
      const files = (process.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
      const home = join(homedir(), '.kube', 'config');
      if (
        !files.some((f) => existsSync(f)) &&
        !existsSync(home) &&
        !process.env.KUBERNETES_SERVICE_HOST
      ) {
        throw new ConfigError(
          `no kubeconfig found (${files.length ? `$KUBECONFIG=${files.join(delimiter)} does not exist` : '$KUBECONFIG is unset'}, no ${home}, not in a cluster): pass --kubeconfig FILE, set $KUBECONFIG, or create ${home}`,
          undefined,
          'kubeconfig',
        );
      }
      kc.loadFromDefault();
    } else if (options.kubeconfigFile) kc.loadFromFile(options.kubeconfigFile);
    else if (!process.env.KUBERNETES_SERVICE_HOST) {
      throw new ConfigError(
        'is empty and this process does not run in a cluster (KUBERNETES_SERVICE_HOST is unset): pass the kubeconfig YAML',
        undefined,
        'kubeconfig',
      );
    } else kc.loadFromCluster();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // The parser's message may quote the document; never echo it.
    throw new ConfigError(
      `cannot load the kubeconfig: ${
        (e as Error).name === 'YAMLException'
          ? 'invalid YAML'
          : redactK8s(String((e as Error).message).split('\n')[0]).slice(0, 120)
      }`,
      undefined,
      'kubeconfig',
    );
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      throw new ConfigError(
        `context '${options.context}' is not in the kubeconfig (contexts: ${kc.contexts.map((c) => c.name).join(', ') || 'none'})`,
        undefined,
        'context',
      );
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new ConfigError('the kubeconfig has no current cluster', undefined, 'kubeconfig');
  const serverUrl = (() => {
    try {
      return new URL(cluster.server);
    } catch {
      return undefined;
    }
  })();
  if (serverUrl && (serverUrl.username || serverUrl.password)) {
    // fetch refuses such a URL; the password is masked (see kubeconfigSecrets) but never sent.
    throw new ConfigError(
      `cluster '${cluster.name}': the server URL carries credentials (${redactK8s(cluster.server)}); put them in the user entry (token, or username and password) instead`,
      undefined,
      'kubeconfig',
    );
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  const namespace = options.namespace || ctx?.namespace || 'default';
  const secrets = kubeconfigSecrets(kc);
  for (const s of secrets) loadedSecrets.add(s);
  return {
    kc,
    namespace,
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
    secrets,
    server: redactK8s(cluster.server),
  };
}

/** Credentials found in a loaded kubeconfig: tokens, passwords, client keys, auth-provider tokens. */
export function kubeconfigSecrets(kc: KubeConfig): string[] {
  const out: string[] = [];
  for (const u of kc.users) {
    for (const v of [u.token, u.password, u.keyData]) if (v) out.push(v);
    const cfg = u.authProvider?.config;
    if (cfg && typeof cfg === 'object') {
      for (const k of ['access-token', 'id-token', 'refresh-token', 'client-secret']) {
        if (typeof cfg[k] === 'string' && cfg[k]) out.push(cfg[k]);
      }
    }
  }
  // A server URL may carry user information (`https://user:password@host`).
  for (const c of kc.clusters) {
    try {
      const pw = new URL(c.server).password;
      if (pw) out.push(pw, decodeURIComponent(pw));
    } catch {
      // not a URL: nothing to collect
    }
  }
  return [...new Set(out)];
}

/** Request options that send a patch with the given content type (the client defaults to JSON patch). */
export function patchAs(strategy: PatchStrategy) {
  return setHeaderOptions('Content-Type', strategy);
}
export { PatchStrategy };

/** The `Status` object of a failed API call, when the server sent one. */
export interface ApiStatus {
  code: number;
  reason?: string;
  message: string;
  details?: { causes?: { reason?: string; message?: string; field?: string }[] };
}

/** Extracts the HTTP code and the Kubernetes `Status` from an error of the client, if it is one. */
export function apiStatus(e: unknown): ApiStatus | undefined {
  if (!(e instanceof ApiException)) return undefined;
  let body: any = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = { message: body.slice(0, 300) };
    }
  }
  return {
    code: e.code,
    reason: body?.reason,
    message: redactK8s(body?.message ?? (e.code === 401 ? 'Unauthorized' : `HTTP ${e.code}`)),
    details: body?.details,
  };
}

/**
 * Runs one API call and translates its failure: 404 → ConfigError "<what> not found" naming
 * `input`; 401/403 → ConfigError about the credentials; 409/422 → ConfigError with the server's
 * message; other errors pass through (a network failure or a server bug is not a user mistake).
 */
export async function call<T>(
  what: string,
  input: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const st = apiStatus(e);
    if (!st) {
      // A network error's message may quote the server URL with its user information.
      // Some errors (a DOMException from an aborted or timed-out request) have a read-only
      // message: those are left as they are, their text is ours, not the server's.
      if (e instanceof Error && !(e instanceof ConfigError)) {
        const redacted = redactK8s(e.message);
        if (redacted !== e.message) {
          try {
            e.message = redacted;
          } catch {
            throw new Error(redacted, { cause: e });
          }
        }
      }
      throw e;
    }
    if (st.code === 404) throw new ConfigError(`${what} not found`, undefined, input);
    if (st.code === 401)
      throw new ConfigError(
        `the API server rejected the credentials (401 Unauthorized) while reading ${what}`,
        undefined,
        'kubeconfig',
      );
    if (st.code === 403)
      throw new ConfigError(`forbidden (403): ${st.message}`, undefined, 'kubeconfig');
    if (st.code === 409 || st.code === 422 || st.code === 400)
      throw new ConfigError(
        `${what}: ${st.message} (${st.code} ${st.reason ?? ''})`.trim(),
        undefined,
        input,
      );
    throw new Error(`${what}: API server answered ${st.code} ${st.reason ?? ''}: ${st.message}`, {
      cause: e,
    });
  }
}

/** A failed rollout or Job: the reason is the Kubernetes one (e.g. `ProgressDeadlineExceeded`). */
export class RolloutError extends Error {
  override readonly name = 'RolloutError';
  constructor(
    message: string,
    /** `ProgressDeadlineExceeded`, `BackoffLimitExceeded`, `DeadlineExceeded`, `Timeout`, ... */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Concrete poll settings resolved by {@link pollSettings}. */
export interface PollSettings {
  /** Time between two status reads, in milliseconds (default 2000). */
  intervalMs: number;
  /** Give up after this long, in milliseconds (default 600000 = 10 minutes). */
  timeoutMs: number;
  /** Sleeps the given number of milliseconds. */
  sleep: (ms: number) => Promise<void>;
}

/** Resolves poll options to concrete values (all durations in milliseconds). */
export function pollSettings(o: PollOptions): PollSettings {
  return {
    intervalMs: o.pollIntervalMs ?? 2000,
    timeoutMs: o.timeoutMs ?? 600_000,
    sleep: o.sleep ?? sleep,
  };
}

/** Logger helper: `debug` the API server URL once per connection. */
export function describeConnection(c: Clients, logger: Logger): void {
  logger.debug(`API server ${c.server}, namespace ${c.namespace}`);
}
