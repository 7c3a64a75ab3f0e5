import type { Config } from '@backstage/config';
import { NotAllowedError } from '@backstage/errors';

/**
 * A plugin as Backstage names it as the `actor` of a user's credentials it passed on:
 * `plugin:<plugin id>`, the id as Backstage allows it.
 *
 * @public
 */
export const PLUGIN_PRINCIPAL_PATTERN =
  /^plugin:[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/i;

/**
 * Credentials as a backend plugin receives them (`BackstageCredentials` of
 * `@backstage/backend-plugin-api`): only the principal is read.
 *
 * @public
 */
export type RelayedCredentials = { principal: unknown };

/**
 * The plugin that passed a user's credentials on (Backstage's `principal.actor` of a token from
 * `getPluginRequestToken({ onBehalfOf })`: the last plugin that passed them on), as
 * `plugin:<plugin id>`; undefined for a user's own token and for a service.
 *
 * @public
 */
export function relayingPluginOf(
  credentials: RelayedCredentials,
): string | undefined {
  const p = credentials.principal as {
    type?: string;
    actor?: { subject?: unknown };
  };
  return p?.type === 'user' && p.actor ? String(p.actor.subject) : undefined;
}

/**
 * Which plugins may pass a signed-in user's credentials on to a backend plugin, and how that
 * plugin names the setting and itself in a refusal.
 *
 * @public
 */
export type RelayingPluginsPolicy = {
  /** The plugins allowed, `plugin:<plugin id>`. */
  plugins: string[];
  /** The configuration key that lists them, e.g. `auditLog.onBehalfOf.relayingPlugins`. */
  setting: string;
  /** The plugin the credentials were passed on to, as a refusal names it, e.g. `audit-log`. */
  target: string;
};

/**
 * Reads the list of plugins at `setting` (`defaults` when it is not set). Throws, so that the
 * backend does not start, on an entry that is not `plugin:<plugin id>`: credentials passed on
 * always name a plugin as their actor, so `scaffolder` or an `external:` subject would match
 * nothing, and the relay it meant to allow would be refused without anyone saying why.
 *
 * @public
 */
export function readRelayingPlugins(
  config: Pick<Config, 'getOptionalStringArray'>,
  setting: string,
  defaults: string[],
): string[] {
  const plugins = config.getOptionalStringArray(setting);
  if (plugins === undefined) return defaults;
  plugins.forEach((s, i) => {
    if (!PLUGIN_PRINCIPAL_PATTERN.test(s)) {
      throw new Error(
        `${setting}[${i}] is ${JSON.stringify(
          s,
        )}, which is not a plugin: write plugin:<plugin id> (e.g. plugin:scaffolder); a user's credentials are passed on by a plugin, never by an external access subject`,
      );
    }
  });
  return plugins;
}

/**
 * What a backend plugin's actions refuse when its own actor is not among its relaying plugins: its
 * actions call its REST API with the user's credentials passed on by the plugin itself.
 *
 * @public
 */
export type OwnActorLeftOut = {
  /** The configuration key that lists the plugins, e.g. `auditLog.onBehalfOf.relayingPlugins`. */
  setting: string;
  /** The plugin's own actor, `plugin:<plugin id>`. */
  actor: string;
  /** The actions refused, e.g. `every kubechart.* action` or `the audit-log:query-audit-events action`. */
  refused: string;
  /** How they are invoked, when the warning names it, e.g. `MCP, a template step`. */
  invokedBy?: string;
  /** What the actions do with the credentials, e.g. `the actions call the kubechart REST API`. */
  calls: string;
  /** What adding the actor offers again, e.g. `the actions`. */
  offers: string;
};

/**
 * Warns, once at start-up, when `plugins` (from {@link readRelayingPlugins}) leave out the plugin's
 * own actor: every one of its actions is then refused (403) to every user, however it is invoked,
 * which would otherwise be told only to each user who invokes one.
 *
 * @public
 */
export function warnWhenOwnActorLeftOut(
  logger: { warn(message: string): void },
  plugins: string[],
  own: OwnActorLeftOut,
): void {
  if (plugins.includes(own.actor)) return;
  const { setting, actor, refused, invokedBy, calls, offers } = own;
  logger.warn(
    `${setting} leaves out ${actor}: ${refused} is refused (403) to every user, however it is invoked${
      invokedBy ? ` (${invokedBy})` : ''
    }, since ${calls} with the user's credentials passed on by ${actor}. Add ${actor} to the list to offer ${offers}.`,
  );
}

/**
 * The plugin that passed a user's credentials on, when one did and the policy allows it; undefined
 * for a user's own token and for a service. A plugin the policy does not list is refused with
 * NotAllowedError (403), naming the plugin and the setting: only the listed plugins may act as a
 * user. `invokedBy` is the plugin that asked the one that passed the credentials on (the plugin
 * that invoked an action calling its own plugin's REST API): both must be listed, and `invokedBy`
 * is returned.
 *
 * @public
 */
export function checkRelayingPlugin(
  credentials: RelayedCredentials,
  policy: RelayingPluginsPolicy,
  invokedBy?: string,
): string | undefined {
  const actor = relayingPluginOf(credentials);
  if (actor === undefined) return undefined;
  const refused = [actor, invokedBy].find(
    (p): p is string => p !== undefined && !policy.plugins.includes(p),
  );
  if (refused === undefined) return invokedBy ?? actor;
  const { userEntityRef } = credentials.principal as {
    userEntityRef?: string;
  };
  throw new NotAllowedError(
    `${refused} may not act on behalf of ${userEntityRef}: a user's credentials are accepted when passed on only from the plugins listed in ${policy.setting}; nothing was done. ${userEntityRef} calls ${policy.target} with their own token`,
  );
}
