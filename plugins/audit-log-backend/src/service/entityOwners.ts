import { LoggerService } from '@backstage/backend-plugin-api';
import { ServiceUnavailableError } from '@backstage/errors';
import {
  AuditEvent,
  AuditEventInput,
  entityRefKey,
  withDeadline,
} from '@kubechart/plugin-audit-log-common';
import { EntityOwnersReader } from '@kubechart/plugin-audit-log-node';
import { ENTITY_OWNER_META_KEY } from '../database/rows';

export { ENTITY_OWNER_META_KEY };

/** How long a read of the catalog for a reader may take before the read is answered with a 503. */
export const CATALOG_READ_TIMEOUT_MS = 15_000;

/**
 * How long the owners of an append batch are waited for. Changes wait for their audit record
 * (`auditLog.queue.maxStoreWaitMs`, 5 s by default), so the catalog gets a small part of that.
 */
export const APPEND_OWNERS_TIMEOUT_MS = 1_000;

/**
 * How long appends record no owner after the catalog did not answer in time: a catalog that hangs
 * would otherwise hold every batch for {@link APPEND_OWNERS_TIMEOUT_MS}. A catalog that refuses at
 * once is asked again with the next batch.
 */
export const APPEND_OWNERS_PAUSE_MS = 30_000;

/** The owner an event records its entity had when it was appended; undefined when it records none. */
export function recordedOwner(event: AuditEvent): string | undefined {
  const owner = event.meta?.[ENTITY_OWNER_META_KEY];
  if (owner === undefined) return undefined;
  // a value that is not a text (written by hand into an older event) is an owner no entity has
  return typeof owner === 'string' ? owner : '';
}

/**
 * Records, in each event of an append batch that names an entity, the owner that entity has in
 * the catalog (`meta["auditLog.entityOwner"]`, an entity ref key), so that a reader limited to
 * their entities reads it only while the entity has that owner still. One catalog read per batch.
 * The key is the audit log's own: a value a plugin put there (what its caller sent, say) is never
 * kept. An event whose owner the catalog could not tell (it failed, did not answer in time, does
 * not have the entity, or the entity has no owner) is recorded without one, as before owners were
 * recorded, never with a guessed one; the batch is appended either way.
 */
export function createOwnerRecorder(options: {
  owners: EntityOwnersReader;
  logger: LoggerService;
}): (batch: AuditEventInput[]) => Promise<AuditEventInput[]> {
  const { owners, logger } = options;
  let pausedUntil = 0;
  let failing = false;
  return async batch => {
    const refs = [
      ...new Set(
        batch
          .map(e =>
            e.target?.entityRef ? entityRefKey(e.target.entityRef) : undefined,
          )
          .filter((r): r is string => !!r),
      ),
    ];
    let known = new Map<string, string>();
    if (refs.length > 0 && Date.now() >= pausedUntil) {
      try {
        known = await withDeadline(
          owners(refs),
          APPEND_OWNERS_TIMEOUT_MS,
          () => {
            throw Object.assign(
              new Error(
                `the catalog did not answer within ${APPEND_OWNERS_TIMEOUT_MS} ms`,
              ),
              { timedOut: true },
            );
          },
        );
        if (failing) {
          failing = false;
          logger.info(
            'The catalog answers again: audit events record the owner of their entity',
          );
        }
      } catch (error) {
        if ((error as { timedOut?: boolean }).timedOut) {
          pausedUntil = Date.now() + APPEND_OWNERS_PAUSE_MS;
        }
        if (!failing) {
          failing = true;
          logger.warn(
            `Audit events are recorded without the owner of their entity while the catalog cannot be read (${error}): a reader limited to their entities reads them as events recorded before owners were`,
          );
        }
      }
    }
    // Copies: the queue may offer the same batch again.
    return batch.map(event => {
      const meta = event.meta;
      const ref = event.target?.entityRef;
      const owner = ref ? known.get(entityRefKey(ref) ?? '') : undefined;
      const sentByPlugin =
        !!meta &&
        Object.prototype.hasOwnProperty.call(meta, ENTITY_OWNER_META_KEY);
      if (!owner && !sentByPlugin) return event;
      const { [ENTITY_OWNER_META_KEY]: _ignored, ...rest } = meta ?? {};
      const recorded = owner
        ? { ...rest, [ENTITY_OWNER_META_KEY]: owner }
        : rest;
      return {
        ...event,
        meta: Object.keys(recorded).length > 0 ? recorded : undefined,
      };
    });
  };
}

/**
 * Who owns entities now, for the reads of a reader limited to their entities: {@link entityRefKey}
 * of each ref asked for → owner; ServiceUnavailableError (503) when the catalog cannot be read, so
 * that such a reader gets no page rather than a wrong one. Without a reader, nobody owns anything
 * (an event that records an owner is then read only by readers of the whole trail).
 */
export type EntityOwnersNow = (
  entityRefKeys: string[],
) => Promise<Map<string, string>>;

/** {@link EntityOwnersNow} over `reader`. */
export function entityOwnersNow(reader?: EntityOwnersReader): EntityOwnersNow {
  return async refs => {
    if (refs.length === 0 || !reader) return new Map();
    try {
      return await reader(refs);
    } catch (e) {
      throw new ServiceUnavailableError(
        `The catalog could not be read to learn who owns the entities of the events asked for (${
          e instanceof Error ? e.message : String(e)
        }); try again later`,
      );
    }
  };
}

/**
 * Whether each of `events` (whose entities the caller may read) may be read for who owns its entity
 * now: an event that records no owner, yes, as before owners were recorded; one that does, only
 * while its entity has that owner still (an entity that left the catalog and was registered again
 * under the same ref, or was handed over, belongs to someone else now, and the events before are
 * not theirs). One read of `ownersNow` for the entities of `events` not in `known`, which
 * collects what was learned across the calls of one request.
 */
export async function ownedAsRecorded(
  events: AuditEvent[],
  ownersNow: EntityOwnersNow,
  known: Map<string, string>,
): Promise<(event: AuditEvent) => boolean> {
  const keyOf = (event: AuditEvent) =>
    event.target.entityRef ? entityRefKey(event.target.entityRef) : undefined;
  const asked = [
    ...new Set(
      events
        .filter(e => recordedOwner(e) !== undefined)
        .map(keyOf)
        .filter((k): k is string => !!k && !known.has(k)),
    ),
  ];
  if (asked.length > 0) {
    const owners = await ownersNow(asked);
    for (const k of asked) known.set(k, owners.get(k) ?? '');
  }
  return event => {
    const owner = recordedOwner(event);
    if (owner === undefined) return true;
    const k = keyOf(event);
    return !!owner && !!k && known.get(k) === owner;
  };
}
