import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';

/** Service principals whose `onBehalfOf` is honoured unless `kubechart.onBehalfOf.allowedServices` says otherwise. */
export const DEFAULT_ON_BEHALF_OF_SERVICES = ['plugin:scaffolder'];

/** Reads `kubechart.onBehalfOf.allowedServices`. */
export function readOnBehalfOfServices(config: Config): string[] {
  return (
    config.getOptionalStringArray('kubechart.onBehalfOf.allowedServices') ??
    DEFAULT_ON_BEHALF_OF_SERVICES
  );
}

/**
 * Who a request acts as. A user acts as itself. A service acts for the user it names in
 * `onBehalfOf` only when it is on the allow-list (the scaffolder, which runs templates for the user
 * who started them); any other service acts as itself (`service:<subject>`), and `ignored` says that
 * its `onBehalfOf` was not honoured. Rate limits and history use this actor.
 */
export function effectiveActor(
  credentials: BackstageCredentials,
  onBehalfOf: string | undefined,
  allowedServices: string[],
): { actor: string; ignored: boolean } {
  const p = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  if (p.type === 'user')
    return { actor: p.userEntityRef!, ignored: onBehalfOf !== undefined };
  const self = `service:${p.subject}`;
  if (onBehalfOf === undefined) return { actor: self, ignored: false };
  if (!allowedServices.includes(String(p.subject)))
    return { actor: self, ignored: true };
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
  return { actor: stringifyEntityRef(ref), ignored: false };
}
