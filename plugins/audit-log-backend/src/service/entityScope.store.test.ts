import {
  TestDatabaseId,
  TestDatabases,
  mockCredentials,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AuditEventInput,
  AuditEventPage,
  AuditEventQuery,
} from '@kubechart/plugin-audit-log-common';
import { AuditStore } from '../database/AuditStore';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { decodeCursor } from '../database/cursor';
import { MAX_SCOPED_SCAN, queryEntityScoped } from './entityScope';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** The caller's entity; everything of `OTHER` (and without an entity) is hidden from them. */
const MINE = 'component:default/team-a-web';
const OTHER = 'component:default/team-b-api';

/** The catalog's IS_ENTITY_OWNER, as decided for the owner of `MINE`. */
const permissions = {
  authorize: async (requests: Array<{ resourceRef?: string }>) =>
    requests.map(r => ({
      result:
        r.resourceRef === MINE ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
    })),
} as any;

let clock = 0;
function change(
  entityRef: string | undefined,
  overrides: Partial<AuditEventInput> = {},
): AuditEventInput {
  clock += 1;
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + clock * 1000).toISOString(),
    actor: 'user:default/jane',
    plugin: 'catalog',
    eventId: 'entity-change',
    severity: 'medium',
    status: 'succeeded',
    target: entityRef ? { entityRef } : {},
    meta: { n: clock },
    ...overrides,
  };
}

function filler(count: number, entityRef = OTHER): AuditEventInput[] {
  return Array.from({ length: count }, () => change(entityRef));
}

/** `store`, counting its queries. */
function counted(store: AuditStore) {
  const queries: AuditEventQuery[] = [];
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'query') queries.push(args[0] as AuditEventQuery);
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, queries };
}

async function storeOf(
  databaseId: TestDatabaseId,
  batches: AuditEventInput[][],
  options?: { searchWalkSpan?: number },
) {
  const knex = await databases.init(databaseId);
  await DatabaseAuditStore.runMigrations(knex);
  const store = new DatabaseAuditStore(knex, options);
  for (const batch of batches) {
    for (let i = 0; i < batch.length; i += 1000) {
      await store.append(batch.slice(i, i + 1000));
    }
  }
  return store;
}

function scoped(store: AuditStore, query: AuditEventQuery) {
  return queryEntityScoped({
    store,
    permissions,
    credentials: mockCredentials.user('user:default/alice'),
    decision: AuthorizeResult.CONDITIONAL,
    query,
  });
}

/** What the caller can tell from a page: the events and whether there is a next one. */
const seen = (page: AuditEventPage) => ({
  items: page.items.map(e => e.seq),
  more: page.nextCursor !== undefined,
});

describe.each(databases.eachSupportedId())(
  'queryEntityScoped on a real store (%p)',
  databaseId => {
    it('examines a bounded part of the trail per request for a text no event holds, with a cursor to go on from', async () => {
      // the oldest event is the caller's and holds the text; above it, 6,000 events of another
      // team. PostgreSQL walks 100 sequence numbers per query for this text (no trigram word).
      const store = await storeOf(
        databaseId,
        [[change(MINE, { error: 'bad ~~~ char' })], filler(6_000)],
        { searchWalkSpan: 100 },
      );
      const head = (await store.head()).seq;
      expect(head).toBe(6_001);

      const first = counted(store);
      const page = await scoped(first.store, { q: '~~~', limit: 50 });
      // at most MAX_SCOPED_SCAN events examined: no more walks of 100 than fit in it
      expect(first.queries.length).toBeLessThanOrEqual(
        Math.ceil(MAX_SCOPED_SCAN / 100) + 1,
      );
      expect(page.items).toEqual([]);
      expect(page.nextCursor).toBeDefined();
      expect(decodeCursor(page.nextCursor!)).toBeGreaterThanOrEqual(
        head + 1 - MAX_SCOPED_SCAN,
      );

      // paging on finds the caller's event, and then the trail ends
      const second = counted(store);
      const next = await scoped(second.store, {
        q: '~~~',
        limit: 50,
        cursor: page.nextCursor,
      });
      expect(second.queries.length).toBeLessThanOrEqual(
        Math.ceil(MAX_SCOPED_SCAN / 100) + 1,
      );
      expect(next.items.map(e => e.seq)).toEqual([1]);
      expect(next.nextCursor).toBeUndefined();
    });

    it.each([
      ['a short trail', 3],
      ['a trail longer than one request examines', MAX_SCOPED_SCAN + 500],
    ])(
      'answers the same whether or not an older hidden event matches, on %s',
      async (_, fillers) => {
        // the same trail twice but for its oldest event, another team's: it holds the text and is
        // of the event type asked for in one, neither in the other
        const trail = (hiddenMatches: boolean) => [
          [
            hiddenMatches
              ? change(OTHER, { eventId: 'rollout', error: 'needle here' })
              : change(OTHER),
          ],
          filler(fillers),
          [
            change(MINE, { eventId: 'rollout', error: 'needle one' }),
            change(OTHER),
            change(MINE, { eventId: 'rollout', error: 'needle two' }),
            change(undefined),
          ],
        ];
        const withHidden = await storeOf(databaseId, trail(true));
        const without = await storeOf(databaseId, trail(false));
        const head = (await without.head()).seq;
        const mine = [head - 1, head - 3];

        for (const query of [
          { q: 'needle', limit: 2 },
          { q: 'needle', limit: 1 },
          { eventId: 'rollout', limit: 2 },
          { q: 'needle', eventId: 'rollout', limit: 3 },
        ]) {
          const a = await scoped(withHidden, query);
          const b = await scoped(without, query);
          expect(seen(a)).toEqual(seen(b));
          expect(a.nextCursor).toEqual(b.nextCursor);
          expect(seen(a).items).toEqual(mine.slice(0, query.limit));
        }
      },
    );
  },
);
