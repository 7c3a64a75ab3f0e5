import type {
  AuthService,
  BackstageCredentials,
} from '@backstage/backend-plugin-api';
import {
  entityOwnerRef,
  entityRefKey,
  withDeadline,
} from '@kubechart/plugin-audit-log-common';

/** A catalog entity, as {@link entityOwnerRef} reads it. */
type CatalogEntity = Parameters<typeof entityOwnerRef>[0];

/**
 * What {@link catalogEntityOwners} needs of the catalog service (`catalogServiceRef`, which has
 * both): one entity, and several at once in the order asked (null or undefined where absent).
 * @public
 */
export type CatalogOwnersSource = {
  getEntityByRef(
    entityRef: string,
    options: { credentials: BackstageCredentials },
  ): Promise<CatalogEntity | undefined>;
  getEntitiesByRefs?(
    request: { entityRefs: string[]; fields?: string[] },
    options: { credentials: BackstageCredentials },
  ): Promise<{ items: Array<CatalogEntity | undefined | null> }>;
};

/**
 * The owners catalog entities have now, by the `entityRefKey` of each ref asked for (each an entity
 * ref key too); an entity the catalog does not have, or one without an owner, is not in the map.
 * Throws when the catalog cannot be read.
 * @public
 */
export type EntityOwnersReader = (
  entityRefs: string[],
) => Promise<Map<string, string>>;

/** Entities read from the catalog in one request. */
const OWNERS_BATCH = 100;

/**
 * {@link EntityOwnersReader} over the catalog, read with the plugin's own credentials (an owner is
 * recorded and compared, never shown to a caller who could not see it): `getEntitiesByRefs`
 * {@link OWNERS_BATCH} refs at a time (one `getEntityByRef` each where the catalog has no batch
 * read), each batch within `timeoutMs`, after which the read fails with
 * `the catalog did not answer within <s>s`. Who owns an entity is `entityOwnerRef`.
 * @public
 */
export function catalogEntityOwners(
  catalog: CatalogOwnersSource,
  auth: Pick<AuthService, 'getOwnServiceCredentials'>,
  timeoutMs: number,
): EntityOwnersReader {
  const readBatch = async (
    refs: string[],
    credentials: BackstageCredentials,
  ): Promise<Array<CatalogEntity | undefined | null>> =>
    catalog.getEntitiesByRefs
      ? (
          await catalog.getEntitiesByRefs(
            {
              entityRefs: refs,
              fields: [
                'kind',
                'metadata.name',
                'metadata.namespace',
                'spec.owner',
                'relations',
              ],
            },
            { credentials },
          )
        ).items
      : Promise.all(refs.map(r => catalog.getEntityByRef(r, { credentials })));
  return async entityRefs => {
    const owners = new Map<string, string>();
    const credentials = await auth.getOwnServiceCredentials();
    for (let i = 0; i < entityRefs.length; i += OWNERS_BATCH) {
      const batch = entityRefs.slice(i, i + OWNERS_BATCH);
      const entities = await withDeadline(
        readBatch(batch, credentials),
        timeoutMs,
        () => {
          throw new Error(
            `the catalog did not answer within ${timeoutMs / 1000}s`,
          );
        },
      );
      batch.forEach((ref, j) => {
        const entity = entities[j];
        const owner = entity ? entityOwnerRef(entity) : undefined;
        const ownerKey = owner ? entityRefKey(owner) : undefined;
        const key = entityRefKey(ref);
        if (key && ownerKey) owners.set(key, ownerKey);
      });
    }
    return owners;
  };
}
