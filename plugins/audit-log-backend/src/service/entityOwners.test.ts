import {
  BackstageCredentials,
  coreServices,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AuditEvent,
  AuditEventInput,
} from '@kubechart/plugin-audit-log-common';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import express from 'express';
import { Knex } from 'knex';
import request from 'supertest';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { auditLogPlugin } from '../plugin';
import { ENTITY_OWNER_META_KEY } from './entityOwners';

jest.setTimeout(120_000);

const ADMIN = 'user:default/admin';
const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const TEAM_ALICE = 'group:default/team-alice';
const TEAM_BOB = 'group:default/team-bob';
const SHOP = 'component:default/shop-web';
/** The groups each user belongs to (their ownership refs). */
const OWNERSHIP: Record<string, string[]> = {
  [ALICE]: [ALICE, TEAM_ALICE],
  [BOB]: [BOB, TEAM_BOB],
};

const key = (ref: string) => stringifyEntityRef(parseEntityRef(ref));
const component = (name: string, owner: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default' },
  spec: { owner, type: 'website', lifecycle: 'production' },
  relations: [{ type: 'ownedBy', targetRef: owner }],
});

/** The catalog, which a test changes (an entity leaving it, another registered in its place). */
const catalog = new Map<string, Entity>();
/** While true, every read of the catalog fails. */
let catalogDown = false;
/** Reads of the catalog the audit log made. */
let catalogReads = 0;

function register(name: string, owner: string) {
  const entity = component(name, owner);
  catalog.set(stringifyEntityRef(entity), entity);
}

/**
 * Decides as the example policy with the catalog's `IS_ENTITY_OWNER`: the admin reads everything;
 * alice and bob get a condition for `audit-log.entity-events.read`, which holds on the entities
 * their groups own in the catalog now.
 */
const ownersOnly = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const who = (options?: { credentials: BackstageCredentials }) =>
      (options?.credentials?.principal as any)?.userEntityRef as
        | string
        | undefined;
    return {
      async authorize(requests: any[], options?: any) {
        const user = who(options);
        return requests.map(({ permission, resourceRef }) => {
          if (user === ADMIN || !permission.name.startsWith('audit-log.'))
            return { result: AuthorizeResult.ALLOW };
          const owner = resourceRef
            ? catalog.get(key(resourceRef))?.spec?.owner
            : undefined;
          const owns =
            permission.name === 'audit-log.entity-events.read' &&
            typeof owner === 'string' &&
            (OWNERSHIP[user ?? ''] ?? []).includes(owner);
          return {
            result: owns ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
          };
        });
      },
      async authorizeConditional(requests: any[], options?: any) {
        const user = who(options);
        return requests.map(() => {
          if (user === ADMIN) return { result: AuthorizeResult.ALLOW };
          if (!OWNERSHIP[user ?? '']) return { result: AuthorizeResult.DENY };
          return {
            result: AuthorizeResult.CONDITIONAL,
            pluginId: 'catalog',
            resourceType: 'catalog-entity',
            conditions: {
              rule: 'IS_ENTITY_OWNER',
              resourceType: 'catalog-entity',
              params: { claims: OWNERSHIP[user!] },
            },
          };
        });
      },
    } as any;
  },
});

const catalogService = createServiceFactory({
  service: catalogServiceRef,
  deps: {},
  factory: () =>
    ({
      async getEntityByRef(ref: string) {
        catalogReads += 1;
        if (catalogDown) throw new Error('connect ECONNREFUSED catalog');
        return catalog.get(key(ref));
      },
      async getEntitiesByRefs(asked: { entityRefs: string[] }) {
        catalogReads += 1;
        if (catalogDown) throw new Error('connect ECONNREFUSED catalog');
        return { items: asked.entityRefs.map(r => catalog.get(key(r))) };
      },
    } as any),
});

/** A plugin that audits a change of whatever entity it is told, as its caller. */
const changesPlugin = createBackendPlugin({
  pluginId: 'changes',
  register(env) {
    env.registerInit({
      deps: {
        auditor: coreServices.auditor,
        httpRouter: coreServices.httpRouter,
      },
      async init({ auditor, httpRouter }) {
        const router = express.Router();
        router.use(express.json());
        router.post('/change', async (req, res) => {
          const event = await auditor.createEvent({
            eventId: 'thing-change',
            severityLevel: 'medium',
            request: req,
            meta: { entityRef: req.body.entityRef, n: req.body.n },
          });
          await event.success();
          res.status(204).end();
        });
        // records what its caller sent as it is
        router.post('/as-sent', async (req, res) => {
          const event = await auditor.createEvent({
            eventId: 'thing-change',
            severityLevel: 'medium',
            request: req,
            meta: req.body,
          });
          await event.success();
          res.status(204).end();
        });
        httpRouter.use(router);
      },
    });
  },
});

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** An event of `SHOP` as a version of the plugin that recorded no owners appended it. */
function oldChange(n: number): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    actor: ALICE,
    plugin: 'changes',
    eventId: 'thing-change',
    severity: 'medium',
    status: 'succeeded',
    target: { entityRef: SHOP },
    meta: { entityRef: SHOP, n },
  };
}

