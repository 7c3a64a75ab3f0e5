import type { TemplateActionOptions } from '@backstage/plugin-scaffolder-node';

/**
 * The zod the scaffolder hands to schema functions (`zod/v3` as @backstage/plugin-scaffolder-node
 * resolves it), so that shared fields type-check against the same copy.
 */
export type Z = Parameters<
  NonNullable<NonNullable<TemplateActionOptions['schema']>['input']>[string]
>[0];

/** Input fields shared by every kubechart action. */
export const commonInput = {
  cluster: (z: Z) =>
    z.string({
      description:
        'Cluster name, as listed under kubernetes.clusterLocatorMethods in the app config',
    }),
  entityRef: (z: Z) =>
    z
      .string({
        description:
          'Catalog entity the run belongs to (its deployment history), e.g. component:default/payments',
      })
      .optional(),
};

/** A Helm release as a template passes it. */
export const releaseSchema = (z: Z) =>
  z.object({
    name: z.string({ description: 'Release name (DNS-1123 label)' }),
    chart: z.string({
      description:
        'Chart name in the repository, a chart directory known to kubechart, or an oci:// reference',
    }),
    repo: z
      .string({ description: 'Chart repository URL (https only)' })
      .optional(),
    version: z.string({ description: 'Chart version' }).optional(),
    values: z
      .union([z.record(z.unknown()), z.string()], {
        description: 'Helm values, as an object or a YAML string',
      })
      .optional(),
    enabled: z
      .boolean({
        description:
          'Set to false to leave this release out (lets a form toggle a release)',
      })
      .optional(),
  });

/** Outputs every run-starting action sets. */
export const runOutput = {
  runId: (z: Z) =>
    z.string({ description: 'Id of the kubechart run (deployment history)' }),
  status: (z: Z) => z.string({ description: 'Final status of the run' }),
  historyUrl: (z: Z) =>
    z
      .string({ description: "Link to the entity's deployment-history tab" })
      .optional(),
};
