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
import { encodeCursor } from '../database/cursor';

/** Rows read from the store per step of a scoped scan (the store's largest page). */
const SCAN_PAGE = 500;

/**
 * Most events one request examines for a reader limited to some entities: a page may come back
 * shorter than asked (even empty) with a `nextCursor` to go on from, so a reader who owns few
 * entities in a long trail never makes the server read the whole trail at once.
 */
export const MAX_SCOPED_SCAN = 5_000;

/**
 * A page of the events whose target entity the caller may read under
 * `audit-log.entity-events.read` (for example, with the catalog's `IS_ENTITY_OWNER` rule, the
 * entities they own), newest first. Events without an entity are never part of it. One batched
 * permission request per distinct entity. `decision` is the caller's conditional decision for
 * the permission: `ALLOW` means every entity, `CONDITIONAL` is checked entity by entity.
 */
export async function queryEntityScoped(options: {
  store: AuditStore;
  permissions: PermissionsService;
  credentials: BackstageCredentials;
  decision: AuthorizeResult.ALLOW | AuthorizeResult.CONDITIONAL;
  query: AuditEventQuery;
}): Promise<AuditEventPage> {
  const { store, permissions, credentials, decision, query } = options;
  const limit = Math.min(Math.max(query.limit ?? 50, 1), SCAN_PAGE);
  const readable = new Map<string, boolean>();
  const items: AuditEvent[] = [];
  let cursor = query.cursor;
  let scanned = 0;
  for (;;) {
    const page = await store.query({ ...query, cursor, limit: SCAN_PAGE });
    const unknown = [
      ...new Set(
        page.items
          .map(e => e.target.entityRef)
          .filter((r): r is string => !!r && !readable.has(r)),
      ),
    ];
    if (decision === AuthorizeResult.ALLOW) {
      unknown.forEach(ref => readable.set(ref, true));
    } else if (unknown.length) {
      const decisions = await permissions.authorize(
        unknown.map(resourceRef => ({
          permission: auditLogEntityEventsReadPermission,
          resourceRef,
        })),
        { credentials },
      );
      unknown.forEach((ref, i) =>
        readable.set(ref, decisions[i]?.result === AuthorizeResult.ALLOW),
      );
    }
    for (let i = 0; i < page.items.length; i++) {
      const event = page.items[i];
      const ref = event.target.entityRef;
      if (ref && readable.get(ref)) {
        items.push(event);
        if (items.length === limit) {
          const more = i < page.items.length - 1 || !!page.nextCursor;
          return {
            items,
            nextCursor: more ? encodeCursor(event.seq) : undefined,
          };
        }
      }
    }
    scanned += page.items.length;
    if (!page.nextCursor) return { items };
    cursor = page.nextCursor;
    if (scanned >= MAX_SCOPED_SCAN) return { items, nextCursor: cursor };
  }
}
