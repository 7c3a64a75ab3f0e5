import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import {
  AuditEventQueue,
  AuditLogAuditorService,
} from '@kubechart/plugin-audit-log-node';
import express from 'express';
import { Knex } from 'knex';
import request from 'supertest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { createAnchorMemory } from './anchors';
import { createAuditWitness } from './checkpointWitness';
import { createRouter } from './router';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const admin = mockCredentials.user.header('user:default/admin');

function event(n: number): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    actor: 'user:default/jane',
    plugin: 'kubechart',
    eventId: 'chart-install',
    severity: 'high',
    status: 'succeeded',
    target: { cluster: 'dev' },
    meta: { n },
  };
}

describe.each(databases.eachSupportedId())(
  'GET /verify records its outcome (%p)',
  databaseId => {
    let knex: Knex;
    let store: DatabaseAuditStore;
    let queue: AuditEventQueue;
    let app: express.Express;
    /** The witness file verify reads. */
    let witnessFile: string;

    beforeEach(async () => {
      witnessFile = join(
        await mkdtemp(join(tmpdir(), 'audit-verify-')),
        'witness.jsonl',
      );
      knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      const logger = mockServices.logger.mock();
      queue = new AuditEventQueue({ logger });
      queue.attachSink(async batch => {
        await store.append(batch);
      });
      const auditor = new AuditLogAuditorService({
        pluginId: 'audit-log',
        auth: mockServices.auth(),
        httpAuth: mockServices.httpAuth(),
        logger,
        config: mockServices.rootConfig(),
        queue,
      });
      app = express()
        .use(
          await createRouter({
            store,
            httpAuth: mockServices.httpAuth(),
            permissions: mockServices.permissions(),
            auditor,
            logger,
            witness: jest.fn(),
            readWitness: createAuditWitness({
              logger,
              config: mockServices.rootConfig({
                data: {
                  auditLog: {
                    retention: { checkpoint: { file: witnessFile } },
                  },
                },
              }),
            }).read,
            // started just now: a file not written to yet is no anchor missing
            anchorMemory: createAnchorMemory({ frequency: { minutes: 5 } }),
          }),
        )
        .use(mockErrorHandler());
    });

    afterEach(async () => {
      await queue.close();
    });

    it('records a verify that found the chain broken as a failed event of severity high', async () => {
      await store.append([1, 2, 3, 4, 5].map(event));
      await knex('audit_log_events')
        .where({ seq: 3 })
        .update({ actor: 'user:default/mallory' });
      const answer = await request(app)
        .get('/verify')
        .set('Authorization', admin);
      // the answer is the walk's result, as before
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ ok: false, failedSeq: 3 });
      await queue.drain();

      // a filter for failed, high events finds it
      const found = await store.query({
        eventId: 'chain-verify',
        status: ['failed'],
        severity: ['high'],
      });
      expect(found.items).toEqual([
        expect.objectContaining({
          plugin: 'audit-log',
          eventId: 'chain-verify',
          actor: 'user:default/admin',
          severity: 'high',
          status: 'failed',
          meta: {
            outcome: 'chain-broken',
            ok: false,
            checked: 2,
            failedSeq: 3,
            anchorSeq: null,
          },
          error: expect.stringContaining(
            'The audit chain is broken at event 3: Event 3 was altered',
          ),
        }),
      ]);
      const all = await store.query({ eventId: 'chain-verify' });
      expect(all.items.map(e => `${e.status} ${e.severity}`)).toEqual([
        'failed high',
        'initiated high',
      ]);
    });

    it('records a verify that found the chain no longer holding a head anchor as a failed anchor check, not a broken chain', async () => {
      await store.append([1, 2, 3, 4, 5].map(event));
      const anchor = await createAuditWitness({
        logger: mockServices.logger.mock(),
        config: mockServices.rootConfig({
          data: {
            auditLog: { retention: { checkpoint: { file: witnessFile } } },
          },
        }),
      }).anchor(await store.head());
      // a database writer cuts the tail back to event 3
      const three = await knex('audit_log_events').where({ seq: 3 }).first();
      await knex('audit_log_events').where('seq', '>', 3).delete();
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: 3, last_hash: three.hash });

      const answer = await request(app)
        .get('/verify')
        .set('Authorization', admin);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        ok: false,
        failedSeq: 4,
        anchorMismatch: { seq: 5, at: anchor.at },
      });
      await queue.drain();
      const found = await store.query({
        eventId: 'chain-verify',
        status: ['failed'],
        severity: ['high'],
      });
      expect(found.items).toEqual([
        expect.objectContaining({
          severity: 'high',
          status: 'failed',
          meta: expect.objectContaining({
            outcome: 'anchor-mismatch',
            ok: false,
            failedSeq: 4,
          }),
          error: expect.stringContaining(
            `The audit chain no longer holds the head anchor of event 5 published at ${anchor.at}: The chain ends at 3 but an anchor published at ${anchor.at} recorded event 5`,
          ),
        }),
      ]);
    });

    it('records a verify of an intact chain as succeeded, severity low', async () => {
      await store.append([1, 2, 3].map(event));
      const answer = await request(app)
        .get('/verify')
        .set('Authorization', admin);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ ok: true, checked: 3 });
      await queue.drain();
      const all = await store.query({ eventId: 'chain-verify' });
      expect(all.items).toEqual([
        expect.objectContaining({
          severity: 'low',
          status: 'succeeded',
          meta: { ok: true, checked: 3, failedSeq: null, anchorSeq: null },
        }),
        expect.objectContaining({ severity: 'low', status: 'initiated' }),
      ]);
    });

    it('records a verify that found no head anchor in the witness file as a failed event of severity high', async () => {
      await store.append([1, 2, 3].map(event));
      await writeFile(
        witnessFile,
        `${JSON.stringify({
          type: 'audit-log-checkpoint',
          fromSeq: 1,
          throughSeq: 40,
          hash: 'c'.repeat(64),
          cutoff: '2026-01-01T00:00:00.000Z',
          prunedAt: '2026-01-01T00:00:00.000Z',
          reason: 'on request',
        })}\n`,
      );
      const answer = await request(app)
        .get('/verify')
        .set('Authorization', admin);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        ok: false,
        checked: 3,
        failedSeq: 4,
        anchorMissing: true,
      });
      await queue.drain();
      const found = await store.query({
        eventId: 'chain-verify',
        status: ['failed'],
        severity: ['high'],
      });
      expect(found.items).toEqual([
        expect.objectContaining({
          severity: 'high',
          status: 'failed',
          meta: {
            outcome: 'anchor-missing',
            ok: false,
            checked: 3,
            failedSeq: 4,
            anchorSeq: null,
          },
          error: expect.stringContaining(
            'No head anchor to check the audit chain against: The witness file holds no head anchor',
          ),
        }),
      ]);
    });
  },
);
