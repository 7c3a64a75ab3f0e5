import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import {
  META_LIMITS,
  SECRET_KEY_PATTERN,
} from '@kubechart/plugin-audit-log-node';
import express from 'express';
import { Knex } from 'knex';
import request from 'supertest';
import { DatabaseAuditStore } from './database/DatabaseAuditStore';
import { ROW_LIMITS } from './database/rows';
import { MAX_BODY_BYTES, createRouter } from './service/router';

jest.setTimeout(120_000);

const MB = 1024 * 1024;
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * A copy of `value` whose reads are counted in `tally.reads` (each read of a property of it or of
 * an object or list inside it).
 */
function countingReads<T>(value: T, tally: { reads: number }): T {
  const proxies = new WeakMap<object, object>();
  const counted = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    let proxy = proxies.get(v);
    if (!proxy) {
      proxy = new Proxy(v, {
        get(target, key, receiver) {
          tally.reads++;
          return counted(Reflect.get(target, key, receiver));
        },
      });
      proxies.set(v, proxy);
    }
    return proxy;
  };
  return counted(value) as T;
}

describe('hostile input to the audit-log backend', () => {
  let app: express.Express;
  let store: DatabaseAuditStore;
  let knex: Knex;
  /** Called once the app has sent a response. */
  let answered = () => {};

  beforeAll(async () => {
    knex = await databases.init('SQLITE_3');
    await DatabaseAuditStore.runMigrations(knex);
    store = new DatabaseAuditStore(knex);
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
    app = express()
      .use((_req, res, next) => {
        res.on('finish', () => answered());
        next();
      })
      .use(router)
      .use(mockErrorHandler());
  });

  const admin = mockCredentials.user.header('user:default/admin');

  const hostileRequests: Record<
    string,
    { send: () => request.Test; message: RegExp }
  > = {
    'a 5 MB prune body': {
      send: () =>
        request(app)
          .post('/prune')
          .set('Authorization', admin)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ before: 'x'.repeat(5 * MB) })),
      message: /^Request body exceeds the limit of 16384 bytes$/,
    },
    'a prune body nested 5,000 deep': {
      send: () =>
        request(app)
          .post('/prune')
          .set('Authorization', admin)
          .set('Content-Type', 'application/json')
          .send(`${'['.repeat(5000)}${']'.repeat(5000)}`),
      message: /^Invalid request body/,
    },
    'a prune body that is not JSON': {
      send: () =>
        request(app)
          .post('/prune')
          .set('Authorization', admin)
          .set('Content-Type', 'application/json')
          .send('{"before": '),
      message: /^Request body is not valid JSON$/,
    },
    'a 10,000-character search': {
      send: () =>
        request(app)
          .get('/events')
          .query({ q: 'a%_'.repeat(3000) })
          .set('Authorization', admin),
      message: /q: String must contain at most 200 character/,
    },
    'a thousand severities': {
      send: () =>
        request(app)
          .get('/events')
          .query({ severity: Array(1000).fill('low,urgent').join(',') })
          .set('Authorization', admin),
      message: /severity/,
    },
  };

  /**
   * Sends a hostile request and counts the work done for it until it is answered: the most
   * characters `JSON.parse` was given at once, the reads of the values it returned and the
   * database queries. Counts, not time: the machine may be busy.
   */
  async function workFor(send: () => request.Test) {
    const work = { largestJsonParsed: 0, bodyReads: 0, queries: 0 };
    const tally = { reads: 0 };
    let done = false;
    answered = () => {
      done = true;
    };
    const parse = JSON.parse;
    const jsonSpy = jest
      .spyOn(JSON, 'parse')
      .mockImplementation((text: string, reviver?: any) => {
        // (the client's parse of the answer is not the server's work)
        if (done) return parse(text, reviver);
        work.largestJsonParsed = Math.max(
          work.largestJsonParsed,
          String(text).length,
        );
        return countingReads(parse(text, reviver), tally);
      });
    const onQuery = () => {
      if (!done) work.queries++;
    };
    knex.on('query', onQuery);
    try {
      const response = await send();
      return { response, work: { ...work, bodyReads: tally.reads } };
    } finally {
      answered = () => {};
      knex.off('query', onQuery);
      jsonSpy.mockRestore();
    }
  }

  it.each(Object.keys(hostileRequests))(
    'refuses %s with a 400 naming the limit, before the costly part',
    async name => {
      const { send, message } = hostileRequests[name];
      const { response: res, work } = await workFor(send);
      // No body longer than the limit is parsed, no parsed body is walked, no query reaches the
      // database (a search of 3,000 `%` wildcards, a thousand severities).
      expect(work.largestJsonParsed).toBeLessThanOrEqual(MAX_BODY_BYTES);
      expect(work.bodyReads).toBeLessThan(100);
      expect(work.queries).toBe(0);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    },
  );

  it('stores an event with 5 MB in every field and 1 MB of keys in its meta, reading no more of it than it keeps', async () => {
    const huge = '\u0000\ud800x'.repeat((5 * MB) / 3);
    const hostile: AuditEventInput = {
      occurredAt: huge,
      actor: huge,
      plugin: huge,
      eventId: huge,
      severity: huge as any,
      status: huge as any,
      target: {
        entityRef: huge,
        cluster: huge,
        namespace: huge,
        resource: huge,
      },
      request: { method: huge, path: huge, ip: huge, userAgent: huge },
      meta: Object.fromEntries(
        Array.from({ length: MB / 16 }, (_, i) => [`key${i}`, huge]),
      ),
      error: huge,
    };
    // Counted: the reads of its meta's values and the longest text a regular expression replaced
    // in (every value is cut before it is cleaned, the meta walked within the metadata limits).
    const tally = { reads: 0 };
    const event = { ...hostile, meta: countingReads(hostile.meta, tally) };
    let longestReplaced = 0;
    const replace = String.prototype.replace;
    const replaceSpy = jest
      .spyOn(String.prototype, 'replace')
      .mockImplementation(function counted(this: string, ...args: any[]) {
        longestReplaced = Math.max(longestReplaced, String(this).length);
        return replace.apply(this, args as [any, any]);
      });
    const keyTests = jest.spyOn(SECRET_KEY_PATTERN, 'test');
    let seq: number;
    let keysMatched: number;
    try {
      seq = (await store.append([event])).lastSeq;
    } finally {
      keysMatched = keyTests.mock.calls.length;
      replaceSpy.mockRestore();
      keyTests.mockRestore();
    }
    // Its meta walked no further than the node limit: at most that many keys matched against the
    // secret pattern and values read twice (a walk past it goes through all 65,536 keys); no text
    // scanned longer than twice the longest column's limit (a field cleaned before it is cut scans
    // 5 MB).
    expect(keysMatched).toBeLessThanOrEqual(META_LIMITS.maxNodes + 10);
    expect(tally.reads).toBeLessThanOrEqual(2 * META_LIMITS.maxNodes + 10);
    expect(longestReplaced).toBeLessThanOrEqual(
      2 * Math.max(...Object.values(ROW_LIMITS)),
    );
    const stored = await store.get(seq);
    expect(stored!.error).toHaveLength(ROW_LIMITS.error);
    expect(stored!.error).not.toContain('\u0000');
    expect(JSON.stringify(stored!.meta).length).toBeLessThanOrEqual(
      ROW_LIMITS.meta,
    );
    await expect(store.verify()).resolves.toMatchObject({ ok: true });
  });
});
