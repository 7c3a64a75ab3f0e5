import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AuditEvent,
  AuditEventPage,
  AuditEventQuery,
  auditLogEntityEventsReadPermission,
} from '@kubechart/plugin-audit-log-common';
import { AuditStore } from '../database/AuditStore';
import { decodeCursor, encodeCursor } from '../database/cursor';
import {
  EntityOwnersNow,
  entityOwnersNow,
  ownedAsRecorded,
} from './entityOwners';

/** Entities asked of the permission framework in one request. */
const AUTHORIZE_BATCH = 200;

/** Rows read from the store per step of a scoped scan (the store's largest page). */
const SCAN_PAGE = 500;

/**
 * Most events one request examines for a reader limited to some entities: the sequence numbers
 * below the request's cursor (or the chain head) that one request covers, whatever they hold, so
 * a reader who owns few entities in a long trail, or searches a text few events hold, never makes
 * the server read the whole trail at once. A page may come back shorter than asked (even empty)
 * with a `nextCursor` to go on from.
 */
export const MAX_SCOPED_SCAN = 5_000;

/**
 * A page of the events whose target entity the caller may read under
 * `audit-log.entity-events.read` (for example, with the catalog's `IS_ENTITY_OWNER` rule, the
 * entities they own), newest first. Events without an entity are never part of it. One batched
 * permission request per distinct entity. `decision` is the caller's conditional decision for
 * the permission: `ALLOW` means every entity, `CONDITIONAL` is checked entity by entity, and then
 * an event that records the owner its entity had is read only while the entity has that owner
 * still (`ownersNow`, one catalog read per step for the entities not asked about yet; see
 * `ownedAsRecorded`).
 *
 * One request covers the {@link MAX_SCOPED_SCAN} sequence numbers below its cursor (its window),
 * and the answer depends on nothing but the events of that window the caller may read: its items
 * are the newest `limit` of them, and `nextCursor` comes back when the window holds more than
 * `limit` of them (it starts below the last item) or when the trail goes on below the window (it
 * starts at the window's floor), never because of events the caller cannot read. The store's own
 * pages (of events of any entity) only decide how many queries it takes.
 */
export async function queryEntityScoped(options: {
  store: AuditStore;
  permissions: PermissionsService;
  credentials: BackstageCredentials;
  decision: AuthorizeResult.ALLOW | AuthorizeResult.CONDITIONAL;
  query: AuditEventQuery;
  /** Who owns entities now; without it, nobody (see {@link entityOwnersNow}). */
  ownersNow?: EntityOwnersNow;
}): Promise<AuditEventPage> {
  const { store, permissions, credentials, decision, query } = options;
  const ownersNow = options.ownersNow ?? entityOwnersNow();
  const limit = Math.min(Math.max(query.limit ?? 50, 1), SCAN_PAGE);
  const head = await store.head();
  // the window: sequence numbers from `floor` up to (not including) `top`
  const top = Math.min(
    query.cursor ? decodeCursor(query.cursor) : Infinity,
    head.seq + 1,
  );
  const floor = top - MAX_SCOPED_SCAN;
  // events may remain below the window: the oldest one kept is above the prune checkpoint
  const below = floor > (head.checkpoint?.seq ?? 0) + 1;
  const readable = new Map<string, boolean>();
  const owners = new Map<string, string>();
  const items: AuditEvent[] = [];
  // from the window's top, also when no cursor was given: events appended since are the next
  // request's (without a cursor)
  let cursor = encodeCursor(top);
  for (;;) {
    const page = await store.query({ ...query, cursor, limit: SCAN_PAGE });
    // newest first: those in the window are a prefix
    const inWindow = page.items.filter(e => e.seq >= floor);
    const unknown = [
      ...new Set(
        inWindow
          .map(e => e.target.entityRef)
          .filter((r): r is string => !!r && !readable.has(r)),
      ),
    ];
    if (decision === AuthorizeResult.ALLOW) {
      unknown.forEach(ref => readable.set(ref, true));
    } else if (unknown.length) {
      // In batches: Backstage's permission backend takes at most 100 KB of requests at once
      // (about 470 entities), and its client does not split them.
      for (let at = 0; at < unknown.length; at += AUTHORIZE_BATCH) {
        const batch = unknown.slice(at, at + AUTHORIZE_BATCH);
        const decisions = await permissions.authorize(
          batch.map(resourceRef => ({
            permission: auditLogEntityEventsReadPermission,
            resourceRef,
          })),
          { credentials },
        );
        batch.forEach((ref, i) =>
          readable.set(ref, decisions[i]?.result === AuthorizeResult.ALLOW),
        );
      }
    }
    const permitted = inWindow.filter(
      e => !!e.target.entityRef && readable.get(e.target.entityRef),
    );
    const ownedNow =
      decision === AuthorizeResult.ALLOW
        ? () => true
        : await ownedAsRecorded(permitted, ownersNow, owners);
    for (const event of permitted) {
      if (ownedNow(event)) {
        items.push(event);
        // one more than a page of readable events: the page is full and there is a next one
        if (items.length > limit) {
          items.length = limit;
          return { items, nextCursor: encodeCursor(items[limit - 1].seq) };
        }
      }
    }
    // the store has answered for the whole window when it reached an event below it, the
    // oldest matching event, or a cursor at or below the window's floor
    if (
      inWindow.length < page.items.length ||
      !page.nextCursor ||
      decodeCursor(page.nextCursor) <= floor
    ) {
      break;
    }
    cursor = page.nextCursor;
  }
  return below ? { items, nextCursor: encodeCursor(floor) } : { items };
}

