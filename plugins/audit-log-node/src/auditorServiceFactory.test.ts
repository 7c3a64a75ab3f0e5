import {
  AuditorService,
  HttpRouterService,
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import express from 'express';
import request from 'supertest';
import {
  AuditLogCreateEventOptions,
  auditLogAuditorServiceFactory,
} from './auditorServiceFactory';
import { AuditEventQueue } from './AuditEventQueue';
import { auditLogQueueServiceRef } from './queueServiceRef';

/**
 * A plugin `demo` whose auditor is KubeChart's, its queue's batches kept in `stored`; `init` gets
 * the plugin's auditor, HTTP router and queue.
 */
function demoPlugin(
  init: (deps: {
    auditor: AuditorService;
    httpRouter: HttpRouterService;
    queue: AuditEventQueue;
  }) => void,
  /** Called before a batch is stored; throws while the database is down. */
  beforeStore: () => Promise<void> = async () => {},
) {
  const stored: AuditEventInput[] = [];
  const plugin = createBackendPlugin({
    pluginId: 'demo',
    register(env) {
      env.registerInit({
        deps: {
          auditor: coreServices.auditor,
          httpRouter: coreServices.httpRouter,
          queue: auditLogQueueServiceRef,
        },
        async init(deps) {
          deps.queue.attachSink(async batch => {
            await beforeStore();
            stored.push(...batch);
          });
          init(deps);
        },
      });
    },
  });
  return { plugin, stored };
}

describe('auditLogAuditorServiceFactory', () => {
  it('hands redacted events with actor, request and target to the queue', async () => {
    const { plugin: testPlugin, stored } = demoPlugin(
      ({ auditor, httpRouter, queue }) => {
        const router = express.Router();
        router.post('/things/:name', async (req, res) => {
          const event = await auditor.createEvent({
            eventId: 'thing-create',
            severityLevel: 'medium',
            request: req,
            meta: {
              entityRef: `component:default/${req.params.name}`,
              values: { dbPassword: 'hunter2', replicas: 2 },
            },
          });
          await event.fail({ error: new Error('quota exceeded') });
          await queue.drain();
          res.status(201).json({ ok: true });
        });
        httpRouter.use(router);
      },
    );

    const { server } = await startTestBackend({
      features: [testPlugin, auditLogAuditorServiceFactory],
    });

    await request(server)
      .post('/api/demo/things/web')
      .set('Authorization', mockCredentials.user.header('user:default/jane'))
      .set('User-Agent', 'jest-agent')
      .expect(201);

    expect(stored).toHaveLength(2);
    expect(stored.map(e => e.status)).toEqual(['initiated', 'failed']);
    const failed = stored[1];
    expect(failed).toMatchObject({
      actor: 'user:default/jane',
      plugin: 'demo',
      eventId: 'thing-create',
      severity: 'medium',
      target: { entityRef: 'component:default/web' },
      request: {
        method: 'POST',
        path: '/api/demo/things/web',
        userAgent: 'jest-agent',
      },
      meta: { values: { dbPassword: '[REDACTED]', replicas: 2 } },
    });
    expect(failed.error).toContain('quota exceeded');
    expect(JSON.stringify(stored)).not.toContain('hunter2');
  });

  it('hides secrets written in meta strings and in the error, in the stored event and the log line', async () => {
    const logged: string[] = [];
    const logger = mockServices.rootLogger.mock();
    const child = mockServices.logger.mock();
    const capture = (...args: unknown[]) => {
      logged.push(
        JSON.stringify(args, (_k, v) =>
          v instanceof Error ? { message: v.message, stack: v.stack } : v,
        ),
      );
    };
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      child[level].mockImplementation(capture);
    }
    child.child.mockReturnValue(child);
    logger.child.mockReturnValue(child);
    let audit: () => Promise<void> = async () => {};
    const { plugin: testPlugin, stored } = demoPlugin(({ auditor, queue }) => {
      audit = async () => {
        const event = await auditor.createEvent({
          eventId: 'db-migrate',
          severityLevel: 'medium',
          meta: {
            note: 'password: hunter2',
            cmd: 'mysql -phunter2 shop',
            dsn: 'postgres://app:hunter2@db/x',
            summary: 'tokenCount: 3, password-policy updated',
          },
        });
        await event.fail({
          error: new Error('cannot connect to postgres://app:hunter2@db/x'),
        });
        await queue.drain();
      };
    });
    await startTestBackend({
      features: [testPlugin, auditLogAuditorServiceFactory, logger.factory],
    });
    await audit();

    expect(stored).toHaveLength(2);
    expect(stored[1].meta).toEqual({
      note: 'password: [REDACTED]',
      cmd: 'mysql -p[REDACTED] shop',
      dsn: 'postgres://app:[REDACTED]@db/x',
      summary: 'tokenCount: 3, password-policy updated',
    });
    expect(stored[1].error).toContain(
      'cannot connect to postgres://app:[REDACTED]@db/x',
    );
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    // The log lines carry the redacted meta, and the error redacted as stored.
    const lines = logged.filter(l => l.includes('demo.db-migrate'));
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toContain('password: [REDACTED]');
    expect(lines[1]).toContain(
      'cannot connect to postgres://app:[REDACTED]@db/x',
    );
    expect(logged.join('\n')).not.toContain('hunter2');
  });

  it('hides secret query parameters of the request path, in the stored event and the log line', async () => {
    const logged: string[] = [];
    const logger = mockServices.rootLogger.mock();
    const child = mockServices.logger.mock();
    const capture = (...args: unknown[]) => {
      logged.push(JSON.stringify(args));
    };
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      child[level].mockImplementation(capture);
    }
    child.child.mockReturnValue(child);
    logger.child.mockReturnValue(child);
    const { plugin: testPlugin, stored } = demoPlugin(
      ({ auditor, httpRouter, queue }) => {
        const router = express.Router();
        router.get('/callback', async (req, res) => {
          const event = await auditor.createEvent({
            eventId: 'callback',
            request: req,
          });
          await event.success();
          await queue.drain();
          res.json({ ok: true });
        });
        httpRouter.use(router);
      },
    );
    const { server } = await startTestBackend({
      features: [testPlugin, auditLogAuditorServiceFactory, logger.factory],
    });

    await request(server)
      .get(
        '/api/demo/callback?access_token=abc123&state=1&access%5Ftoken=abc456' +
          '&password=hunter2&password=hunter3&page=2&q=tokenizer',
      )
      .set('Authorization', mockCredentials.user.header('user:default/jane'))
      .expect(200);

    expect(stored).toHaveLength(2);
    for (const event of stored) {
      expect(event.request?.path).toBe(
        '/api/demo/callback?access_token=[REDACTED]&state=1&access%5Ftoken=[REDACTED]' +
          '&password=[REDACTED]&password=[REDACTED]&page=2&q=tokenizer',
      );
    }
    const lines = logged.filter(l => l.includes('demo.callback'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('access_token=[REDACTED]&state=1');
    for (const secret of ['abc123', 'abc456', 'hunter2', 'hunter3']) {
      expect(JSON.stringify(stored)).not.toContain(secret);
      expect(logged.join('\n')).not.toContain(secret);
    }
  });

  it('does not fail the audited operation when the caller cannot be resolved', async () => {
    const { plugin: testPlugin, stored } = demoPlugin(
      ({ auditor, httpRouter, queue }) => {
        httpRouter.addAuthPolicy({ path: '/open', allow: 'unauthenticated' });
        const router = express.Router();
        router.get('/open', async (req, res) => {
          await auditor.createEvent({ eventId: 'peek', request: req });
          await queue.drain();
          res.json({ ok: true });
        });
        httpRouter.use(router);
      },
    );
    const { server } = await startTestBackend({
      features: [
        testPlugin,
        auditLogAuditorServiceFactory,
        mockServices.httpAuth.factory(),
      ],
    });
    await request(server)
      .get('/api/demo/open')
      .set('Authorization', 'Bearer not-a-valid-token')
      .expect(200);
    expect(stored).toHaveLength(1);
    expect(stored[0].actor).toBeUndefined();
  });

  it('records as actor the credentials the plugin passes for a call without a request', async () => {
    let audit: (options: object) => Promise<void> = async () => {};
    const { plugin: testPlugin, stored } = demoPlugin(({ auditor, queue }) => {
      audit = async options => {
        const event = await auditor.createEvent(
          options as AuditLogCreateEventOptions,
        );
        await event.success();
        await queue.drain();
      };
    });
    await startTestBackend({
      features: [testPlugin, auditLogAuditorServiceFactory],
    });
    const actorOf = async (options: object) => {
      stored.length = 0;
      await audit(options);
      expect(new Set(stored.map(e => e.actor)).size).toBe(1);
      return stored[0].actor;
    };

    // An action of the actions registry (an MCP tool) receives the caller's credentials, no request.
    expect(
      await actorOf({
        eventId: 'question',
        credentials: mockCredentials.user('user:default/jane'),
      }),
    ).toBe('user:default/jane');
    expect(
      await actorOf({
        eventId: 'question',
        credentials: mockCredentials.service('external:agent'),
      }),
    ).toBe('external:agent');
    // Without them, the plugin itself, as before.
    const own = await actorOf({ eventId: 'question' });
    expect(own).toBe('plugin:demo');
    // Meta is the caller's data: it never names the actor.
    expect(
      await actorOf({
        eventId: 'question',
        meta: {
          credentials: mockCredentials.user('user:default/mallory'),
          actor: 'user:default/mallory',
        },
      }),
    ).toBe(own);
    // Nor does a plain object that only looks like credentials.
    expect(
      await actorOf({
        eventId: 'question',
        credentials: {
          principal: { type: 'user', userEntityRef: 'user:default/mallory' },
        },
      }),
    ).toBe(own);
  });

  it('holds at most 8 KiB of an error in the queue, as the trail stores it', async () => {
    let fail: (error: Error) => Promise<void> = async () => {};
    const { plugin: testPlugin, stored } = demoPlugin(({ auditor, queue }) => {
      fail = async error => {
        const event = await auditor.createEvent({ eventId: 'boom' });
        await event.fail({ error });
        await queue.drain();
      };
    });
    await startTestBackend({
      features: [testPlugin, auditLogAuditorServiceFactory],
    });
    await fail(new Error(`x${'y'.repeat(1_000_000)}`));
    const failed = stored.find(e => e.status === 'failed')!;
    expect(failed.error!.length).toBeLessThanOrEqual(8192);
    expect(failed.error).toMatch(/^Error: xy+… \(\d+ more characters\)$/);
  });

  it('makes the change of a low event without waiting for the trail, even while a write hangs', async () => {
    // The write of the trail hangs until the end of the test, and `maxStoreWaitMs` is an hour: a
    // change that waited for its start to be stored would never be answered (the test times out).
    let release: () => void = () => {};
    const held = new Promise<void>(resolve => {
      release = resolve;
    });
    let writes = 0;
    let queueOf: AuditEventQueue | undefined;
    const { plugin: testPlugin, stored } = demoPlugin(
      ({ auditor, httpRouter, queue }) => {
        queueOf = queue;
        const router = express.Router();
        router.post('/things', async (req, res) => {
          const event = await auditor.createEvent({
            eventId: 'thing-change',
            request: req,
            meta: { n: 1 },
          });
          // what the trail holds when the change is made
          const startStored = stored.some(e => e.status === 'initiated');
          await event.success();
          res.json({ startStored });
        });
        httpRouter.use(router);
      },
      async () => {
        writes++;
        await held;
      },
    );
    const { server } = await startTestBackend({
      features: [
        testPlugin,
        auditLogAuditorServiceFactory,
        mockServices.rootConfig.factory({
          data: { auditLog: { queue: { maxStoreWaitMs: 3_600_000 } } },
        }),
      ],
    });
    try {
      const answer = await request(server)
        .post('/api/demo/things')
        .set('Authorization', mockCredentials.user.header('user:default/jane'))
        .expect(200);
      // made, and answered, with its start not (yet) in the trail
      expect(answer.body).toEqual({ startStored: false });
      expect(stored).toEqual([]);
      // once the write is done, its start and outcome are stored
      release();
      await queueOf!.drain();
      expect(writes).toBeGreaterThan(0);
      expect(stored.map(e => [e.severity, e.status])).toEqual([
        ['low', 'initiated'],
        ['low', 'succeeded'],
      ]);
    } finally {
      release();
    }
  });

  it('answers 503 and changes nothing when the trail has not stored the start of a medium or high event in time', async () => {
    let down = true;
    let queueOf: AuditEventQueue | undefined;
    const changes: number[] = [];
    const { plugin: testPlugin, stored } = demoPlugin(
      ({ auditor, httpRouter, queue }) => {
        queueOf = queue;
        const router = express.Router();
        router.use(express.json());
        router.post('/things', async (req, res, next) => {
          const { n, severity } = req.body;
          try {
            const event = await auditor.createEvent({
              eventId: 'thing-change',
              severityLevel: severity,
              request: req,
              meta: { n },
            });
            // what the trail holds when the change is made
            const startStored = stored.some(
              e => e.meta?.n === n && e.status === 'initiated',
            );
            changes.push(n);
            await event.success();
            res.json({ startStored });
          } catch (error) {
            next(error);
          }
        });
        httpRouter.use(router);
      },
      async () => {
        if (down) throw new Error('connection refused');
      },
    );
    const { server } = await startTestBackend({
      features: [
        testPlugin,
        auditLogAuditorServiceFactory,
        mockServices.rootConfig.factory({
          data: { auditLog: { queue: { maxStoreWaitMs: 300 } } },
        }),
      ],
    });
    const change = (n: number, severity: string) =>
      request(server)
        .post('/api/demo/things')
        .set('Authorization', mockCredentials.user.header('user:default/jane'))
        .send({ n, severity });

    // the audit database is down: a low event keeps its fast path
    await change(1, 'low').expect(200);
    await change(5, 'low').expect(200);
    // a change that must be in the trail before it is made is refused when the wait is over (only
    // the maxStoreWaitMs timer gives this message; that it fires then and not before is
    // AuditEventQueue's test, with fake timers)
    for (const [n, severity] of [
      [2, 'medium'],
      [3, 'high'],
    ] as const) {
      const refused = await change(n, severity).expect(503);
      expect(refused.body.error).toMatchObject({
        name: 'ServiceUnavailableError',
        message: expect.stringMatching(
          /^The audit trail did not store this event within 300 ms \(auditLog\.queue\.maxStoreWaitMs\)/,
        ),
      });
    }
    expect(changes).toEqual([1, 5]);

    // the database is back: the refused starts are stored with their outcome, refused
    down = false;
    await queueOf!.drain();
    const outcomes = (n: number) =>
      stored
        .filter(e => e.meta?.n === n)
        .map(e => [e.severity, e.status, e.error]);
    expect(outcomes(2)).toEqual([
      ['medium', 'initiated', undefined],
      [
        'medium',
        'failed',
        expect.stringMatching(
          /^ServiceUnavailableError: Refused its audit record: the audit trail did not store this event within 300 ms/,
        ),
      ],
    ]);
    expect(outcomes(3).map(([, status]) => status)).toEqual([
      'initiated',
      'failed',
    ]);

    // and a medium change is made only once its start is stored
    const done = await change(4, 'medium').expect(200);
    expect(done.body).toEqual({ startStored: true });
    expect(changes).toEqual([1, 5, 4]);
  });
});
