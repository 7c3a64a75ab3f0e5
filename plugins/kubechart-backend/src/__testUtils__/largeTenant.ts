import type { Run } from '@kubechart/plugin-kubechart-common';

/** A rendered chart as helm writes it: a ServiceAccount, a Service and a Deployment. */
export function chartManifest(
  release: string,
  namespace: string,
  tag: string,
  replicas = 2,
): string {
  const labels = `  labels:\n    app.kubernetes.io/name: ${release}\n    app.kubernetes.io/managed-by: Helm\n`;
  const meta = `metadata:\n  name: ${release}\n  namespace: ${namespace}\n${labels}`;
  return [
    `apiVersion: v1\nkind: ServiceAccount\n${meta}`,
    `apiVersion: v1\nkind: Service\n${meta}spec:\n  type: ClusterIP\n  ports:\n    - port: 80\n      targetPort: http\n      protocol: TCP\n      name: http\n  selector:\n    app.kubernetes.io/name: ${release}\n`,
    `apiVersion: apps/v1\nkind: Deployment\n${meta}spec:\n  replicas: ${replicas}\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: ${release}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: ${release}\n    spec:\n      serviceAccountName: ${release}\n      containers:\n        - name: web\n          image: registry.example.com/${release}:${tag}\n          ports:\n            - name: http\n              containerPort: 8080\n          resources:\n            requests:\n              cpu: 100m\n              memory: 128Mi\n`,
  ].join('---\n');
}

function tenantRun(id: string, tag: string, manifest: string): Run {
  return {
    id,
    kind: 'tenant',
    status: 'succeeded',
    actor: 'user:default/alice',
    entityRef: 'component:default/big',
    target: { cluster: 'prod', namespace: 'tenant-big' },
    input: {},
    values: { replicas: 2, image: { tag } },
    manifest,
    transitions: [],
    createdAt: '2026-12-01T10:00:00.000Z',
  } as Run;
}

/**
 * Two runs of a large tenant: 167 releases of the three-object chart (501 objects, about 9,500
 * lines), then what a typical upgrade changes: a new image tag in 12 Deployments, 3 replicas in 3,
 * 2 releases removed and 2 added.
 */
export function largeTenantRuns(): {
  before: Run;
  after: Run;
  bumped: string[];
  scaled: string[];
  removed: string[];
  added: string[];
} {
  const names = Array.from({ length: 167 }, (_, i) => `svc-${i}`);
  const removed = ['svc-40', 'svc-120'];
  const added = ['svc-new-a', 'svc-new-b'];
  const bumped = Array.from({ length: 12 }, (_, i) => `svc-${i * 13 + 2}`);
  const scaled = ['svc-7', 'svc-77', 'svc-150'];
  const before = names
    .map(n => chartManifest(n, 'tenant-big', '1.4.2'))
    .join('---\n');
  const after = [...names.filter(n => !removed.includes(n)), ...added]
    .map(n =>
      chartManifest(
        n,
        'tenant-big',
        bumped.includes(n) ? '1.5.0' : '1.4.2',
        scaled.includes(n) ? 3 : 2,
      ),
    )
    .join('---\n');
  return {
    before: tenantRun('run-before', '1.4.2', before),
    after: tenantRun('run-after', '1.5.0', after),
    bumped,
    scaled,
    removed,
    added,
  };
}