/**
 * Store queries one request for a granted entity makes at most: the first of one more than the page,
 * then pages of {@link SCAN_PAGE}, so that at most about {@link MAX_SCOPED_SCAN} events of the
 * entity are examined per request.
 */
export const MAX_GRANTED_ENTITY_QUERIES = 1 + MAX_SCOPED_SCAN / SCAN_PAGE;

/**
 * A page of the events of `query.entityRef`, which a reader limited to some entities was granted
 * `audit-log.entity-events.read` on under a conditional decision: those that record no owner, and
 * those that record the owner the entity has now (see `ownedAsRecorded`; the catalog is read at most
 * once, and only when an event examined records an owner). Newest first, as the store pages them:
 * when every event is readable, one store query of one more than the page. Events recorded under
 * another owner are skipped, at most {@link MAX_GRANTED_ENTITY_QUERIES} store queries a request; a
 * page cut short by that bound (even an empty one) has a `nextCursor` to go on from.
 */
export async function queryGrantedEntity(options: {
  store: AuditStore;
  query: AuditEventQuery & { entityRef: string };
  ownersNow: EntityOwnersNow;
}): Promise<AuditEventPage> {
  const { store, query, ownersNow } = options;
  const limit = Math.min(Math.max(query.limit ?? 50, 1), SCAN_PAGE);
  const owners = new Map<string, string>();
  const items: AuditEvent[] = [];
  let cursor = query.cursor;
  for (let queries = 1; ; queries++) {
    const page = await store.query({
      ...query,
      cursor,
      limit: queries === 1 ? Math.min(limit + 1, SCAN_PAGE) : SCAN_PAGE,
    });
    const ownedNow = await ownedAsRecorded(page.items, ownersNow, owners);
    for (const event of page.items) {
      if (!ownedNow(event)) continue;
      items.push(event);
      // one more than a page of readable events: the page is full and there is a next one
      if (items.length > limit) {
        items.length = limit;
        return { items, nextCursor: encodeCursor(items[limit - 1].seq) };
      }
    }
    if (!page.nextCursor) return { items };
    if (queries >= MAX_GRANTED_ENTITY_QUERIES) {
      return { items, nextCursor: page.nextCursor };
    }
    cursor = page.nextCursor;
  }
}
