import {
  BackstageCredentials,
  HttpAuthService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  checkRelayingPlugin,
  PLUGIN_PRINCIPAL_PATTERN,
  readRelayingPlugins as readRelayingPluginsAt,
  relayingPluginOf,
} from '@kubechart/plugin-audit-log-common';

/**
 * Service principals whose `onBehalfOf` is honoured unless `kubechart.onBehalfOf.allowedServices`
 * says otherwise: none. The shipped scaffolder actions pass the user's own token and send no
 * `onBehalfOf`; a service that relays runs for users is named in the setting.
 */
export const DEFAULT_ON_BEHALF_OF_SERVICES: string[] = [];

const SETTING = 'kubechart.onBehalfOf.allowedServices';

/**
 * Plugins that may pass a user's request on to kubechart with the user's credentials
 * (`getPluginRequestToken({ onBehalfOf })`, which Backstage delivers as the user with the plugin as
 * its `actor`, the last plugin that passed them on) unless `kubechart.onBehalfOf.relayingPlugins`
 * says otherwise: the scaffolder (its kubechart actions, and the actions of the actions registry a
 * template step invokes), kubechart itself (its actions call its REST API) and Backstage's MCP
 * actions backend (it invokes kubechart's actions for an agent's user).
 */
export const DEFAULT_RELAYING_PLUGINS: string[] = [
  'plugin:scaffolder',
  'plugin:kubechart',
  'plugin:mcp-actions',
];

/** The setting that lists the plugins that may pass a user's credentials on to kubechart. */
export const RELAY_SETTING = 'kubechart.onBehalfOf.relayingPlugins';

/**
 * A service principal as Backstage names it in a token's subject: `plugin:<plugin id>` (a plugin's
 * own token, the id as Backstage allows it) or `external:<subject>` (external access).
 */
