import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'js-yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Install a chart from an https repository with values given as YAML',
    example: yaml.dump({
      steps: [
        {
          id: 'install',
          action: 'kubechart:chart:install',
          name: 'Install the chart',
          input: {
            cluster: 'kube-sim',
            namespace: 'shop',
            release: 'cache',
            repo: 'https://charts.example.com/stable',
            chart: 'redis',
            version: '18.1.0',
            values: 'replicas: 2\n',
            entityRef: 'component:default/inventory-service',
          },
        },
      ],
    }),
  },
  {
    description: 'Upgrade a release from a chart directory known to kubechart',
    example: yaml.dump({
      steps: [
        {
          id: 'install',
          action: 'kubechart:chart:install',
          name: 'Upgrade the release',
          input: {
            cluster: 'kube-sim',
            namespace: 'payments',
            release: 'payments-api',
            chart: 'kubechart-service',
            values: {
              image: { repository: 'ghcr.io/acme/payments', tag: '3.2.0' },
              replicas: 3,
            },
            entityRef: 'component:default/payments-api',
            waitTimeoutSeconds: 300,
          },
        },
      ],
    }),
  },
];
