import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { assistantProvidersExtensionPoint } from '@kubechart/plugin-assistant-node';
import request from 'supertest';
import { assistantPlugin } from './plugin';
import { AuditCall, recordingAuditor } from './__testUtils__/backend';

jest.setTimeout(60_000);

/** `kubeAssistant.limits` in these tests. */
const RECORDED_PER_MINUTE = 5;
const QUESTIONS_PER_MINUTE = 8;

/**
 * A caller bounds what it adds to the audit trail: a user without any assistant permission, asking in
 * a loop, is refused each time but recorded one by one only up to
 * `kubeAssistant.limits.refusedQuestionsAuditedPerMinute` a minute (the rest counted in one event),
 * and a user who may ask gets 429 beyond `kubeAssistant.limits.questionsPerUserPerMinute`, before any
 * provider is asked.
 */
describe('kube-assistant plugin: questions per caller and minute', () => {
  let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;
  let audit: AuditCall[];
  let denied: Set<string>;
  /** The questions the (counting) provider was asked. */
  let planned: string[];

  async function start() {
    audit = [];
    denied = new Set();
    planned = [];
    const countingProvider = createBackendModule({
      pluginId: 'kube-assistant',
      moduleId: 'counting-provider',
      register(env) {
        env.registerInit({
          deps: { providers: assistantProvidersExtensionPoint },
          async init({ providers }) {
            providers.addProvider({
              id: 'counting',
              async plan(question) {
                planned.push(question);
                return {
                  plan: { verb: 'get', resource: 'pods', namespace: 'shop' },
                  explanation: 'Lists the pods in shop.',
                };
              },
            });
          },
        });
      },
    });
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        countingProvider,
        mockServices.rootConfig.factory({
          data: {
            kubeAssistant: {
              providers: [{ id: 'counting' }],
              limits: {
                refusedQuestionsAuditedPerMinute: RECORDED_PER_MINUTE,
                questionsPerUserPerMinute: QUESTIONS_PER_MINUTE,
              },
            },
          },
        }),
        recordingAuditor(audit),
        mockServices.permissions.mock({
          authorize: jest.fn(async requests =>
            requests.map((r: any) => ({
              result: denied.has(r.permission.name)
                ? AuthorizeResult.DENY
                : AuthorizeResult.ALLOW,
            })),
          ) as any,
        }).factory,
        catalogServiceMock.factory({ entities: [] }),
      ],
    });
    return backend;
  }

  afterEach(async () => {
    await backend?.stop();
    backend = undefined;
  });

  const ask = (question: string, user: string) =>
    request(backend!.server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header(user))
      .send({ question });

  /** A long question (~1.9 KB), as the probe sent. */
  const longQuestion = (i: number) =>
    `list the pods in shop, number ${i}: ${'x'.repeat(1900)}`;

  it('answers a user without kube-assistant.query 403 every time, recording at most the limit and one count', async () => {
    await start();
    denied.add('kube-assistant.query');
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      statuses.push((await ask(longQuestion(i), 'user:default/eve')).status);
    }
    expect(statuses).toEqual(Array(100).fill(403));
    expect(planned).toEqual([]);
    // Recorded one by one up to the limit, each with the question and its refusal.
    expect(audit).toHaveLength(RECORDED_PER_MINUTE);
    for (const call of audit) {
      expect(call.options.eventId).toBe('question');
      expect(call.options.meta).toMatchObject({ user: 'user:default/eve' });
      expect(call.fail).toHaveBeenCalledWith(
        expect.objectContaining({
          meta: expect.objectContaining({
            outcome: 'refused',
            stage: 'permission',
          }),
        }),
      );
    }
    // The rest are counted, in one event when the backend stops (or the minute ends), with no
    // question text.
    await backend!.stop();
    backend = undefined;
    expect(audit).toHaveLength(RECORDED_PER_MINUTE + 1);
    const count = audit[RECORDED_PER_MINUTE];
    expect(count.options.eventId).toBe('refusals-not-recorded');
    expect(count.options.meta).toMatchObject({
      user: 'user:default/eve',
      outcome: 'refused',
      refusedNotRecorded: 100 - RECORDED_PER_MINUTE,
    });
    expect(JSON.stringify(count.options.meta)).not.toContain('xxxx');
    expect(count.fail).toHaveBeenCalledWith({
      error: expect.objectContaining({
        message: expect.stringMatching(
          /^95 refused requests of user:default\/eve since .* were not recorded one by one \(kubeAssistant\.limits\.refusedQuestionsAuditedPerMinute: 5\)$/,
        ),
      }),
    });
  });

  it('answers 429 beyond kubeAssistant.limits.questionsPerUserPerMinute, before any provider is asked', async () => {
    await start();
    const statuses: number[] = [];
    for (let i = 0; i < QUESTIONS_PER_MINUTE + 3; i++) {
      statuses.push(
        (await ask(`list the pods in shop ${i}`, 'user:default/alice')).status,
      );
    }
    expect(statuses).toEqual([
      ...Array(QUESTIONS_PER_MINUTE).fill(200),
      429,
      429,
      429,
    ]);
    expect(planned).toHaveLength(QUESTIONS_PER_MINUTE);
    const limited = await ask('list the pods in shop', 'user:default/alice');
    expect(limited.status).toBe(429);
    expect(limited.body.error.message).toBe(
      `user:default/alice asked ${QUESTIONS_PER_MINUTE} questions in the last minute; the limit is ${QUESTIONS_PER_MINUTE} a minute (kubeAssistant.limits.questionsPerUserPerMinute). Try again shortly.`,
    );
    expect(planned).toHaveLength(QUESTIONS_PER_MINUTE);
    // Each refusal is audited, as a refused question, within the refusal window.
    const refused = audit.filter(call =>
      call.fail.mock.calls.some(
        ([c]) =>
          c.meta?.outcome === 'refused' && c.meta?.stage === 'rate-limit',
      ),
    );
    expect(refused).toHaveLength(4);
    expect(refused[0].options.meta).toMatchObject({
      user: 'user:default/alice',
      question: `list the pods in shop ${QUESTIONS_PER_MINUTE}`,
    });
    // Another user is not limited by alice's questions.
    expect(
      (await ask('list the pods in shop', 'user:default/bob')).status,
    ).toBe(200);
  });

  it('leaves normal use as it was: questions under the limit are planned and audited one by one', async () => {
    await start();
    for (let i = 0; i < QUESTIONS_PER_MINUTE; i++) {
      const asked = await ask(
        `list the pods in shop ${i}`,
        'user:default/alice',
      );
      expect(asked.status).toBe(200);
      expect(asked.body.command).toBe('kubectl get pods -n shop');
    }
    expect(audit.map(call => call.options.eventId)).toEqual(
      Array(QUESTIONS_PER_MINUTE).fill('question'),
    );
    expect(audit.every(call => call.success.mock.calls.length === 1)).toBe(
      true,
    );
    // A denied user's refusals leave another user's questions alone.
    denied.add('kube-assistant.query');
    expect(
      (await ask('list the pods in shop', 'user:default/eve')).status,
    ).toBe(403);
    denied.clear();
    expect(
      (await ask('list the pods in shop', 'user:default/bob')).status,
    ).toBe(200);
    await backend!.stop();
    backend = undefined;
    // Nothing was left uncounted: no count event.
    expect(
      audit.filter(call => call.options.eventId === 'refusals-not-recorded'),
    ).toEqual([]);
  });
});
