import { readyNodeStatus } from './controller/controller';
import { KubeApi } from './server/api';
import { KubeObject } from './server/types';
import { bootstrapPolicy } from './server/rbac/bootstrap';

const ctx = { manager: 'kube-sim-seed' };

/** Creates each object unless it exists (as the admin: no RBAC checks). */
export function createObjects(api: KubeApi, objects: KubeObject[]) {
  for (const obj of objects) create(api, obj);
}

function create(api: KubeApi, obj: KubeObject) {
  const type = api.type(obj.apiVersion!, obj.kind!);
  if (api.tryGet(type, obj.metadata.namespace, obj.metadata.name!)) return;
  api.create(type, obj.metadata.namespace, obj, ctx);
}

/** The namespaces and the RBAC policy every cluster starts with. */
export function seedSystem(api: KubeApi) {
  for (const name of [
    'default',
    'kube-system',
    'kube-public',
    'kube-node-lease',
  ]) {
    create(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  for (const obj of bootstrapPolicy()) create(api, obj);
}

export function seedNodes(
  api: KubeApi,
  count: number,
  prefix = 'kube-sim-node',
) {
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  for (let i = 1; i <= count; i++) {
    const name = `${prefix}-${i}`;
    create(api, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': zones[(i - 1) % zones.length],
          'node.kubernetes.io/instance-type': 'sim.large',
        },
      },
      spec: { podCIDR: `10.244.${i}.0/24`, podCIDRs: [`10.244.${i}.0/24`] },
      status: readyNodeStatus(name, i),
    });
  }
}

function app(opts: {
  namespace: string;
  name: string;
  id: string;
  image: string;
  replicas: number;
  cpu: string;
  memory: string;
  port?: number;
  kind?: 'Deployment' | 'StatefulSet';
}): KubeObject[] {
  const labels = {
    app: opts.name,
    'app.kubernetes.io/name': opts.name,
    'backstage.io/kubernetes-id': opts.id,
  };
  const port = opts.port ?? 8080;
  const workload: KubeObject = {
    apiVersion: 'apps/v1',
    kind: opts.kind ?? 'Deployment',
    metadata: { name: opts.name, namespace: opts.namespace, labels },
    spec: {
      replicas: opts.replicas,
      selector: { matchLabels: { app: opts.name } },
      ...(opts.kind === 'StatefulSet' ? { serviceName: opts.name } : {}),
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: opts.name.split('-')[0],
              image: opts.image,
              ports: [{ name: 'http', containerPort: port }],
              resources: {
                requests: { cpu: opts.cpu, memory: opts.memory },
                limits: { memory: opts.memory },
              },
            },
          ],
        },
      },
    },
  };
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: opts.name, namespace: opts.namespace, labels },
    spec: {
      selector: { app: opts.name },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    },
  };
  return [workload, service];
}

