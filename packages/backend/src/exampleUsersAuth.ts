import { createBackendModule } from '@backstage/backend-plugin-api';
import { AuthenticationError } from '@backstage/errors';
import {
  authProvidersExtensionPoint,
  createProxyAuthProviderFactory,
  createProxyAuthenticator,
} from '@backstage/plugin-auth-node';

/** The header naming the example user to sign in as. */
export const EXAMPLE_USER_HEADER = 'x-kubechart-example-user';

/**
 * A development-only sign-in for the example app's other catalog users (approvals need a second
 * person: the requester may never approve their own run). `GET /api/auth/example-users/refresh` with
 * the header `x-kubechart-example-user: user:default/reviewer` signs in as that catalog user, if it is
 * listed in `auth.providers.example-users.users`. It trusts a request header, like any proxy provider,
 * so it exists only in the example app's development config, never in app-config.production.yaml;
 * without that config the module registers nothing.
 */
export const exampleUsersAuthModule = createBackendModule({
  pluginId: 'auth',
  moduleId: 'example-users',
  register(reg) {
    reg.registerInit({
      deps: { providers: authProvidersExtensionPoint },
      async init({ providers }) {
        providers.registerProvider({
          providerId: 'example-users',
          factory: createProxyAuthProviderFactory({
            authenticator: createProxyAuthenticator({
              defaultProfileTransform: async (result: {
                userEntityRef: string;
              }) => ({
                profile: {
                  displayName: result.userEntityRef.replace(
                    /^user:default\//,
                    '',
                  ),
                },
              }),
              initialize: ({ config }) => {
                // Like the guest provider, a header-trusting sign-in works in development only; elsewhere
                // (e.g. app-config.production.yaml merged over this config) it refuses everyone.
                return {
                  users:
                    process.env.NODE_ENV === 'development'
                      ? config.getStringArray('users')
                      : [],
                };
              },
              async authenticate({ req }, ctx: { users: string[] }) {
                const user = req.header(EXAMPLE_USER_HEADER);
                if (!ctx.users.length)
                  throw new AuthenticationError(
                    'The example-users sign-in works in local development only',
                  );
                if (!user || !ctx.users.includes(user)) {
                  throw new AuthenticationError(
                    `Sign in as one of ${ctx.users.join(
                      ', ',
                    )} with the ${EXAMPLE_USER_HEADER} header`,
                  );
                }
                return { result: { userEntityRef: user } };
              },
            }),
            // Ownership (the user's groups) comes from the catalog, as for any real sign-in.
            signInResolver: async ({ result }, ctx) =>
              ctx.signInWithCatalogUser({ entityRef: result.userEntityRef }),
          }),
        });
      },
    });
  },
});
