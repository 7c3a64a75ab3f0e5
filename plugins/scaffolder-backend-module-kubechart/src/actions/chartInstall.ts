import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { ChartRunInput } from '@kubechart/plugin-kubechart-common';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';
import { examples } from './chartInstall.examples';
import { ActionLinks, executeRun } from './runAction';
import { commonInput, runOutput, Z } from './schemas';
import { withTaskErrors } from './taskError';
import { valuesFromInput } from './values';

/** Inputs shared by `kubechart:chart:install` and `kubechart:chart:validate`. */
export const chartInput = {
  ...commonInput,
  namespace: (z: Z) =>
    z.string({ description: 'Namespace to install the release into' }),
  release: (z: Z) => z.string({ description: 'Release name (DNS-1123 label)' }),
  chart: (z: Z) =>
    z.string({
      description:
        'Chart name in the repository, a chart directory known to kubechart, or an oci:// reference',
    }),
  repo: (z: Z) =>
    z.string({ description: 'Chart repository URL (https only)' }).optional(),
  version: (z: Z) => z.string({ description: 'Chart version' }).optional(),
  values: (z: Z) =>
    z
      .union([z.record(z.unknown()), z.string()], {
        description: 'Helm values, as an object or a YAML string',
      })
      .optional(),
};

/** Builds the engine request of a chart run from the action input. */
export function chartRequest(input: {
  cluster: string;
  namespace: string;
  release: string;
  chart: string;
  repo?: string;
  version?: string;
  values?: unknown;
  entityRef?: string;
  waitTimeoutSeconds?: number;
}): ChartRunInput & { entityRef?: string } {
  return {
    kind: 'chart',
    cluster: input.cluster,
    namespace: input.namespace,
    release: {
      name: input.release,
      chart: input.chart,
      // Forms leave optional fields as empty strings.
      repo: input.repo || undefined,
      version: input.version || undefined,
      values: valuesFromInput(input.values),
    },
    waitTimeoutSeconds: input.waitTimeoutSeconds,
    entityRef: input.entityRef,
  };
}

/**
 * `kubechart:chart:install`: renders the chart, checks what it renders against the chart policy
 * (an enforced failure installs nothing), then `helm upgrade --install` and waits for readiness.
 * @public
 */
export function createChartInstallAction(options: {
  runs: KubechartRunsService;
  links: ActionLinks;
  pollIntervalMs?: number;
  /** How often a run waiting for approval is polled (ms); default 5000. */
  approvalPollIntervalMs?: number;
}) {
  return createTemplateAction({
    id: 'kubechart:chart:install',
    description:
      'Installs or upgrades a Helm chart after a blocking policy check of what it renders; recorded in deployment history.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...chartInput,
        waitTimeoutSeconds: z =>
          z
            .number({
              description: 'Deadline for the release’s workloads to be Ready',
            })
            .int()
            .positive()
            .optional(),
      },
      output: {
        ...runOutput,
        revision: z =>
          z
            .number({
              description: 'Helm revision of the release after the run',
            })
            .optional(),
      },
    },
    async handler(ctx) {
      await withTaskErrors(async () => {
        const request = chartRequest(ctx.input);
        const run = await executeRun(ctx, options, request);
        if (run?.helmRevision !== undefined) {
          ctx.output('revision', run.helmRevision);
        }
      });
    },
  });
}
