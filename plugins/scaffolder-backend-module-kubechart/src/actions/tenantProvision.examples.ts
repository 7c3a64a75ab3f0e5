import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'js-yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Provision a tenant with a database, a backend API and a frontend, on the medium quota preset',
    example: yaml.dump({
      steps: [
        {
          id: 'provision',
          action: 'kubechart:tenant:provision',
          name: 'Provision the tenant',
          input: {
            cluster: 'kube-sim',
            tenant: 'acme',
            entityRef: 'system:default/acme',
            quotaPreset: 'medium',
            credentials: ['databasePassword'],
            releases: [
              { name: 'db', chart: 'kubechart-postgres' },
              {
                name: 'api',
                chart: 'kubechart-service',
                values: {
                  image: { repository: 'ghcr.io/acme/api', tag: '1.4.2' },
                },
              },
              {
                name: 'web',
                chart: 'kubechart-service',
                values:
                  'image:\n  repository: ghcr.io/acme/web\n  tag: 2.0.1\n',
              },
            ],
          },
        },
      ],
    }),
  },
  {
    description:
      'Provision a tenant with explicit quota values and a 5 minute readiness deadline',
    example: yaml.dump({
      steps: [
        {
          id: 'provision',
          action: 'kubechart:tenant:provision',
          name: 'Provision the tenant',
          input: {
            cluster: 'kube-sim',
            tenant: 'beta',
            quota: {
              hard: {
                'requests.cpu': '1',
                'requests.memory': '2Gi',
                pods: '10',
              },
            },
            waitTimeoutSeconds: 300,
            releases: [{ name: 'api', chart: 'kubechart-service' }],
          },
        },
      ],
    }),
  },
];