/** A small believable cluster: 3 nodes, a few teams' namespaces and workloads, one crash loop. */
export function seedDemo(api: KubeApi) {
  seedNodes(api, 3);
  for (const name of ['payments', 'shop', 'monitoring']) {
    create(api, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { team: name === 'monitoring' ? 'platform' : name },
      },
    });
  }
  const objects: KubeObject[] = [
    ...app({
      namespace: 'payments',
      name: 'payments-api',
      id: 'payments-api',
      image: 'ghcr.io/kubechart-demo/payments-api:1.8.2',
      replicas: 2,
      cpu: '250m',
      memory: '256Mi',
    }),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'payments-api-config',
        namespace: 'payments',
        labels: {
          app: 'payments-api',
          'backstage.io/kubernetes-id': 'payments-api',
        },
      },
      data: { LOG_LEVEL: 'info', PAYMENT_PROVIDER: 'sandbox' },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: {
        name: 'payments-api',
        namespace: 'payments',
        labels: {
          app: 'payments-api',
          'backstage.io/kubernetes-id': 'payments-api',
        },
      },
      spec: {
        scaleTargetRef: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'payments-api',
        },
        minReplicas: 2,
        maxReplicas: 5,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: 70 },
            },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'payments-quota', namespace: 'payments' },
      spec: {
        hard: { pods: '20', 'requests.cpu': '4', 'requests.memory': '8Gi' },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'payments-defaults', namespace: 'payments' },
      spec: {
        limits: [
          {
            type: 'Container',
            default: { cpu: '500m', memory: '512Mi' },
            defaultRequest: { cpu: '100m', memory: '128Mi' },
          },
        ],
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: {
        name: 'payments-settlement',
        namespace: 'payments',
        labels: {
          app: 'payments-settlement',
          'backstage.io/kubernetes-id': 'payments-api',
        },
      },
      spec: {
        schedule: '0 2 * * *',
        jobTemplate: {
          spec: {
            template: {
              metadata: {
                labels: {
                  app: 'payments-settlement',
                  'backstage.io/kubernetes-id': 'payments-api',
                },
              },
              spec: {
                restartPolicy: 'OnFailure',
                containers: [
                  {
                    name: 'settle',
                    image: 'ghcr.io/kubechart-demo/payments-api:1.8.2',
                    args: ['settle', '--day=yesterday'],
                    resources: { requests: { cpu: '100m', memory: '128Mi' } },
                  },
                ],
              },
            },
          },
        },
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'payments-migrate-1-8-2',
        namespace: 'payments',
        labels: {
          app: 'payments-migrate',
          'backstage.io/kubernetes-id': 'payments-api',
        },
      },
      spec: {
        backoffLimit: 2,
        template: {
          metadata: {
            labels: {
              app: 'payments-migrate',
              'backstage.io/kubernetes-id': 'payments-api',
            },
          },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'migrate',
                image: 'ghcr.io/kubechart-demo/payments-api:1.8.2',
                args: ['migrate'],
                resources: { requests: { cpu: '100m', memory: '128Mi' } },
              },
            ],
          },
        },
      },
    },
    ...app({
      namespace: 'shop',
      name: 'checkout-web',
      id: 'checkout-web',
      image: 'ghcr.io/kubechart-demo/checkout-web:crashloop',
      replicas: 1,
      cpu: '100m',
      memory: '128Mi',
      port: 3000,
    }),
    ...app({
      namespace: 'shop',
      name: 'inventory-service',
      id: 'inventory-service',
      image: 'ghcr.io/kubechart-demo/inventory-service:2.3.0',
      replicas: 2,
      cpu: '200m',
      memory: '256Mi',
    }),
    ...app({
      namespace: 'shop',
      name: 'inventory-db',
      id: 'inventory-service',
      image: 'postgres:16.2',
      replicas: 1,
      cpu: '250m',
      memory: '512Mi',
      port: 5432,
      kind: 'StatefulSet',
    }),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'checkout-web',
        namespace: 'shop',
        labels: {
          app: 'checkout-web',
          'backstage.io/kubernetes-id': 'checkout-web',
        },
      },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'shop.example.test',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: {
                    service: { name: 'checkout-web', port: { number: 80 } },
                  },
                },
              ],
            },
          },
        ],
      },
    },
    ...app({
      namespace: 'kube-system',
      name: 'coredns',
      id: 'coredns',
      image: 'registry.k8s.io/coredns/coredns:v1.9.3',
      replicas: 2,
      cpu: '100m',
      memory: '70Mi',
      port: 53,
    }),
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: {
        name: 'node-exporter',
        namespace: 'monitoring',
        labels: { app: 'node-exporter' },
      },
      spec: {
        selector: { matchLabels: { app: 'node-exporter' } },
        template: {
          metadata: { labels: { app: 'node-exporter' } },
          spec: {
            containers: [
              {
                name: 'node-exporter',
                image: 'quay.io/prometheus/node-exporter:v1.7.0',
                resources: { requests: { cpu: '50m', memory: '64Mi' } },
              },
            ],
          },
        },
      },
    },
    // As a platform team does where Gateway API is installed: routes join the built-in admin and
    // edit roles (aggregation), so a namespace admin (e.g. a tenant's deployer) may manage them.
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: 'gateway-api-routes-edit',
        labels: {
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
        },
      },
      rules: [
        {
          apiGroups: ['gateway.networking.k8s.io'],
          resources: ['httproutes', 'grpcroutes'],
          verbs: [
            'get',
            'list',
            'watch',
            'create',
            'update',
            'patch',
            'delete',
            'deletecollection',
          ],
        },
      ],
    },
  ];
  for (const o of objects) create(api, o);
}
