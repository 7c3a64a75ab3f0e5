import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import express from 'express';
import request from 'supertest';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { parsePruneBody, parseSeq } from './queryParams';
import { createRouter } from './router';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * A filter holding a NUL (`%00`), which PostgreSQL refuses in a query, is read as the audit trail
 * stores such text (U+FFFD): a 200 finding the events stored from it, never a 500.
 */
describe.each(databases.eachSupportedId())(
  'audit event filters holding a NUL on %p',
  databaseId => {
    let app: express.Express;
    let seq: number;
    const admin = mockCredentials.user.header('user:default/admin');

    beforeAll(async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      seq = (
        await store.append([
          {
            occurredAt: new Date().toISOString(),
            actor: 'user:default/a\u0000b',
            plugin: 'kube\u0000chart',
            eventId: 'run\u0000create',
            severity: 'medium',
            status: 'failed',
            target: {
              entityRef: 'component:default/shop\u0000x',
              namespace: 'other\u0000x',
            },
            error: 'namespace "other\u0000x" is outside the run',
          },
          {
            occurredAt: new Date().toISOString(),
            actor: 'user:default/ab',
            plugin: 'kubechart',
            eventId: 'run-create',
            severity: 'medium',
            status: 'succeeded',
            target: {},
          },
        ])
      ).lastSeq;
      const router = await createRouter({
        store,
        httpAuth: mockServices.httpAuth(),
        permissions: mockServices.permissions(),
        auditor: mockServices.auditor.mock(),
        logger: mockServices.logger.mock(),
        witness: async cut => ({
          type: 'audit-log-checkpoint',
          ...cut,
          prunedAt: new Date().toISOString(),
          reason: 'on request',
        }),
      });
      app = express().use(router).use(mockErrorHandler());
    });

    it.each([
      ['actor', 'user:default/a\u0000b'],
      ['plugin', 'kube\u0000chart'],
      ['eventId', 'run\u0000create'],
      ['entityRef', 'component:default/shop\u0000x'],
      ['target', 'other\u0000x'],
      ['q', '"other\u0000x"'],
    ])('finds by %s the event stored with the NUL', async (name, value) => {
      const res = await request(app)
        .get('/events')
        .query({ [name]: value })
        .set('Authorization', admin);
      expect(res.status).toBe(200);
      expect(res.body.items.map((e: any) => e.seq)).toEqual([seq - 1]);

      const exported = await request(app)
        .get('/export')
        .query({ [name]: value, format: 'ndjson' })
        .set('Authorization', admin);
      expect(exported.status).toBe(200);
      const lines = exported.text
        .trim()
        .split('\n')
        .map(l => JSON.parse(l));
      expect(lines.map(e => e.seq)).toEqual([seq - 1]);
    });

    it('answers an empty page to a NUL alone', async () => {
      const res = await request(app)
        .get('/events?actor=%00')
        .set('Authorization', admin);
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
    });
  },
);

describe('parseSeq', () => {
  it('reads a sequence number only when it is one exactly', () => {
    expect(parseSeq('1')).toBe(1);
    expect(parseSeq('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    // above Number.MAX_SAFE_INTEGER a number would stand for another event than asked
    for (const value of ['9007199254740992', '9007199254740993', '0', '01']) {
      expect(() => parseSeq(value)).toThrow(
        `Invalid sequence number '${value}'`,
      );
    }
  });
});

describe('parsePruneBody', () => {
  it('reads a cut-off that is a time', () => {
    expect(parsePruneBody({ before: '2001-01-01T00:00:00Z' })).toEqual({
      before: new Date('2001-01-01T00:00:00Z'),
    });
    const { before } = parsePruneBody({ olderThanDays: 100_000 });
    expect(Number.isNaN(before.getTime())).toBe(false);
  });

  it('refuses values that name no time', () => {
    for (const days of [100_001, 1e9, 1e300]) {
      expect(() => parsePruneBody({ olderThanDays: days })).toThrow(
        /^Invalid request body: olderThanDays: .*100000/,
      );
    }
    expect(() =>
      parsePruneBody({ before: '2024-01-01T00:00:00+99:00' }),
    ).toThrow('Invalid request body: before: not a valid time');
  });
});
