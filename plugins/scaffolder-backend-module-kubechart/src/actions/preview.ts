import type { ActionContext } from '@backstage/plugin-scaffolder-node';
import type {
  CreateRunRequest,
  RunPreview,
} from '@kubechart/plugin-kubechart-common';
import {
  formatPolicyFailures,
  type KubechartRunsService,
} from '@kubechart/plugin-kubechart-node';
import { initiatorCredentials } from './initiator';
import { assertRequestWithinBodyLimits } from './values';

/**
 * Asks the engine to validate a run and render what it would apply, with the chart policy report,
 * without changing anything in a cluster. Used for dry runs and by `kubechart:chart:validate`.
 */
export async function previewAndLog(
  ctx: ActionContext<any, any>,
  runs: KubechartRunsService,
  request: CreateRunRequest,
): Promise<RunPreview> {
  assertRequestWithinBodyLimits(request);
  const credentials = await initiatorCredentials(ctx);
  const preview = await runs.previewRun(request, { credentials });
  const report = preview.policyReport;
  if (report) {
    const { objects, errors, warnings } = report.summary;
    ctx.logger.info(
      `Policy (${report.mode}): ${objects} objects checked, ${errors} errors, ${warnings} warnings`,
    );
    const errorLines = formatPolicyFailures(report, 'error');
    const warningLines = formatPolicyFailures(report, 'warning');
    if (errorLines) ctx.logger.error(errorLines);
    if (warningLines) ctx.logger.warn(warningLines);
    if (report.blocking) {
      ctx.logger.error('The policy is enforced: this run would be refused.');
    }
  }
  ctx.logger.info(
    `Dry run: would act on ${preview.target.cluster}/${
      preview.target.namespace
    }${
      preview.target.release ? ` (release ${preview.target.release})` : ''
    }; nothing was applied.`,
  );
  return preview;
}
