import {
  coreServices,
  createBackendPlugin,
  createServiceFactory,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import express from 'express';
import request from 'supertest';
import { auditLogPlugin } from './plugin';

jest.setTimeout(60_000);

const admin = mockCredentials.user.header('user:default/admin');
const reader = mockCredentials.user.header('user:default/reader');
const outsider = mockCredentials.user.header('user:default/outsider');
const owner = mockCredentials.user.header('user:default/owner');

/** admin: everything; reader: read only; outsider: nothing of the audit log. */
const permissionsFactory = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => ({
    async authorize(requests, options) {
      const principal = options?.credentials.principal as {
        userEntityRef?: string;
      };
      const ref = principal?.userEntityRef;
      return requests.map(({ permission, resourceRef }) => {
        if (!permission.name.startsWith('audit-log.')) {
          return { result: AuthorizeResult.ALLOW };
        }
        if (ref === 'user:default/admin') {
          return { result: AuthorizeResult.ALLOW };
        }
        if (
          ref === 'user:default/reader' &&
          permission.name === 'audit-log.events.read'
        ) {
          return { result: AuthorizeResult.ALLOW };
        }
        // what an IS_ENTITY_OWNER rule decides for the owner of one entity
        if (
          ref === 'user:default/owner' &&
          permission.name === 'audit-log.entity-events.read' &&
          resourceRef === 'component:default/web'
        ) {
          return { result: AuthorizeResult.ALLOW };
        }
        return { result: AuthorizeResult.DENY };
      });
    },
    async authorizeConditional(requests, options) {
      const ref = (options?.credentials.principal as { userEntityRef?: string })
        ?.userEntityRef;
      // the owner gets what IS_ENTITY_OWNER gives: a condition on the entity
      return requests.map(() =>
        ref === 'user:default/owner'
          ? {
              result: AuthorizeResult.CONDITIONAL,
              pluginId: 'catalog',
              resourceType: 'catalog-entity',
              conditions: {
                rule: 'IS_ENTITY_OWNER',
                resourceType: 'catalog-entity',
                params: { claims: [ref] },
              },
            }
          : { result: AuthorizeResult.DENY },
      ) as Awaited<ReturnType<PermissionsService['authorizeConditional']>>;
    },
  }),
});

/** A plugin of our own that audits a mutation carrying secrets. */
const deployPlugin = createBackendPlugin({
  pluginId: 'kubechart',
  register(env) {
    env.registerInit({
      deps: {
        auditor: coreServices.auditor,
        httpRouter: coreServices.httpRouter,
      },
      async init({ auditor, httpRouter }) {
        const router = express.Router();
        router.use(express.json());
        router.post('/deploy', async (req, res) => {
          const event = await auditor.createEvent({
            eventId: 'chart-install',
            severityLevel: 'high',
            request: req,
            meta: {
              cluster: 'dev',
              namespace: 'team-a',
              values: req.body,
            },
          });
          await event.success({ meta: { revision: 3 } });
          res.status(202).json({ ok: true });
        });
        httpRouter.use(router);
      },
    });
  },
});

async function waitForEvents(
  server: any,
  query: Record<string, string>,
  count: number,
): Promise<AuditEvent[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await request(server)
      .get('/api/audit-log/events')
      .query(query)
      .set('Authorization', admin);
    expect(res.status).toBe(200);
    if (res.body.items.length >= count || Date.now() > deadline) {
      return res.body.items;
    }
    await new Promise(r => setTimeout(r, 50));
  }
}

