import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type {
  ReleaseSpec,
  TenantRunInput,
} from '@kubechart/plugin-kubechart-common';
import { tenantNamespace } from '@kubechart/plugin-kubechart-common';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';
import { examples } from './tenantProvision.examples';
import { QUOTA_PRESETS } from './quota';
import { ActionLinks, executeRun } from './runAction';
import { commonInput, releaseSchema, runOutput } from './schemas';
import { withTaskErrors } from './taskError';
import { valuesFromInput } from './values';

/**
 * `kubechart:tenant:provision`: namespace, quota, limits, network policy and the tenant's Helm
 * releases, then waits until every workload is Ready.
 * @public
 */
export function createTenantProvisionAction(options: {
  runs: KubechartRunsService;
  links: ActionLinks;
  pollIntervalMs?: number;
  /** How often a run waiting for approval is polled (ms); default 5000. */
  approvalPollIntervalMs?: number;
}) {
  return createTemplateAction({
    id: 'kubechart:tenant:provision',
    description:
      'Provisions a tenant: namespace, ResourceQuota, LimitRange, NetworkPolicy and its Helm releases, then waits for readiness. Re-running converges.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...commonInput,
        tenant: z =>
          z.string({
            description:
              'Tenant code: lowercase letters, digits and dashes, 2–40 characters. Names the namespace.',
          }),
        displayName: z =>
          z
            .string({ description: 'Human-readable name of the tenant' })
            .optional(),
        owner: z =>
          z
            .string({
              description: 'Entity ref of the group that owns the tenant',
            })
            .optional(),
        quotaPreset: z =>
          z
            .enum(['small', 'medium', 'large'], {
              description:
                'Quota preset for the namespace (ignored when quota is given)',
            })
            .optional(),
        quota: z =>
          z
            .object(
              {
                hard: z.record(z.string()).optional(),
                defaultLimits: z.record(z.string()).optional(),
                defaultRequests: z.record(z.string()).optional(),
              },
              { description: 'Explicit ResourceQuota / LimitRange values' },
            )
            .optional(),
        releases: z =>
          z.array(releaseSchema(z), {
            description:
              'Helm releases installed in order (e.g. database, API, frontend)',
          }),
        credentials: z =>
          z
            .array(z.string(), {
              description:
                'Credentials to generate for the tenant (kept only in a Secret in its namespace, passed to Helm as values)',
            })
            .optional(),
        waitTimeoutSeconds: z =>
          z
            .number({ description: 'Deadline for every workload to be Ready' })
            .int()
            .positive()
            .optional(),
        pruneReleases: z =>
          z
            .boolean({
              description:
                'On an existing tenant: uninstall releases it has that this input no longer lists (default: keep them)',
            })
            .optional(),
      },
      output: {
        ...runOutput,
        namespace: z => z.string({ description: 'The tenant namespace' }),
      },
    },
    async handler(ctx) {
      await withTaskErrors(async () => {
        const { input } = ctx;
        const releases: ReleaseSpec[] = input.releases
          .filter(r => r.enabled !== false)
          .map(r => ({
            name: r.name,
            chart: r.chart,
            repo: r.repo || undefined,
            version: r.version || undefined,
            values: valuesFromInput(r.values, `values of release ${r.name}`),
          }));
        const request: TenantRunInput & { entityRef?: string } = {
          kind: 'tenant',
          cluster: input.cluster,
          tenant: input.tenant,
          displayName: input.displayName,
          owner: input.owner,
          quota:
            input.quota ??
            (input.quotaPreset ? QUOTA_PRESETS[input.quotaPreset] : undefined),
          releases,
          credentials: input.credentials,
          waitTimeoutSeconds: input.waitTimeoutSeconds,
          pruneReleases: input.pruneReleases,
          entityRef: input.entityRef,
        };
        ctx.output('namespace', tenantNamespace(input.tenant));
        await executeRun(ctx, options, request);
      });
    },
  });
}
