import {
  AuthService,
  BackstageCredentials,
} from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { CatalogEntityReader } from '../engine/caller';
import { entityOwnerRef } from '@kubechart/plugin-audit-log-common';
import { withCatalogDeadline } from '../engine/entityScope';
import { entityRefKey } from '../database/entityRefs';

/**
 * The owners catalog entities have now, by the {@link entityRefKey} of each ref asked for; an entity
 * the catalog does not have, or one without an owner, is not in the map. Throws when the catalog
 * cannot be read.
 */
export type EntityOwnersReader = (
  entityRefs: string[],
) => Promise<Map<string, string>>;

/** Entities read from the catalog in one request. */
const OWNERS_BATCH = 100;

/**
 * {@link EntityOwnersReader} over the catalog, read with the plugin's own credentials (who owns an
 * entity is compared, never shown): `getEntitiesByRefs` a batch at a time (one `getEntityByRef`
 * each where the reader has no batch read), each batch within `CATALOG_READ_TIMEOUT_MS` (`withCatalogDeadline`).
 */
export function catalogEntityOwners(
  catalog: CatalogEntityReader,
  auth: Pick<AuthService, 'getOwnServiceCredentials'>,
): EntityOwnersReader {
  const readBatch = async (
    refs: string[],
    credentials: BackstageCredentials,
  ): Promise<Array<Entity | undefined | null>> =>
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
      const entities = await withCatalogDeadline(readBatch(batch, credentials));
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
