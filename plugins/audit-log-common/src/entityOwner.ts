import {
  Entity,
  RELATION_OWNED_BY,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';

/**
 * Who owns a catalog entity, as a full entity ref (`group:default/team`): its `ownedBy` relation,
 * else `spec.owner` (a group in the entity's namespace unless it says otherwise); undefined when it
 * names none, or names one that is not an entity ref. What every family compares a recorded owner
 * with (run history, audit events, the assistant's entity scope).
 * @public
 */
export function entityOwnerRef(entity: Entity): string | undefined {
  const related = entity.relations?.find(r => r.type === RELATION_OWNED_BY);
  if (related) return related.targetRef;
  const owner = entity.spec?.owner;
  if (typeof owner !== 'string' || !owner) return undefined;
  try {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: entity.metadata.namespace ?? 'default',
      }),
    );
  } catch {
    return undefined;
  }
}

/**
 * The form an entity ref is stored, compared and looked up in: the catalog's own
 * (`stringifyEntityRef`: kind, namespace and name lowercased, namespace `default` when the ref
 * names none), so that two spellings of one entity (`Component:Default/Web`, `component:web`) are
 * one entity, with one owner and one history. Undefined for a text that is not an entity ref (no
 * kind, an empty part).
 * @public
 */
export function entityRefKey(ref: string): string | undefined {
  try {
    return stringifyEntityRef(parseEntityRef(ref));
  } catch {
    return undefined;
  }
}
