import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import {
  AuditEventQueue,
  AuditLogAuditorService,
} from '@kubechart/plugin-audit-log-node';
import express from 'express';
import request from 'supertest';
import { AuditStore } from '../database/AuditStore';
import { createRouter } from './router';

const mallory = mockCredentials.user.header('user:default/mallory');
const admin = mockCredentials.user.header('user:default/admin');

/** The prune permission for admin alone. */
const permissions = mockServices.permissions.mock({
  authorize: async (requests, options) =>
    requests.map(() => ({
      result:
        (options?.credentials.principal as { userEntityRef?: string })
          ?.userEntityRef === 'user:default/admin'
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    })),
});

/** A refused prune reaches neither the store nor the witness. */
const store = {} as AuditStore;
const witness = async () => {
  throw new Error('a refused prune writes no checkpoint');
};

describe('refused prunes while the audit database is down', () => {
  let app: express.Express;
  let queue: AuditEventQueue;
  /** The events the database was offered, in order, each once (it refused them all). */
  let offered: AuditEventInput[];

  beforeEach(async () => {
    const logger = mockServices.logger.mock();
    // a change waits a second for its record, then is refused with 503
    queue = new AuditEventQueue({ logger, maxStoreWaitMs: 1000 });
    offered = [];
    queue.attachSink(async batch => {
      offered.push(...batch.filter(e => !offered.includes(e)));
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
        code: 'ECONNREFUSED',
      });
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
          permissions,
          auditor,
          logger,
          witness,
        }),
      )
      .use(mockErrorHandler());
  });

  afterEach(async () => {
    await queue.close();
  });

  /** The refused prunes queued for the trail: started and failed, with the refusal's error. */
  function queuedRefusals() {
    return offered.filter(e => e.eventId === 'events-prune');
  }

  it.each([
    [
      'a caller without audit-log.events.prune',
      mallory,
      '2001-01-01T00:00:00.000Z',
      403,
      /^Missing permission audit-log\.events\.prune$/,
    ],
    [
      'a service token',
      mockCredentials.service.header(),
      '2001-01-01T00:00:00.000Z',
      403,
      /^Only a user may prune the audit log, not a service$/,
    ],
    [
      'a cut-off in the future',
      admin,
      '2999-01-01T00:00:00.000Z',
      400,
      /in the future/,
    ],
  ])(
    'answers %s with the refusal, its record queued',
    async (_name, authorization, before, status, message) => {
      const answer = await request(app)
        .post('/prune')
        .set('Authorization', authorization)
        .send({ before });
      expect(answer.status).toBe(status);
      expect(answer.body.error.message).toMatch(message);
      // its start and failure are queued when it is answered, the database still down: the start
      // was not waited for (no "Refused its audit record" outcome)
      expect(queue.stats()).toMatchObject({ buffered: 2, written: 0 });
      await queue.drain();
      expect(queuedRefusals()).toEqual([
        expect.objectContaining({ status: 'initiated', severity: 'high' }),
        expect.objectContaining({
          status: 'failed',
          severity: 'high',
          meta: expect.objectContaining({ outcome: 'refused', before }),
          error: expect.stringMatching(message.source.replace(/^\^/, '')),
        }),
      ]);
    },
  );
});

