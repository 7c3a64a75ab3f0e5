import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';
import { chartInput, chartRequest } from './chartInstall';
import { examples } from './chartValidate.examples';
import { previewAndLog } from './preview';
import { TaskFailure, withTaskErrors } from './taskError';

/**
 * `kubechart:chart:validate`: renders a chart and reports the chart policy result. Installs nothing.
 * @public
 */
export function createChartValidateAction(options: {
  runs: KubechartRunsService;
}) {
  return createTemplateAction({
    id: 'kubechart:chart:validate',
    description:
      'Renders a Helm chart with the given values and checks it against the chart policy. Changes nothing.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...chartInput,
        failOnError: z =>
          z
            .boolean({
              description:
                'Fail the step when the policy would block the install (default false)',
            })
            .optional(),
      },
      output: {
        passed: z =>
          z.boolean({ description: 'True when no error-severity rule failed' }),
        blocking: z =>
          z.boolean({
            description:
              'True when the enforced policy would refuse the install',
          }),
        errors: z =>
          z.number({ description: 'Number of failed error-severity checks' }),
        warnings: z =>
          z.number({ description: 'Number of failed warning-severity checks' }),
        report: z =>
          z.array(
            z.object({
              ruleId: z.string(),
              severity: z.string(),
              object: z.string(),
              message: z.string(),
              fix: z.string(),
            }),
            { description: 'The failed checks' },
          ),
      },
    },
    async handler(ctx) {
      await withTaskErrors(async () => {
        const preview = await previewAndLog(
          ctx,
          options.runs,
          chartRequest(ctx.input),
        );
        const report = preview.policyReport;
        const failed = (report?.results ?? []).filter(r => !r.passed);
        ctx.output('passed', report?.passed ?? true);
        ctx.output('blocking', report?.blocking ?? false);
        ctx.output('errors', report?.summary.errors ?? 0);
        ctx.output('warnings', report?.summary.warnings ?? 0);
        ctx.output(
          'report',
          failed.map(r => ({
            ruleId: r.ruleId,
            severity: r.severity,
            object: `${r.object.kind}/${r.object.name}`,
            message: r.message,
            fix: r.fix,
          })),
        );
        if (ctx.input.failOnError && report?.blocking) {
          throw new TaskFailure(
            `The chart policy refuses this chart: ${report.summary.errors} error(s); see the log for each rule and its fix.`,
          );
        }
      });
    },
  });
}