describe('auditLogPlugin', () => {
  let server: any;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const backend = await startTestBackend({
      features: [
        auditLogPlugin,
        auditLogAuditorServiceFactory,
        permissionsFactory,
        catalogPlugin,
        scaffolderPlugin,
        deployPlugin,
        mockServices.rootConfig.factory({
          data: {
            backend: {
              database: { client: 'better-sqlite3', connection: ':memory:' },
            },
            auditLog: { queue: { flushIntervalMs: 5 } },
          },
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop();
  });

  it('stores events emitted by the catalog and the scaffolder', async () => {
    await request(server)
      .get('/api/catalog/entities/by-name/component/default/web')
      .set('Authorization', admin)
      .expect(404);
    await request(server)
      .get('/api/scaffolder/v2/actions')
      .set('Authorization', admin)
      .expect(200);

    const catalogEvents = await waitForEvents(
      server,
      {
        plugin: 'catalog',
        eventId: 'entity-fetch',
        entityRef: 'component:default/web',
      },
      3,
    );
    // the catalog reports success of the lookup, then fails with 404
    expect(catalogEvents.map(e => e.status)).toEqual([
      'failed',
      'succeeded',
      'initiated',
    ]);
    expect(catalogEvents[0]).toMatchObject({
      actor: 'user:default/admin',
      plugin: 'catalog',
      request: { method: 'GET' },
    });

    const scaffolderEvents = await waitForEvents(
      server,
      { plugin: 'scaffolder', eventId: 'action-fetch' },
      2,
    );
    expect(scaffolderEvents.map(e => e.status).sort()).toEqual([
      'initiated',
      'succeeded',
    ]);
    expect(scaffolderEvents[0].actor).toBe('user:default/admin');

    const verify = await request(server)
      .get('/api/audit-log/verify')
      .set('Authorization', reader)
      .expect(200);
    expect(verify.body.ok).toBe(true);
    expect(verify.body.checked).toBeGreaterThanOrEqual(4);
  });

  it('never stores secrets from event meta', async () => {
    await request(server)
      .post('/api/kubechart/deploy')
      .set('Authorization', admin)
      .send({
        replicas: 2,
        db: { password: 'hunter2', host: 'db' },
        apiToken: 'tok-123',
      })
      .expect(202);
    const events = await waitForEvents(
      server,
      { plugin: 'kubechart', status: 'succeeded' },
      1,
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      eventId: 'chart-install',
      severity: 'high',
      target: { cluster: 'dev', namespace: 'team-a' },
      meta: {
        revision: 3,
        values: {
          replicas: 2,
          db: { password: '[REDACTED]', host: 'db' },
          apiToken: '[REDACTED]',
        },
      },
    });
    const exported = await request(server)
      .get('/api/audit-log/export?format=ndjson&plugin=kubechart')
      .set('Authorization', admin)
      .expect(200);
    expect(exported.text).toContain('[REDACTED]');
    expect(exported.text).not.toMatch(/hunter2|tok-123/);
  });

  it('never stores secrets written in the free text of event meta', async () => {
    await request(server)
      .post('/api/kubechart/deploy')
      .set('Authorization', admin)
      .send({
        marker: 'free-text',
        note: 'password: hunter2',
        cmd: 'mysql -phunter2 shop',
        dsn: 'postgres://app:hunter2@db/x',
        summary: 'tokenCount: 3, password-policy updated',
      })
      .expect(202);
    const events = await waitForEvents(
      server,
      { plugin: 'kubechart', status: 'succeeded', q: 'free-text' },
      1,
    );
    expect(events).toHaveLength(1);
    expect(events[0].meta).toMatchObject({
      values: {
        marker: 'free-text',
        note: 'password: [REDACTED]',
        cmd: 'mysql -p[REDACTED] shop',
        dsn: 'postgres://app:[REDACTED]@db/x',
        summary: 'tokenCount: 3, password-policy updated',
      },
    });
    const exported = await request(server)
      .get('/api/audit-log/export?format=ndjson&plugin=kubechart')
      .set('Authorization', admin)
      .expect(200);
    expect(exported.text).toContain('free-text');
    expect(exported.text).not.toContain('hunter2');
  });

  it('exports CSV and NDJSON that match the query', async () => {
    const query = {
      plugin: 'catalog',
      status: 'initiated,failed',
      entityRef: 'component:default/web',
    };
    const listed = await waitForEvents(server, query, 2);

    const ndjson = await request(server)
      .get('/api/audit-log/export')
      .query({ ...query, format: 'ndjson' })
      .set('Authorization', admin)
      .expect(200);
    expect(ndjson.headers['content-type']).toMatch(/application\/x-ndjson/);
    expect(ndjson.headers['content-disposition']).toMatch(
      /attachment; filename="audit-log-.*\.ndjson"/,
    );
    const lines = ndjson.text
      .trim()
      .split('\n')
      .map(l => JSON.parse(l));
    expect(lines).toEqual(listed);

    const csv = await request(server)
      .get('/api/audit-log/export')
      .query({ ...query, format: 'csv' })
      .set('Authorization', admin)
      .buffer(true)
      .parse((res, cb) => {
        let data = '';
        res.on('data', (c: Buffer) => {
          data += c.toString();
        });
        res.on('end', () => cb(null, data));
      })
      .expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const rows = (csv.body as string).trim().split('\n');
    expect(rows[0]).toMatch(
      /^seq,occurredAt,actor,plugin,eventId,severity,status,/,
    );
    expect(rows.slice(1).map(r => Number(r.split(',')[0]))).toEqual(
      listed.map(e => e.seq),
    );
    expect(rows[1]).toContain(',catalog,entity-fetch,');
  });

  it("lets an entity's owner read that entity's events and nothing else", async () => {
    await waitForEvents(server, { entityRef: 'component:default/web' }, 1);
    const mine = await request(server)
      .get('/api/audit-log/events')
      .query({ entityRef: 'component:default/web' })
      .set('Authorization', owner)
      .expect(200);
    expect(mine.body.items.length).toBeGreaterThan(0);
    for (const e of mine.body.items) {
      expect(e.target.entityRef).toBe('component:default/web');
    }
    const one = await request(server)
      .get(`/api/audit-log/events/${mine.body.items[0].seq}`)
      .set('Authorization', owner)
      .expect(200);
    expect(one.body.target.entityRef).toBe('component:default/web');

    // without an entity filter: the events of the entities they may read, only
    const all = await request(server)
      .get('/api/audit-log/events')
      .query({ limit: 500 })
      .set('Authorization', owner)
      .expect(200);
    expect(all.body.items.map((e: AuditEvent) => e.seq)).toEqual(
      mine.body.items.map((e: AuditEvent) => e.seq),
    );
    const other = await request(server)
      .get('/api/audit-log/events')
      .query({ entityRef: 'component:default/payments' })
      .set('Authorization', owner)
      .expect(403);
    expect(other.body.error.message).toBe(
      'Missing permission audit-log.events.read, or audit-log.entity-events.read on component:default/payments',
    );
    // an event they may not read is answered as one that does not exist
    const [notMine] = await waitForEvents(server, { plugin: 'kubechart' }, 1);
    const hidden = await request(server)
      .get(`/api/audit-log/events/${notMine.seq}`)
      .set('Authorization', owner)
      .expect(404);
    expect(hidden.body.error.message).toBe(`No audit event ${notMine.seq}`);
  });

  it('answers 403 to a reader without the permission', async () => {
    await request(server)
      .get('/api/audit-log/events')
      .set('Authorization', outsider)
      .expect(403);
    await request(server)
      .get('/api/audit-log/verify')
      .set('Authorization', outsider)
      .expect(403);
    // reading is not exporting
    const res = await request(server)
      .get('/api/audit-log/export?format=csv')
      .set('Authorization', reader)
      .expect(403);
    expect(res.body.error.name).toBe('NotAllowedError');
    await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', reader)
      .send({ olderThanDays: 30 })
      .expect(403);
    await request(server)
      .get('/api/audit-log/events')
      .set('Authorization', mockCredentials.user.invalidHeader())
      .expect(401);
  });

  it('validates queries', async () => {
    const res = await request(server)
      .get('/api/audit-log/events?severity=urgent&limit=0')
      .set('Authorization', admin)
      .expect(400);
    expect(res.body.error.name).toBe('InputError');
    expect(res.body.error.message).toMatch(/severity/);
    await request(server)
      .get('/api/audit-log/events?unknown=1')
      .set('Authorization', admin)
      .expect(400);
    await request(server)
      .get('/api/audit-log/events/abc')
      .set('Authorization', admin)
      .expect(400);
    await request(server)
      .get('/api/audit-log/events/999999')
      .set('Authorization', admin)
      .expect(404);
  });

  it('returns one event by sequence number and prunes on request', async () => {
    const [latest] = await waitForEvents(server, {}, 1);
    const one = await request(server)
      .get(`/api/audit-log/events/${latest.seq}`)
      .set('Authorization', admin)
      .expect(200);
    expect(one.body).toEqual(latest);

    // a cut-off in the future or inside the 90-day minimum is refused
    const future = await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', admin)
      .send({ before: new Date(Date.now() + 60_000).toISOString() })
      .expect(400);
    expect(future.body.error.message).toMatch(/is in the future/);
    const recent = await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', admin)
      .send({ olderThanDays: 30 })
      .expect(400);
    expect(recent.body.error.message).toMatch(
      /inside the minimum retention of 90 days/,
    );
    // a service may not prune, whatever the permission policy says
    await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', mockCredentials.service.header())
      .send({ olderThanDays: 100 })
      .expect(403);
    const tooBig = await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', admin)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ before: 'x'.repeat(20_000) }))
      .expect(400);
    expect(tooBig.body.error.message).toBe(
      'Request body exceeds the limit of 16384 bytes',
    );
    // nothing older than 90 days exists yet: an audited no-op
    const pruned = await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', admin)
      .send({ olderThanDays: 90 })
      .expect(200);
    expect(pruned.body.deleted).toBe(0);
    const [prune] = await waitForEvents(
      server,
      { eventId: 'events-prune', status: 'succeeded' },
      1,
    );
    expect(prune).toMatchObject({
      actor: 'user:default/admin',
      severity: 'high',
      meta: { reason: 'on request', deleted: 0 },
    });
  });

  it('records each refused prune as a failed events-prune, a bounded number per caller a minute', async () => {
    const mallory = mockCredentials.user.header('user:default/mallory');
    // without the prune permission: 403, recorded with the caller and the cut-off asked for
    for (let i = 0; i < 12; i++) {
      await request(server)
        .post('/api/audit-log/prune')
        .set('Authorization', mallory)
        .send({ before: '2001-01-01T00:00:00.000Z' })
        .expect(403);
    }
    // a service token: 403 whatever the policy says
    await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', mockCredentials.service.header())
      .send({ before: '2002-02-02T00:00:00.000Z' })
      .expect(403);
    // a cut-off inside the minimum retention: 400
    const inside = new Date(Date.now() - 10 * 24 * 3600 * 1000).toISOString();
    await request(server)
      .post('/api/audit-log/prune')
      .set('Authorization', admin)
      .send({ before: inside })
      .expect(400);

    const [cutoff] = await waitForEvents(
      server,
      { eventId: 'events-prune', status: 'failed', q: inside },
      1,
    );
    expect(cutoff).toMatchObject({
      actor: 'user:default/admin',
      severity: 'high',
      meta: {
        outcome: 'refused',
        actor: 'user:default/admin',
        reason: 'on request',
        before: inside,
      },
    });
    expect(cutoff.error).toMatch(/inside the minimum retention of 90 days/);
    const [service] = await waitForEvents(
      server,
      { eventId: 'events-prune', status: 'failed', q: '2002-02-02' },
      1,
    );
    expect(service).toMatchObject({
      actor: 'external:test-service',
      meta: {
        outcome: 'refused',
        actor: 'service:external:test-service',
        before: '2002-02-02T00:00:00.000Z',
      },
    });
    // stored in order: mallory's are all in by now; ten of twelve are recorded one by one
    const malloryRefused = await waitForEvents(
      server,
      {
        eventId: 'events-prune',
        status: 'failed',
        actor: 'user:default/mallory',
      },
      10,
    );
    expect(malloryRefused).toHaveLength(10);
    for (const event of malloryRefused) {
      expect(event).toMatchObject({
        status: 'failed',
        meta: {
          outcome: 'refused',
          actor: 'user:default/mallory',
          before: '2001-01-01T00:00:00.000Z',
        },
      });
      expect(event.error).toMatch(/audit-log\.events\.prune/);
    }
  });
});
