import type {
  BackstageCredentials,
  BackstageUserPrincipal,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';

/**
 * Refuses credentials whose principal is not a signed-in user, before they are passed on to the
 * kubechart backend (as {@link KubechartRunsClient} does, with `getPluginRequestToken({ onBehalfOf })`).
 * Backstage passes a user's credentials on as that user, but a service's as the calling plugin's own
 * token: the backend would authorize, scope, rate-limit and audit an external service's request as
 * that plugin (`service:plugin:scaffolder`, `service:plugin:kubechart`). Code that acts for whoever
 * called it (an action of the actions registry, a scaffolder action) calls this first; a service
 * calls the kubechart REST API with its own token instead, where it is seen as itself.
 *
 * `refusal` words the `NotAllowedError` from a description of the caller:
 * `service:<subject> is a service`, or `the caller is not signed in`.
 * @public
 */
export function assertSignedInUser(
  credentials: BackstageCredentials,
  refusal: (caller: string) => string,
): asserts credentials is BackstageCredentials<BackstageUserPrincipal> {
  const principal = credentials.principal as {
    type: string;
    subject?: string;
  };
  if (principal.type === 'user') return;
  throw new NotAllowedError(
    refusal(
      principal.type === 'service'
        ? `service:${principal.subject} is a service`
        : 'the caller is not signed in',
    ),
  );
}
