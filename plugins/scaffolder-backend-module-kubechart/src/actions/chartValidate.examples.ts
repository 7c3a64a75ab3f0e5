import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'js-yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Check a chart against the policy before offering to install it',
    example: yaml.dump({
      steps: [
        {
          id: 'validate',
          action: 'kubechart:chart:validate',
          name: 'Check the chart policy',
          input: {
            cluster: 'kube-sim',
            namespace: 'shop',
            release: 'web',
            chart: 'kubechart-service',
            values: 'image:\n  repository: nginx\n  tag: latest\n',
            failOnError: true,
          },
        },
      ],
    }),
  },
];
