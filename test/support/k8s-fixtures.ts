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
