import {
  TestDatabases,
  mockCredentials,
  mockServices,
} from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ACTOR = 'user:default/a\u0000b';
const ENTITY = 'component:default/shop\u0000x';
const NAMESPACE = 'team\u0000x';

/**
 * A text filter holding a NUL (`%00`), which PostgreSQL refuses in a query, is read as the run store
 * writes such text (U+FFFD): it finds the runs and drift records stored from it, and never answers
 * 500.
 */
describe.each(databases.eachSupportedId())(
  'kubechart text filters holding a NUL on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    let seeded: string;
    let other: string;

    const get = (path: string, query: Record<string, string> = {}) =>
      request(server)
        .get(`/api/kubechart${path}`)
        .query(query)
        .set('Authorization', mockCredentials.user.header());

    beforeAll(async () => {
      sim = await startSim();
      knex = await databases.init(databaseId);
      const backend = await startKubechartBackend({
        config: testConfig(sim, {
          health: { startOnBoot: false },
          drift: { frequencySeconds: 3600 },
        }),
        knex,
      });
      server = backend.server;
      stop = () => backend.stop();
      const store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
        skipMigrations: true,
      });
      seeded = (
        await store.createRun(
          {
            id: randomUUID(),
            kind: 'manifests',
            status: 'pending',
            actor: ACTOR,
            entityRef: ENTITY,
            target: { cluster: 'dev', namespace: NAMESPACE },
            input: {},
          },
          [],
        )
      ).id;
      other = (
        await store.createRun(
          {
            id: randomUUID(),
            kind: 'manifests',
            status: 'pending',
            actor: 'user:default/ab',
            entityRef: 'component:default/shopx',
            target: { cluster: 'dev', namespace: 'teamx' },
            input: {},
          },
          [],
        )
      ).id;
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    it.each([
      ['actor', ACTOR],
      ['entityRef', ENTITY],
    ])(
      'GET /runs finds by %s the run stored with the NUL',
      async (name, value) => {
        const res = await get('/runs', { [name]: value });
        expect(res.status).toBe(200);
        expect(res.body.items.map((r: any) => r.id)).toEqual([seeded]);
      },
    );

    it('GET /runs answers an empty page to a NUL alone', async () => {
      const res = await get('/runs', { actor: '\u0000' });
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
    });

    it('GET /runs reads on from a cursor naming a run id with a NUL', async () => {
      const cursor = Buffer.from(
        JSON.stringify([Date.now() + 60_000, 'x\u0000']),
      ).toString('base64url');
      const res = await get('/runs', { cursor });
      expect(res.status).toBe(200);
      expect(res.body.items.map((r: any) => r.id)).toEqual(
        expect.arrayContaining([seeded, other]),
      );
    });

    it('GET /runs refuses with 400 a cursor whose time is not a whole number of milliseconds', async () => {
      for (const time of [1e300, 1.5]) {
        const cursor = Buffer.from(JSON.stringify([time, 'x'])).toString(
          'base64url',
        );
        const res = await get('/runs', { cursor });
        expect(res.status).toBe(400);
        expect(res.body.error.message).toBe('Invalid cursor');
      }
    });

    it.each([
      ['entityRef', { entityRef: ENTITY }],
      ['cluster and namespace', { cluster: 'dev', namespace: NAMESPACE }],
    ])(
      'GET /drift finds by %s the record stored with the NUL',
      async (_, query) => {
        const drift = new DatabaseDriftStore(knex);
        const now = new Date().toISOString();
        for (const [runId, entityRef, namespace] of [
          [seeded, ENTITY, NAMESPACE],
          [other, 'component:default/shopx', 'teamx'],
        ])
          await drift.put({
            runId,
            target: { cluster: 'dev', namespace },
            entityRef,
            actor: ACTOR,
            status: 'in-sync',
            since: now,
            checkedAt: now,
            objects: [],
          });
        const res = await get('/drift', query);
        expect(res.status).toBe(200);
        expect(res.body.items.map((d: any) => d.runId)).toEqual([seeded]);
        expect(res.body.items[0].target.namespace).toBe('team\ufffdx');
      },
    );

    it('GET /drift answers an empty list to a NUL alone', async () => {
      const res = await get('/drift', { entityRef: '\u0000' });
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
    });

    it('GET /runs/:id/events refuses with 400 an `after` beyond any event', async () => {
      const res = await get(`/runs/${seeded}/events`, { after: '1e20' });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^Invalid query: after: /);
    });

    // A run id or tenant code in the path is looked up as the store writes text: no such run.
    it.each([
      ['/runs/%00', 'Run \u0000 not found'],
      ['/runs/%00/events', 'Run \u0000 not found'],
      ['/runs/%00/drift', 'Run \u0000 not found'],
      ['/tenants/%00', 'Tenant \u0000 not found'],
    ])('GET %s answers 404', async (path, message) => {
      const res = await request(server)
        .get(`/api/kubechart${path}`)
        .set('Authorization', mockCredentials.user.header());
      expect(res.status).toBe(404);
      expect(res.body.error.message).toBe(message);
    });
  },
);
