import {
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
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AuditEvent,
  AuditEventQuery,
} from '@kubechart/plugin-audit-log-common';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import express from 'express';
import request from 'supertest';
import { AuditStore } from '../database/AuditStore';
import { encodeCursor } from '../database/cursor';
import { auditLogPlugin } from '../plugin';
import { MAX_SCOPED_SCAN, queryEntityScoped } from './entityScope';

jest.setTimeout(120_000);

const ADMIN = 'user:default/admin';
const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const OUTSIDER = 'user:default/outsider';
const A = 'component:default/team-a-web';
const B = 'component:default/team-b-api';
/** What each user owns, as the catalog's IS_ENTITY_OWNER rule would decide it. */
const OWNS: Record<string, string[]> = { [ALICE]: [A], [BOB]: [B] };

/**
 * Decides like the example permission policy: admins ALLOW; owners get a
 * catalog condition for `audit-log.entity-events.read` (ALLOW on the entities
 * they own) and no `audit-log.events.read`; the outsider nothing.
 */
const rolePermissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const who = (options?: any) =>
      options?.credentials?.principal?.userEntityRef as string | undefined;
    return {
      async authorize(requests: any[], options?: any) {
        const user = who(options);
        return requests.map(({ permission, resourceRef }) => {
          if (user === ADMIN || !permission.name.startsWith('audit-log.'))
            return { result: AuthorizeResult.ALLOW };
          const owns =
            permission.name === 'audit-log.entity-events.read' &&
            !!user &&
            OWNS[user]?.includes(resourceRef);
          return {
            result: owns ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
          };
        });
      },
      async authorizeConditional(requests: any[], options?: any) {
        const user = who(options);
        return requests.map(() => {
          if (user === ADMIN) return { result: AuthorizeResult.ALLOW };
          if (!user || !OWNS[user]) return { result: AuthorizeResult.DENY };
          return {
            result: AuthorizeResult.CONDITIONAL,
            pluginId: 'catalog',
            resourceType: 'catalog-entity',
            conditions: {
              rule: 'IS_ENTITY_OWNER',
              resourceType: 'catalog-entity',
              params: { claims: [user] },
            },
          };
        });
      },
    } as any;
  },
});