describe('a prune body that is refused', () => {
  let app: express.Express;
  let queue: AuditEventQueue;
  let stored: AuditEventInput[];

  beforeEach(async () => {
    const logger = mockServices.logger.mock();
    queue = new AuditEventQueue({ logger });
    stored = [];
    queue.attachSink(async batch => {
      stored.push(...batch);
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
          permissions,
          auditor,
          logger,
          witness,
        }),
      )
      .use(mockErrorHandler());
  });

  afterEach(async () => {
    await queue.close();
  });

  it.each([
    [
      'olderThanDays beyond any date',
      { olderThanDays: 1e9 },
      /^Invalid request body: olderThanDays: .*100000/,
    ],
    [
      'a before that names no time',
      { before: '2024-01-01T00:00:00+99:00' },
      /^Invalid request body: before: not a valid time$/,
    ],
    [
      'a before that is not a timestamp',
      { before: 'yesterday' },
      /^Invalid request body: before: /,
    ],
    [
      'neither before nor olderThanDays',
      {},
      /^Invalid request body: Give exactly one of before or olderThanDays$/,
    ],
  ])(
    'answers %s with 400, recorded as a refused prune',
    async (_name, body, message) => {
      const answer = await request(app)
        .post('/prune')
        .set('Authorization', admin)
        .send(body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toMatch(message);
      await queue.drain();
      expect(stored.filter(e => e.eventId === 'events-prune')).toEqual([
        expect.objectContaining({ status: 'initiated', severity: 'high' }),
        expect.objectContaining({
          status: 'failed',
          severity: 'high',
          actor: 'user:default/admin',
          meta: expect.objectContaining({
            outcome: 'refused',
            actor: 'user:default/admin',
            before: null,
          }),
          error: expect.stringMatching(message.source.replace(/^\^/, '')),
        }),
      ]);
    },
  );

  it.each([
    [
      'a body that is not JSON',
      '{"before": ',
      /^Request body is not valid JSON$/,
    ],
    [
      'a body over 16 KB',
      JSON.stringify({ before: 'x'.repeat(20_000) }),
      /^Request body exceeds the limit of 16384 bytes$/,
    ],
  ])(
    'answers %s with 400, recorded as a refused prune',
    async (_name, body, message) => {
      const answer = await request(app)
        .post('/prune')
        .set('Authorization', admin)
        .set('Content-Type', 'application/json')
        .send(body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toMatch(message);
      await queue.drain();
      expect(stored.filter(e => e.eventId === 'events-prune')).toEqual([
        expect.objectContaining({ status: 'initiated', severity: 'high' }),
        expect.objectContaining({
          status: 'failed',
          severity: 'high',
          actor: 'user:default/admin',
          meta: expect.objectContaining({
            outcome: 'refused',
            actor: 'user:default/admin',
            before: null,
          }),
          error: expect.stringMatching(message.source.replace(/^\^/, '')),
        }),
      ]);
    },
  );

  it.each([
    [
      'a body in another charset than UTF-8',
      { 'Content-Type': 'application/json; charset=latin1' },
      /^Request body charset LATIN1 is not supported: send JSON in UTF-8$/,
    ],
    [
      'a body in an unknown content encoding',
      { 'Content-Type': 'application/json', 'Content-Encoding': 'zstd-x' },
      /^Request body content encoding zstd-x is not supported: send it unencoded, gzip or deflate$/,
    ],
    [
      'a body in a content encoding named at length',
      {
        'Content-Type': 'application/json',
        'Content-Encoding': `x${'y'.repeat(200)}`,
      },
      /^Request body content encoding \(not named here\) is not supported: send it unencoded, gzip or deflate$/,
    ],
  ])(
    'answers %s with 415, recorded as a refused prune',
    async (_name, headers, message) => {
      const answer = await request(app)
        .post('/prune')
        .set('Authorization', admin)
        .set(headers)
        .send('{"olderThanDays": 400}');
      expect(answer.status).toBe(415);
      expect(answer.body.error.message).toMatch(message);
      await queue.drain();
      expect(stored.filter(e => e.eventId === 'events-prune')).toEqual([
        expect.objectContaining({ status: 'initiated', severity: 'high' }),
        expect.objectContaining({
          status: 'failed',
          severity: 'high',
          actor: 'user:default/admin',
          meta: expect.objectContaining({
            outcome: 'refused',
            actor: 'user:default/admin',
            before: null,
          }),
          error: expect.stringMatching(message.source.replace(/^\^/, '')),
        }),
      ]);
    },
  );
});

describe('a refused prune whose record fails', () => {
  it('answers the refusal, and logs that it was not recorded', async () => {
    const logger = mockServices.logger.mock();
    const auditor = mockServices.auditor.mock({
      createEvent: async () => {
        throw new Error('the audit trail is unavailable');
      },
    });
    const app = express()
      .use(
        await createRouter({
          store,
          httpAuth: mockServices.httpAuth(),
          permissions,
          auditor,
          logger,
          witness,
        }),
      )
      .use(mockErrorHandler());
    const answer = await request(app)
      .post('/prune')
      .set('Authorization', mallory)
      .send({ before: '2001-01-01T00:00:00.000Z' });
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toBe(
      'Missing permission audit-log.events.prune',
    );
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringMatching(
        /refused prune of user:default\/mallory could not be recorded: Error: the audit trail is unavailable/,
      ),
    );
  });
});