describe.each(databases.eachSupportedId())(
  'the events of an entity that changed owner, on %p',
  databaseId => {
    let server: any;
    let stop: (() => Promise<void>) | undefined;
    const as = (user: string) => mockCredentials.user.header(user);
    const get = (user: string, path: string, query = {}) =>
      request(server)
        .get(`/api/audit-log${path}`)
        .query(query)
        .set('Authorization', as(user));
    const change = (user: string, n: number, entityRef = SHOP) =>
      request(server)
        .post('/api/changes/change')
        .set('Authorization', as(user))
        .send({ entityRef, n })
        .expect(204);
    /** The changes of `SHOP` the admin reads, once there are `count` of them. */
    async function stored(count: number): Promise<AuditEvent[]> {
      for (let i = 0; ; i++) {
        const r = await get(ADMIN, '/events', {
          entityRef: SHOP,
          eventId: 'thing-change',
          limit: 500,
        });
        expect(r.status).toBe(200);
        if (r.body.items.length >= count || i > 200) return r.body.items;
        await new Promise(resolve => setTimeout(resolve, 50));
      }
    }
    /** The `n` of each event of a page, newest first. */
    const ns = (items: AuditEvent[]) => items.map(e => (e.meta as any).n);

    async function start(prepare?: (knex: Knex) => Promise<void>) {
      const knex = await databases.init(databaseId);
      await prepare?.(knex);
      const backend = await startTestBackend({
        features: [
          auditLogPlugin,
          auditLogAuditorServiceFactory,
          ownersOnly,
          catalogService,
          changesPlugin,
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: { auditLog: { queue: { flushIntervalMs: 5 } } },
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
    }

    beforeEach(() => {
      catalog.clear();
      catalogDown = false;
      catalogReads = 0;
    });
    afterEach(async () => {
      await stop?.();
      stop = undefined;
    });

    it("keeps the events recorded while alice's team owned an entity from bob, who registered the same ref after it left the catalog", async () => {
      await start();
      register('shop-web', TEAM_ALICE);
      await change(ALICE, 1);
      const alices = await stored(2);
      // each event records the owner its entity had when it was appended
      expect(alices.map(e => e.meta?.[ENTITY_OWNER_META_KEY])).toEqual([
        TEAM_ALICE,
        TEAM_ALICE,
      ]);

      // The entity leaves the catalog; bob registers one of the same ref, owned by his team.
      catalog.delete(SHOP);
      register('shop-web', TEAM_BOB);
      await change(BOB, 2);
      const all = await stored(4);
      expect(ns(all)).toEqual([2, 2, 1, 1]);
      expect(all[0].meta?.[ENTITY_OWNER_META_KEY]).toBe(TEAM_BOB);

      // bob reads his own events of the entity, not alice's, on every route
      const byEntity = await get(BOB, '/events', { entityRef: SHOP });
      expect(byEntity.status).toBe(200);
      expect(ns(byEntity.body.items)).toEqual([2, 2]);
      expect(byEntity.body.nextCursor).toBeUndefined();
      const scanned = await get(BOB, '/events', { limit: 500 });
      expect(scanned.status).toBe(200);
      expect(ns(scanned.body.items)).toEqual([2, 2]);
      const single = await Promise.all(
        all.map(async event => {
          const one = await get(BOB, `/events/${event.seq}`);
          return [(event.meta as any).n, one.status, one.body.error?.message];
        }),
      );
      // hers are answered as events that do not exist
      expect(single).toEqual([
        [2, 200, undefined],
        [2, 200, undefined],
        [1, 404, `No audit event ${all[2].seq}`],
        [1, 404, `No audit event ${all[3].seq}`],
      ]);
      // alice owns it no more; the admin reads all of it
      expect((await get(ALICE, '/events', { entityRef: SHOP })).status).toBe(
        403,
      );
      expect(
        ns((await get(ADMIN, '/events', { entityRef: SHOP })).body.items),
      ).toEqual([2, 2, 1, 1]);

      // Handed back to alice's team: she reads her events again, and bob's stay his.
      register('shop-web', TEAM_ALICE);
      expect(
        ns((await get(ALICE, '/events', { entityRef: SHOP })).body.items),
      ).toEqual([1, 1]);
      expect(
        ns((await get(ALICE, '/events', { limit: 500 })).body.items),
      ).toEqual([1, 1]);
    });

    it('pages the new owner through their events of the entity, past those of the owner before', async () => {
      await start();
      register('shop-web', TEAM_BOB);
      await change(BOB, 1);
      await stored(2);
      register('shop-web', TEAM_ALICE);
      for (let n = 2; n <= 6; n++) await change(ALICE, n);
      // an owner is the one the entity has as the event is appended: all of hers first
      await stored(12);
      register('shop-web', TEAM_BOB);
      await change(BOB, 7);
      await stored(14);
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const r = await get(BOB, '/events', {
          entityRef: SHOP,
          limit: 2,
          ...(cursor ? { cursor } : {}),
        });
        expect(r.status).toBe(200);
        expect(r.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...ns(r.body.items));
        cursor = r.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([7, 7, 1, 1]);
    });

    it('keeps what it showed of events recorded without an owner, and the chain written before still verifies', async () => {
      // A trail written before owners were recorded: alice's team's events of the entity.
      await start(async knex => {
        await DatabaseAuditStore.runMigrations(knex);
        await new DatabaseAuditStore(knex).append([oldChange(1), oldChange(2)]);
      });
      // bob's team owns the ref now; what recorded no owner is read as before
      register('shop-web', TEAM_BOB);
      await change(BOB, 3);
      const all = await stored(4);
      expect(ns(all)).toEqual([3, 3, 2, 1]);
      expect(all.map(e => e.meta?.[ENTITY_OWNER_META_KEY])).toEqual([
        TEAM_BOB,
        TEAM_BOB,
        undefined,
        undefined,
      ]);
      expect(
        ns((await get(BOB, '/events', { entityRef: SHOP })).body.items),
      ).toEqual([3, 3, 2, 1]);
      expect(
        ns((await get(BOB, '/events', { limit: 500 })).body.items),
      ).toEqual([3, 3, 2, 1]);
      expect((await get(BOB, `/events/${all[3].seq}`)).status).toBe(200);

      // the events appended before and after verify as one chain
      const verified = await get(ADMIN, '/verify');
      expect(verified.status).toBe(200);
      expect(verified.body).toMatchObject({ ok: true });
      expect(verified.body.checked).toBeGreaterThanOrEqual(4);
    });

    it('records an event without an owner when the catalog cannot tell it, and never takes one from what a plugin recorded', async () => {
      await start();
      register('shop-web', TEAM_ALICE);
      const forged = (n: number) =>
        request(server)
          .post('/api/changes/as-sent')
          .set('Authorization', as(ALICE))
          .send({ entityRef: SHOP, n, [ENTITY_OWNER_META_KEY]: TEAM_BOB })
          .expect(204);
      catalogDown = true;
      // the change is made and recorded all the same, without an owner
      await change(ALICE, 1);
      await forged(2);
      const down = await stored(4);
      expect(down.map(e => e.meta)).toEqual([
        { entityRef: SHOP, n: 2 },
        { entityRef: SHOP, n: 2 },
        { entityRef: SHOP, n: 1 },
        { entityRef: SHOP, n: 1 },
      ]);
      catalogDown = false;
      // the catalog answers again: the owner is the catalog's, not what the request said
      await forged(3);
      const [last] = await stored(6);
      expect(last.meta).toEqual({
        entityRef: SHOP,
        n: 3,
        [ENTITY_OWNER_META_KEY]: TEAM_ALICE,
      });
    });

    it('answers 503, not a page, when the catalog cannot be read to tell who owns the entity now', async () => {
      await start();
      register('shop-web', TEAM_ALICE);
      await change(ALICE, 1);
      const [event] = await stored(2);
      expect(event.meta?.[ENTITY_OWNER_META_KEY]).toBe(TEAM_ALICE);

      catalogDown = true;
      for (const [path, query] of [
        ['/events', { entityRef: SHOP }],
        ['/events', {}],
        [`/events/${event.seq}`, {}],
      ] as const) {
        const r = await get(ALICE, path, query);
        expect({ path, query, status: r.status }).toEqual({
          path,
          query,
          status: 503,
        });
        expect(r.body.error.message).toContain('catalog');
      }
      // a reader of the whole trail does not need the catalog
      const reads = catalogReads;
      expect(
        ns((await get(ADMIN, '/events', { entityRef: SHOP })).body.items),
      ).toEqual([1, 1]);
      expect((await get(ADMIN, `/events/${event.seq}`)).status).toBe(200);
      expect(catalogReads).toBe(reads);
    });
  },
);