const SERVICE_PRINCIPAL =
  /^(?:plugin:[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*|external:\S+)$/i;

/**
 * Reads `kubechart.onBehalfOf.allowedServices`. Throws (the backend does not start) on an entry that
 * is not a service principal: `scaffolder` for `plugin:scaffolder` would match no caller, and the
 * relay it meant to allow would be refused without anyone saying why.
 */
export function readOnBehalfOfServices(config: Config): string[] {
  const services = config.getOptionalStringArray(SETTING);
  if (services === undefined) return DEFAULT_ON_BEHALF_OF_SERVICES;
  services.forEach((s, i) => {
    if (!SERVICE_PRINCIPAL.test(s)) {
      throw new Error(
        `${SETTING}[${i}] is ${JSON.stringify(
          s,
        )}, which is not a service principal: write plugin:<plugin id> (e.g. plugin:scaffolder) or external:<subject> (an external access subject)`,
      );
    }
  });
  return services;
}

/**
 * Reads `kubechart.onBehalfOf.relayingPlugins` (default {@link DEFAULT_RELAYING_PLUGINS}); throws
 * (the backend does not start) on an entry that is not `plugin:<plugin id>`: credentials passed on
 * always name a plugin as their actor, so an `external:` entry would match nothing.
 */
export function readRelayingPlugins(config: Config): string[] {
  return readRelayingPluginsAt(config, RELAY_SETTING, DEFAULT_RELAYING_PLUGINS);
}

export type EffectiveActor = {
  /** The user a request acts for, or the caller itself (a user's ref or `service:<subject>`). */
  actor: string;
  /** When a service relays the request for a user (`onBehalfOf` honoured): that service, `service:<subject>`. */
  relayedBy?: string;
  /**
   * When a plugin passed the user's own credentials on (a user token whose `actor` is that plugin,
   * allowed by `kubechart.onBehalfOf.relayingPlugins`): that plugin, `plugin:<id>`. The request is
   * the user's (their permissions, their catalog view); the audit trail names the plugin as `relayedBy`.
   */
  passedOnBy?: string;
};

/** The plugin kubechart's actions pass a user's credentials on as. */
export const KUBECHART_PLUGIN = 'plugin:kubechart';

/** The plugin that invoked kubechart's action, by the credentials of that action's REST call. */
const actionInvokers = new WeakMap<BackstageCredentials, string>();

/**
 * The plugin that passed a user's credentials on, when the credentials carry one (Backstage's
 * `principal.actor` of a token from `getPluginRequestToken({ onBehalfOf })`), or undefined for a
 * user's own token and for a service. A plugin not in `relayingPlugins` is refused with
 * NotAllowedError (403, naming the setting): only those plugins may act as a user. A call of
 * kubechart's own actions has passed through two plugins, the one that invoked the action and
 * `plugin:kubechart` (see {@link withActionRelays}): both must be listed; the invoking one is returned.
 * The check is the one the audit log and the assistant make (`checkRelayingPlugin`).
 */
export function relayingPlugin(
  credentials: BackstageCredentials,
  relayingPlugins: string[],
): string | undefined {
  return checkRelayingPlugin(
    credentials,
    { plugins: relayingPlugins, setting: RELAY_SETTING, target: 'kubechart' },
    actionInvokers.get(credentials),
  );
}

/**
 * The header in which kubechart's actions name the plugin that invoked them (`plugin:mcp-actions`,
 * `plugin:scaffolder`) when they call kubechart's REST API with the user's credentials: Backstage
 * delivers those as passed on by `plugin:kubechart`, the last plugin that passed them on.
 */
export const ACTION_INVOKER_HEADER = 'x-kubechart-action-invoked-by';

/**
 * The plugin that passed a user's credentials on (`principal.actor`), allowed or not, for the audit
 * trail's `relayedBy`; undefined for a user's own token and for a service. For a call of kubechart's
 * own actions, the plugin that invoked the action (see {@link withActionRelays}).
 */
export function passedOnBy(
  credentials: BackstageCredentials,
): string | undefined {
  return actionInvokers.get(credentials) ?? relayingPluginOf(credentials);
}

/**
 * `httpAuth` for kubechart's REST API: the credentials of a call of kubechart's own actions (a
 * user's credentials passed on by `plugin:kubechart`) that names the plugin that invoked the action
 * in {@link ACTION_INVOKER_HEADER} are taken as passed on by that plugin ({@link passedOnBy}):
 * `relayingPlugins` is checked against it, and the audit trail names it as `relayedBy`. The header is
 * honoured from kubechart's actions only (credentials that plugin:kubechart passed on, which only this
 * plugin can issue); from anyone else it changes nothing. One that does not name a plugin is refused
 * (400).
 */
export function withActionRelays(httpAuth: HttpAuthService): HttpAuthService {
  return {
    credentials: (async (req: any, options: any) => {
      const credentials = await httpAuth.credentials(req, options);
      const invoker = req.headers?.[ACTION_INVOKER_HEADER];
      if (
        invoker !== undefined &&
        relayingPluginOf(credentials) === KUBECHART_PLUGIN
      ) {
        if (
          typeof invoker !== 'string' ||
          !PLUGIN_PRINCIPAL_PATTERN.test(invoker)
        )
          throw new InputError(
            `${ACTION_INVOKER_HEADER} is ${JSON.stringify(
              invoker,
            )}, which is not a plugin: kubechart's actions name the plugin that invoked them as plugin:<plugin id>; nothing was done`,
          );
        actionInvokers.set(credentials, invoker);
      }
      return credentials;
    }) as HttpAuthService['credentials'],
    issueUserCookie: (res, options) => httpAuth.issueUserCookie(res, options),
  };
}

/**
 * Refuses (NotAllowedError, 403) a user's credentials passed on by any plugin, for approvals: a
 * template step or a tool that passes its initiator's credentials on would otherwise approve or
 * reject as that user whenever they merely ran it. Only the approver's own token decides.
 */
export function refusePassedOnDecision(credentials: BackstageCredentials) {
  const by = passedOnBy(credentials);
  if (!by) return;
  const user = (credentials.principal as { userEntityRef?: string })
    .userEntityRef;
  throw new NotAllowedError(
    `Approvals are decided only with the approver's own token: ${user}'s credentials were passed on by ${by}; nothing was decided. ${user} approves or rejects in the portal`,
  );
}

/**
 * Who a request acts as. Without `onBehalfOf` the caller acts as itself: a user as the user, a
 * service as `service:<subject>`. With it, a service on the allow-list acts for the user it names
 * (`relayedBy` says which service relayed it); anyone else is refused with NotAllowedError (403,
 * naming the setting): a request whose `onBehalfOf` is not honoured would otherwise run with the
 * sending service's own rights, which Backstage makes every permission. Rate limits and history use
 * this actor. InputError (400) when an honoured `onBehalfOf` is not a user entity ref. A user's
 * credentials passed on by a plugin are the user's only from `relayingPlugins` (`passedOnBy`),
 * refused otherwise (see {@link relayingPlugin}).
 */
export function effectiveActor(
  credentials: BackstageCredentials,
  onBehalfOf: string | undefined,
  allowedServices: string[],
  relayingPlugins: string[] = DEFAULT_RELAYING_PLUGINS,
): EffectiveActor {
  const p = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  const self =
    p.type === 'user' ? String(p.userEntityRef) : `service:${p.subject}`;
  const relayedBy = relayingPlugin(credentials, relayingPlugins);
  if (onBehalfOf === undefined)
    return { actor: self, ...(relayedBy ? { passedOnBy: relayedBy } : {}) };
  if (p.type === 'user' || !allowedServices.includes(String(p.subject))) {
    throw new NotAllowedError(
      `${self} may not act on behalf of ${onBehalfOf}: onBehalfOf is honoured only from the services listed in ${SETTING}; nothing was done. Call without onBehalfOf${
        p.type === 'user'
          ? ''
          : ` to act as ${self} (with only what ${self} owns), or with the user's own token`
      }`,
    );
  }
  let ref;
  try {
    ref = parseEntityRef(onBehalfOf);
  } catch {
    throw new InputError(
      `Invalid onBehalfOf "${onBehalfOf}": expected a user entity ref such as user:default/jane`,
    );
  }
  if (ref.kind.toLocaleLowerCase('en-US') !== 'user') {
    throw new InputError(
      `Invalid onBehalfOf "${onBehalfOf}": expected a user entity ref such as user:default/jane`,
    );
  }
  return { actor: stringifyEntityRef(ref), relayedBy: self };
}

/**
 * Refuses (NotAllowedError, 403) a relayed run that names an entity. Whether a run may name an
 * entity depends on what the catalog shows its user (an entity hidden from them is another team's),
 * and the catalog can be read only with the relaying service's credentials, which see everything:
 * the user starts such a run with their own token (as the shipped scaffolder actions do).
 */
export function refuseRelayedEntityRef(
  { actor, relayedBy }: EffectiveActor,
  entityRef: string | undefined,
): void {
  if (!relayedBy || entityRef === undefined) return;
  throw new NotAllowedError(
    `A run relayed by ${relayedBy} for ${actor} may not name an entity (entityRef ${entityRef}): the catalog cannot be read as ${actor}, so whether ${actor} may see that entity cannot be checked; ${actor} must start the run with their own token`,
  );
}

/** The plugin whose relayed requests may name the Software Template a run came from. */
const TEMPLATE_RELAY = 'plugin:scaffolder';

/**
 * Refuses (NotAllowedError, 403) a run that names the Software Template it came from (`template`)
 * unless the scaffolder passed the user's request on: the history shows the template beside the
 * user, and anyone else naming one (`template:default/platform-approved-golden-path`) would make a
 * run look started by a template that never ran.
 */
export function refuseUnrelayedTemplate(
  { passedOnBy: relay }: EffectiveActor,
  template: string | undefined,
): void {
  if (template === undefined || relay === TEMPLATE_RELAY) return;
  throw new NotAllowedError(
    `This run names the Software Template ${template}, but only the scaffolder (${TEMPLATE_RELAY}) names the Software Template a run came from, and this request ${
      relay ? `was passed on by ${relay}` : 'came from its caller directly'
    }; nothing was done. Send it without template.`,
  );
}
