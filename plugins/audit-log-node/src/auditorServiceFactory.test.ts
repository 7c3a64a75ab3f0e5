import {
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
import { auditLogAuditorServiceFactory } from './auditorServiceFactory';
import { auditLogQueueServiceRef } from './queueServiceRef';

describe('auditLogAuditorServiceFactory', () => {
  it('hands redacted events with actor, request and target to the queue', async () => {
    const stored: AuditEventInput[] = [];
    const testPlugin = createBackendPlugin({
      pluginId: 'demo',
      register(env) {
        env.registerInit({
          deps: {
            auditor: coreServices.auditor,
            httpRouter: coreServices.httpRouter,
            queue: auditLogQueueServiceRef,
          },
          async init({ auditor, httpRouter, queue }) {
            queue.attachSink(async batch => {
              stored.push(...batch);
            });
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
        });
      },
    });

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

  it('does not fail the audited operation when the caller cannot be resolved', async () => {
    const stored: AuditEventInput[] = [];
    const testPlugin = createBackendPlugin({
      pluginId: 'demo',
      register(env) {
        env.registerInit({
          deps: {
            auditor: coreServices.auditor,
            httpRouter: coreServices.httpRouter,
            queue: auditLogQueueServiceRef,
          },
          async init({ auditor, httpRouter, queue }) {
            queue.attachSink(async batch => {
              stored.push(...batch);
            });
            httpRouter.addAuthPolicy({
              path: '/open',
              allow: 'unauthenticated',
            });
            const router = express.Router();
            router.get('/open', async (req, res) => {
              await auditor.createEvent({ eventId: 'peek', request: req });
              await queue.drain();
              res.json({ ok: true });
            });
            httpRouter.use(router);
          },
        });
      },
    });
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
});