/** A plugin that audits a change of whatever entity it is told. */
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
        httpRouter.use(router);
      },
    });
  },
});

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'audit events read per role on %p',
  databaseId => {
    let server: any;
    let stop: () => Promise<void>;
    const as = (user: string) => mockCredentials.user.header(user);
    const list = (user: string, query: Record<string, string> = {}) =>
      request(server)
        .get('/api/audit-log/events')
        .query(query)
        .set('Authorization', as(user));

    beforeAll(async () => {
      const backend = await startTestBackend({
        features: [
          auditLogPlugin,
          auditLogAuditorServiceFactory,
          rolePermissions,
          changesPlugin,
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          mockServices.rootConfig.factory({
            data: { auditLog: { queue: { flushIntervalMs: 5 } } },
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
      // 10 changes of each team's entity and 10 without an entity, interleaved.
      for (let n = 0; n < 30; n++) {
        await request(server)
          .post('/api/changes/change')
          .set('Authorization', as(ADMIN))
          .send({ entityRef: [A, B, undefined][n % 3], n })
          .expect(204);
      }
      for (let i = 0; i < 200; i++) {
        const all = await list(ADMIN, { eventId: 'thing-change' });
        // Each change is an initiated and a succeeded event.
        if (all.body.items.length === 60) break;
        await new Promise(r => setTimeout(r, 50));
      }
    });
    afterAll(async () => {
      await stop?.();
    });

    const changes = (items: AuditEvent[]) =>
      items.filter(e => e.eventId === 'thing-change');

    it('lets an admin read every event', async () => {
      const r = await list(ADMIN, { eventId: 'thing-change', limit: '500' });
      expect(r.status).toBe(200);
      const refs = r.body.items.map((e: AuditEvent) => e.target.entityRef);
      expect(refs.length).toBe(60);
      expect(refs).toEqual(expect.arrayContaining([A, B, undefined]));
    });

    it("shows an owner their own entities' events on the page's default list, and nothing else", async () => {
      const admin = changes((await list(ADMIN, { limit: '500' })).body.items);
      const expectedA = admin.filter(e => e.target.entityRef === A);
      expect(expectedA.length).toBeGreaterThan(5);

      // What the audit page asks for when it opens: changes (medium and up), no entity.
      const r = await list(ALICE, {
        severity: 'medium,high,critical',
        limit: '500',
      });
      expect(r.status).toBe(200);
      expect(r.body.items.map((e: AuditEvent) => e.seq)).toEqual(
        expectedA.map(e => e.seq),
      );
      // Bob sees his, not Alice's.
      const bob = (await list(BOB, { limit: '500' })).body
        .items as AuditEvent[];
      expect(bob.length).toBeGreaterThan(10);
      expect(bob.every(e => e.target.entityRef === B)).toBe(true);
    });

    it('pages an owner through their events with cursors, newest first', async () => {
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const r = await list(ALICE, {
          limit: '4',
          ...(cursor ? { cursor } : {}),
        });
        expect(r.status).toBe(200);
        expect(r.body.items.length).toBeLessThanOrEqual(4);
        seen.push(...r.body.items.map((e: AuditEvent) => e.seq));
        cursor = r.body.nextCursor;
      } while (cursor);
      const expected = changes((await list(ADMIN, { limit: '500' })).body.items)
        .filter(e => e.target.entityRef === A)
        .map(e => e.seq);
      expect(seen).toEqual(expected);
    });

    it("refuses an owner another team's entity and events without an entity", async () => {
      const other = await list(ALICE, { entityRef: B });
      expect(other.status).toBe(403);
      expect(other.body.error.message).toContain(
        `audit-log.entity-events.read on ${B}`,
      );
      expect((await list(ALICE, { entityRef: A })).status).toBe(200);
      const admin = changes((await list(ADMIN, { limit: '500' })).body.items);
      const ofB = admin.find(e => e.target.entityRef === B)!;
      const noEntity = admin.find(e => !e.target.entityRef)!;
      const ofA = admin.find(e => e.target.entityRef === A)!;
      const one = (seq: number, user = ALICE) =>
        request(server)
          .get(`/api/audit-log/events/${seq}`)
          .set('Authorization', as(user));
      expect((await one(ofA.seq)).status).toBe(200);
      // An event she may not read is answered as a missing one: the answer names no entity and
      // does not tell another team's event from one without an entity or from none at all.
      const missing = Math.max(...admin.map(e => e.seq)) + 1000;
      for (const seq of [ofB.seq, noEntity.seq, missing]) {
        const r = await one(seq);
        expect({ status: r.status, body: r.body.error }).toEqual({
          status: 404,
          body: expect.objectContaining({
            name: 'NotFoundError',
            message: `No audit event ${seq}`,
          }),
        });
      }
      // A reader the policy grants nothing gets one refusal for every event, existing or not.
      const refusals = new Set<string>();
      for (const seq of [ofA.seq, ofB.seq, noEntity.seq, missing]) {
        const r = await one(seq, OUTSIDER);
        expect(r.status).toBe(403);
        expect(r.body.error.message).not.toContain('component:');
        refusals.add(r.body.error.message);
      }
      expect([...refusals]).toEqual([
        'Missing permission audit-log.events.read, or audit-log.entity-events.read',
      ]);
      // The whole trail's tools stay with admins.
      for (const path of ['/verify', '/export?format=csv'])
        expect(
          (
            await request(server)
              .get(`/api/audit-log${path}`)
              .set('Authorization', as(ALICE))
          ).status,
        ).toBe(403);
    });

    it('answers 400 to a cursor this server did not issue, for every reader', async () => {
      const forged = (text: string) =>
        Buffer.from(text, 'utf8').toString('base64url');
      const cursors = [
        forged('seq:99999999999999999999'),
        forged(`seq:${'9'.repeat(140)}`),
        forged('seq:9007199254740992'),
        forged('seq:0'),
        forged('seq:007'),
        forged('seq:-5'),
        `${forged('seq:5')}=`,
        'bogus',
      ];
      for (const cursor of cursors) {
        for (const [user, query] of [
          [ADMIN, {}],
          [ADMIN, { q: 'thing' }],
          [ALICE, {}],
        ] as const) {
          const r = await list(user, { ...query, cursor });
          expect({
            cursor,
            user,
            status: r.status,
            error: r.body.error,
          }).toEqual({
            cursor,
            user,
            status: 400,
            error: expect.objectContaining({
              name: 'InputError',
              message:
                'Invalid cursor: pass the nextCursor of an earlier page unchanged',
            }),
          });
        }
      }
      // the cursors this server issues still page
      const first = await list(ADMIN, { limit: '2' });
      expect(first.body.nextCursor).toBeDefined();
      const next = await list(ADMIN, {
        limit: '2',
        cursor: first.body.nextCursor,
      });
      expect(next.status).toBe(200);
      expect(next.body.items[0].seq).toBeLessThan(first.body.items[1].seq);
    });

    it('refuses a reader who owns nothing the policy grants', async () => {
      const r = await list(OUTSIDER);
      expect(r.status).toBe(403);
      expect(r.body.error.name).toBe('NotAllowedError');
    });
  },
);

describe('queryEntityScoped', () => {
  /** A store of `events` (newest first, like the real one), paging as the real one does. */
  function storeOf(events: AuditEvent[]) {
    const queried: AuditEventQuery[] = [];
    const store = {
      async head() {
        return { seq: events[0]?.seq ?? 0, hash: '0'.repeat(64) };
      },
      async query(q: AuditEventQuery) {
        queried.push(q);
        const below = q.cursor
          ? Number(Buffer.from(q.cursor, 'base64url').toString().slice(4))
          : Infinity;
        const rest = events.filter(e => e.seq < below);
        const items = rest.slice(0, q.limit);
        return {
          items,
          nextCursor:
            rest.length > items.length
              ? encodeCursor(items[items.length - 1].seq)
              : undefined,
        };
      },
    } as unknown as AuditStore;
    return { store, queried };
  }

  /** A store of `count` events, every 1000th of entity A. */
  function sparseStore(count: number) {
    return storeOf(
      Array.from({ length: count }, (_, i) => ({
        seq: count - i,
        target: (count - i) % 1000 === 0 ? { entityRef: A } : {},
      })) as AuditEvent[],
    );
  }
  const permissions = {
    authorize: async (requests: any[]) =>
      requests.map(r => ({
        result:
          r.resourceRef === A ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
      })),
  } as any;

  it('stops after MAX_SCOPED_SCAN events with a cursor to go on from', async () => {
    const { store, queried } = sparseStore(12_000);
    const page = await queryEntityScoped({
      store,
      permissions,
      credentials: mockCredentials.user(ALICE),
      decision: AuthorizeResult.CONDITIONAL,
      query: { limit: 50 },
    });
    expect(queried.length * 500).toBe(MAX_SCOPED_SCAN);
    expect(page.items.map(e => e.seq)).toEqual([
      12_000, 11_000, 10_000, 9_000, 8_000,
    ]);
    expect(page.nextCursor).toBe(encodeCursor(7_001));

    const next = await queryEntityScoped({
      store,
      permissions,
      credentials: mockCredentials.user(ALICE),
      decision: AuthorizeResult.CONDITIONAL,
      query: { limit: 50, cursor: page.nextCursor },
    });
    expect(next.items.map(e => e.seq)).toEqual([
      7_000, 6_000, 5_000, 4_000, 3_000,
    ]);
  });

  it('starts a cursor above the newest event at the newest event', async () => {
    const { store } = sparseStore(12_000);
    const page = await queryEntityScoped({
      store,
      permissions,
      credentials: mockCredentials.user(ALICE),
      decision: AuthorizeResult.CONDITIONAL,
      query: { limit: 50, cursor: encodeCursor(1_000_000) },
    });
    expect(page.items.map(e => e.seq)).toEqual([
      12_000, 11_000, 10_000, 9_000, 8_000,
    ]);
    expect(page.nextCursor).toBe(encodeCursor(7_001));
  });

  it('asks the permission framework about at most 200 entities a request (its backend takes 100 KB of requests)', async () => {
    const count = 600;
    const { store } = storeOf(
      Array.from({ length: count }, (_, i) => ({
        seq: count - i,
        target: { entityRef: `component:default/service-${count - i}` },
      })) as AuditEvent[],
    );
    const asked: number[] = [];
    const page = await queryEntityScoped({
      store,
      permissions: {
        authorize: async (requests: any[]) => {
          asked.push(requests.length);
          return requests.map(r => ({
            result: r.resourceRef.endsWith('0')
              ? AuthorizeResult.ALLOW
              : AuthorizeResult.DENY,
          }));
        },
      } as any,
      credentials: mockCredentials.user(ALICE),
      decision: AuthorizeResult.CONDITIONAL,
      query: { limit: 500 },
    });
    expect(page.items).toHaveLength(60);
    expect(Math.max(...asked)).toBeLessThanOrEqual(200);
  });
});
