import { KubeObject } from './types';

/** 200 objects as a chart renders them: 40 services, each a Deployment, Service, ConfigMap, PDB and ServiceAccount. */
export function benchChart(): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; i < 40; i++) {
    const name = `svc-${i}`;
    const labels = { app: name, tier: i % 2 ? 'web' : 'worker' };
    out.push(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              securityContext: { runAsNonRoot: true },
              automountServiceAccountToken: false,
              initContainers: [
                {
                  name: 'migrate',
                  image: `registry.example.com/team/${name}:1.0.${i}`,
                  imagePullPolicy: 'Always',
                  args: ['migrate', '--database-url=$(DATABASE_URL)'],
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  resources: {
                    requests: { cpu: '100m', memory: '128Mi' },
                    limits: { cpu: '1', memory: '256Mi' },
                  },
                },
              ],
              containers: [
                {
                  name: 'app',
                  image: `registry.example.com/team/${name}:1.0.${i}`,
                  imagePullPolicy: 'Always',
                  ports: [{ containerPort: 8080 }],
                  env: [
                    { name: 'LOG_LEVEL', value: 'info' },
                    {
                      name: 'DATABASE_URL',
                      value: 'postgres://app:$(DB_PASSWORD)@db:5432/app',
                    },
                    {
                      name: 'DB_PASSWORD',
                      valueFrom: {
                        secretKeyRef: { name: 'db', key: 'password' },
                      },
                    },
                  ],
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  resources: {
                    requests: { cpu: '100m', memory: '128Mi' },
                    limits: { cpu: '1', memory: '256Mi' },
                  },
                  livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
                  readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: {
          'app.yaml': 'server:\n  port: 8080\n'.repeat(40),
          cache_key_prefix: name,
          FEATURE_FLAGS: 'a,b,c',
        },
      },
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name },
        spec: {
          maxUnavailable: 1,
          selector: {
            matchExpressions: [{ key: 'app', operator: 'In', values: [name] }],
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name },
        automountServiceAccountToken: false,
      },
    );
  }
  return out;
}
