import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';
import { examples } from './tenantDelete.examples';
import { ActionLinks, executeRun } from './runAction';
import { commonInput, runOutput } from './schemas';
import { withTaskErrors } from './taskError';

/**
 * `kubechart:tenant:delete`: uninstalls every release of the tenant, then deletes its namespace.
 * @public
 */
export function createTenantDeleteAction(options: {
  runs: KubechartRunsService;
  links: ActionLinks;
  pollIntervalMs?: number;
  /** How often a run waiting for approval is polled (ms); default 5000. */
  approvalPollIntervalMs?: number;
}) {
  return createTemplateAction({
    id: 'kubechart:tenant:delete',
    description:
      'Deletes a tenant: helm uninstall of each release, then the namespace. Recorded in deployment history.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...commonInput,
        tenant: z => z.string({ description: 'Tenant code' }),
      },
      output: runOutput,
    },
    async handler(ctx) {
      await withTaskErrors(async () => {
        const request = {
          kind: 'tenant-delete' as const,
          cluster: ctx.input.cluster,
          tenant: ctx.input.tenant,
          entityRef: ctx.input.entityRef,
        };
        await executeRun(ctx, options, request);
      });
    },
  });
}
