import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'js-yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Delete a tenant and everything in its namespace',
    example: yaml.dump({
      steps: [
        {
          id: 'delete',
          action: 'kubechart:tenant:delete',
          name: 'Delete the tenant',
          input: {
            cluster: 'kube-sim',
            tenant: 'acme',
            entityRef: 'system:default/acme',
          },
        },
      ],
    }),
  },
];
