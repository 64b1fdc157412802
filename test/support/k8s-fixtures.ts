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
