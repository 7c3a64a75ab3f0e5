import type { ActionContext } from '@backstage/plugin-scaffolder-node';
import { assertSignedInUser } from '@kubechart/plugin-kubechart-node';

/**
 * The credentials of the user who started the task, to act for. A task started with a service's
 * token (`POST /api/scaffolder/v2/tasks` by `external:ci-bot`) is refused before anything is sent:
 * Backstage passes a service's credentials on as the scaffolder plugin's own token, so the kubechart
 * backend would authorize, rate-limit and record the run as `service:plugin:scaffolder` instead of
 * the real caller. A service starts runs through the kubechart REST API with its own token.
 */
export async function initiatorCredentials(ctx: ActionContext<any, any>) {
  const credentials = await ctx.getInitiatorCredentials();
  assertSignedInUser(
    credentials,
    caller =>
      `This step acts for a signed-in user; ${caller} (the task's initiator), which the kubechart backend would see as the scaffolder plugin itself: its rights, its rate limit, its name as the run's actor and in the audit trail. A service starts runs through POST /api/kubechart/runs with its own token`,
  );
  return credentials;
}
