import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError, NotAllowedError } from '@backstage/errors';

/**
 * Service principals whose `onBehalfOf` is honoured unless `kubechart.onBehalfOf.allowedServices`
 * says otherwise: none. The shipped scaffolder actions pass the user's own token and send no
 * `onBehalfOf`; a service that relays runs for users is named in the setting.
 */
export const DEFAULT_ON_BEHALF_OF_SERVICES: string[] = [];

const SETTING = 'kubechart.onBehalfOf.allowedServices';

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

/** Who a request acts as (see {@link effectiveActor}). */
export type EffectiveActor = {
  /** The user a request acts for, or the caller itself (a user's ref or `service:<subject>`). */
  actor: string;
  /** When a service relays the request for a user (`onBehalfOf` honoured): that service, `service:<subject>`. */
  relayedBy?: string;
};

/**
 * Who a request acts as. Without `onBehalfOf` the caller acts as itself: a user as the user, a
 * service as `service:<subject>`. With it, a service on the allow-list acts for the user it names
 * (`relayedBy` says which service relayed it); anyone else is refused with NotAllowedError (403,
 * naming the setting): a request whose `onBehalfOf` is not honoured would otherwise run with the
 * sending service's own rights, which Backstage makes every permission. Rate limits and history use
 * this actor. InputError (400) when an honoured `onBehalfOf` is not a user entity ref.
 */
export function effectiveActor(
  credentials: BackstageCredentials,
  onBehalfOf: string | undefined,
  allowedServices: string[],
): EffectiveActor {
  const p = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  const self =
    p.type === 'user' ? String(p.userEntityRef) : `service:${p.subject}`;
  if (onBehalfOf === undefined) return { actor: self };
  if (p.type === 'user' || !allowedServices.includes(String(p.subject))) {
    throw new NotAllowedError(
      `${self} may not act on behalf of ${onBehalfOf}: onBehalfOf is honoured only from the services listed in ${SETTING}; nothing was done. Call without onBehalfOf${
        p.type === 'user'
          ? ''
          : ` to act as ${self}, or with the user's own token`
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
