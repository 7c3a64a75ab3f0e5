import { Config } from '@backstage/config';
import { parseEntityRef } from '@backstage/catalog-model';

/**
 * What a user entity's name may hold: the catalog's entity name rules
 * (letters, digits, `-`, `_`, `.`; at most 63). Never `:` or `/`, so a
 * prefix ending in one of them cannot make two users meet.
 */
const ENTITY_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** Prefixes of Kubernetes user names per catalog namespace (`kubeAssistant.impersonationUserPrefixes`). */
export type ImpersonationPrefixes = Record<string, string>;

/**
 * Reads `kubeAssistant.impersonationUserPrefixes`, refusing at start-up a
 * map under which two catalog users could become the same Kubernetes user.
 */
export function readImpersonationPrefixes(
  config: Config,
): ImpersonationPrefixes {
  const key = 'kubeAssistant.impersonationUserPrefixes';
  const map = config.getOptionalConfig(key);
  const prefixes: ImpersonationPrefixes = {};
  const owners = new Map<string, string>();
  for (const namespace of map?.keys() ?? []) {
    const prefix = map!.getString(namespace);
    if (!/^[A-Za-z0-9._-]+[:/]$/.test(prefix) || /^system:/i.test(prefix)) {
      throw new Error(
        `${key}.${namespace} must be letters, digits, ".", "_" or "-" ending in ":" or "/" (e.g. "${namespace}/"), and not "system:"; got "${prefix}"`,
      );
    }
    const other = owners.get(prefix);
    if (other !== undefined) {
      throw new Error(
        `${key}: namespaces ${other} and ${namespace} have the same prefix "${prefix}", so their users of the same name would be one Kubernetes user`,
      );
    }
    owners.set(prefix, namespace);
    prefixes[namespace] = prefix;
  }
  return prefixes;
}

/**
 * The Kubernetes user name a signed-in user is impersonated as, or why
 * there is none. A user of the catalog namespace `default` keeps their bare
 * name (`user:default/alice` → `alice`, what existing RoleBindings name); a
 * user of a namespace given a prefix becomes `<prefix><name>`
 * (`team-b/` → `team-b/bob`). Any other user is refused: as `alice`,
 * `user:team-a/alice` would act as `user:default/alice`.
 */
export function impersonatedUser(
  userRef: string,
  prefixes: ImpersonationPrefixes = {},
): { user: string; refusal?: undefined } | { refusal: string } {
  const intro =
    'With kubeAssistant.impersonation the assistant acts on the cluster as the signed-in user, and';
  let ref;
  try {
    ref = parseEntityRef(userRef);
  } catch {
    return { refusal: `${intro} "${userRef}" is not a user reference.` };
  }
  if (ref.kind.toLocaleLowerCase('en-US') !== 'user') {
    return { refusal: `${intro} ${userRef} is not a user.` };
  }
  if (!ENTITY_NAME.test(ref.name)) {
    return {
      refusal: `${intro} the name of ${userRef} is not a catalog entity name, so it has no Kubernetes user name. Nothing was run.`,
    };
  }
  const prefix = prefixes[ref.namespace];
  if (prefix !== undefined) return { user: `${prefix}${ref.name}` };
  if (ref.namespace === 'default') return { user: ref.name };
  return {
    refusal: `${intro} ${userRef} is not in the catalog namespace default: as Kubernetes user "${ref.name}" it would act as user:default/${ref.name}. Nothing was run; an administrator can give namespace ${ref.namespace} a prefix in kubeAssistant.impersonationUserPrefixes.`,
  };
}
