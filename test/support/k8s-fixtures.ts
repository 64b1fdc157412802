/** Kubernetes objects the rollout tests seed into the fake API server (`k8s-fake.ts`). */

/** An apps/v1 Deployment with one container `api` running `image`. */
export function deployment(name: string, namespace: string, image: string, replicas = 2) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'api', image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

/** A networking.k8s.io/v1 Ingress for `host` routing to `service`; `canary` adds the nginx canary annotations. */
export function ingress(
  name: string,
  namespace: string,
  service: string,
  canary?: { weight: number },
) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace,
      annotations: canary
        ? {
            'nginx.ingress.kubernetes.io/canary': 'true',
            'nginx.ingress.kubernetes.io/canary-weight': String(canary.weight),
          }
        : {},
    },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'billing.example.test',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

/**
 * A Gateway API `gateway.networking.k8s.io/v1` HTTPRoute whose one rule splits traffic between
 * the `stable` and `canary` Services (gateway-api.sigs.k8s.io/guides/traffic-splitting/).
 */
export function httpRoute(
  name: string,
  namespace: string,
  stable: string,
  canary: string,
  canaryWeight = 0,
) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace },
    spec: {
      parentRefs: [{ name: 'public-gateway', namespace: 'gateway-system' }],
      hostnames: ['billing.example.test'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { name: stable, port: 80, weight: 100 - canaryWeight },
            { name: canary, port: 80, weight: canaryWeight },
          ],
        },
      ],
    },
  };
}

/**
 * An Istio `networking.istio.io/v1` VirtualService whose http route splits traffic between the
 * `stable` and `canary` hosts (istio.io/latest/docs/reference/config/networking/virtual-service/).
 */
export function virtualService(
  name: string,
  namespace: string,
  stable: string,
  canary: string,
  canaryWeight = 0,
) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace },
    spec: {
      hosts: ['billing.example.test'],
      gateways: ['istio-system/public-gateway'],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: stable, port: { number: 80 } }, weight: 100 - canaryWeight },
            { destination: { host: canary, port: { number: 80 } }, weight: canaryWeight },
          ],
        },
      ],
    },
  };
}
