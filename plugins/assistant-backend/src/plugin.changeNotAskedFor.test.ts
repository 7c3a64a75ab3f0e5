import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { startFakeModelServer } from './__testUtils__/fakeModelServer';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';
import { assistantPlugin } from './plugin';

jest.setTimeout(60_000);

/**
 * The builtin parser refuses a change the question names without asking for it ("was deployment
 * inventory-service scaled to 0?") or asks for only under a condition ("… if needed"). A model read
 * such a question as the change itself, and one confirmation ran it: the same rule applies to the
 * plan whichever provider made it.
 */
describe('kube-assistant: a change the question does not ask for, whichever provider plans it', () => {
  let sim: KubeSim;
  let models: Awaited<ReturnType<typeof startFakeModelServer>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    models = await startFakeModelServer();
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: simCluster(sim, 'skip'),
            kubeAssistant: {
              providers: [
                {
                  id: 'openai',
                  baseUrl: models.url,
                  model: 'gpt-4o-mini',
                  apiKey: 'sk-test',
                  timeoutMs: 5000,
                },
                // What is compared is the answer read with the cluster's names, not how fast: a
                // loaded machine takes longer than the default budgets for the first look-up.
                { id: 'builtin', timeoutMs: 45_000 },
              ],
              nameLookupTimeoutMs: 30_000,
            },
          },
        }),
        recordingAuditor(audit),
        catalogServiceMock.factory({ entities: [] }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await models?.stop();
    await sim?.stop();
  });

  beforeEach(() => {
    audit.length = 0;
  });

  const ask = (question: string) =>
    request(backend.server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header())
      .send({ question });

  /** The model answers `plan` to the next questions; `null` declines, and the builtin parser answers. */
  function modelPlans(plan: object | null) {
    models.behaviours.openai = {
      kind: 'answer',
      content: { plan, explanation: 'As asked.' },
    };
  }

  it.each([
    {
      question: 'was deployment inventory-service scaled to 0?',
      plan: {
        verb: 'scale',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
        replicas: 0,
      },
      builtin:
        'I understood that the question names a change (scale deployment inventory-service to 0), but "scaled" tells of a change made, not one to make: it does not ask for a change. To have it planned, ask for it, for example "scale deployment inventory-service to 0". Nothing was planned.',
    },
    {
      question: 'who deleted deployment checkout-web?',
      plan: {
        verb: 'delete',
        resource: 'deployments',
        name: 'checkout-web',
        namespace: 'shop',
      },
      builtin:
        'I understood that the question names a change (delete deployment checkout-web), but "deleted" tells of a change made, not one to make: it does not ask for a change. To have it planned, ask for it, for example "delete deployment checkout-web". Nothing was planned.',
    },
    {
      question: 'should I delete deployment checkout-web in shop?',
      plan: {
        verb: 'delete',
        resource: 'deployments',
        name: 'checkout-web',
        namespace: 'shop',
      },
      builtin:
        'I understood that the question names a change (delete deployment checkout-web in shop), but "should" before "delete" asks about it: it does not ask for a change. To have it planned, ask for it, for example "delete deployment checkout-web in shop". Nothing was planned.',
    },
    {
      question: 'scale deployment inventory-service in shop to 3 if needed',
      plan: {
        verb: 'scale',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
        replicas: 3,
      },
      builtin:
        'I understood that you want to scale deployment inventory-service to 3 in shop, but only "if needed": the plan has no field for a condition, and the assistant does not judge whether one holds, so it would make the change either way. Check the condition yourself, then ask for the change without it, for example "scale deployment inventory-service to 3 in shop". Nothing was planned.',
    },
    {
      // A change verb misspelled is not guessed: a model's drain of "drian" ran on confirm.
      question: 'drian node-1',
      plan: { verb: 'drain', resource: 'nodes', name: 'node-1' },
      builtin:
        'I understood that "drian" looks like a misspelling of the change verb "drain", but the assistant does not guess changes: it plans one only when its verb is spelled out, and plans nothing in its place. Ask again with "drain" spelled out, for example "drain node node-1". Nothing was planned.',
    },
    {
      question: 'pod web-1 in shop is stuck, please delte it',
      plan: {
        verb: 'delete',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
      },
      builtin:
        'I understood that "delte" looks like a misspelling of the change verb "delete", but the assistant does not guess changes: it plans one only when its verb is spelled out, and plans nothing in its place. Ask again with "delete" spelled out, for example "delete pod web-1 in shop". Nothing was planned.',
    },
  ])(
    'refuses a model plan of the change in "$question" with the builtin parser\'s words',
    async ({ question, plan, builtin }) => {
      // Asked of the builtin parser (the model declines): refused, in these words.
      modelPlans(null);
      const byBuiltin = await ask(question);
      expect([byBuiltin.status, byBuiltin.body.error?.message]).toEqual([
        400,
        builtin,
      ]);

      // Planned by the model: refused in the same words, for good, with nothing kept to confirm.
      audit.length = 0;
      modelPlans(plan);
      const byModel = await ask(question);
      expect([byModel.status, byModel.body.error?.message]).toEqual([
        400,
        builtin,
      ]);
      expect(byModel.body.messageId).toBeUndefined();
      expect(byModel.body.requirements).toBeUndefined();
      const event = audit.find(a => a.options.eventId === 'question')!;
      expect(event.fail.mock.calls[0][0].meta).toMatchObject({
        outcome: 'refused',
        reason: builtin,
        stage: 'provider',
        attempts: [
          expect.objectContaining({
            provider: 'openai',
            outcome: 'refused',
            error: builtin,
          }),
        ],
      });
    },
  );

  /** The refusal of a model's change for a question that does not ask for it in words. */
  const notAskedFor = (asked: string, change: string, example = true) =>
    `I understood that the question ${asked}, but the plan made for it would ${change}: the assistant makes a change only when the question asks for that change in words (delete, scale, rollout restart and undo, label, annotate, cordon, uncordon, drain, exec, patch), and plans nothing in its place.${
      example ? ` To have it planned, ask for it, for example "${change}".` : ''
    } Nothing was planned.`;

  it.each([
    {
      question: 'who evicted pod web-1?',
      plan: {
        verb: 'delete',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
      },
      message: notAskedFor(
        'does not ask for a change',
        'delete pod web-1 in shop',
      ),
    },
    {
      question: 'tidy up shop please',
      plan: {
        verb: 'delete',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
      },
      message: notAskedFor(
        'does not ask for a change',
        'delete deployment inventory-service in shop',
      ),
    },
    {
      question: 'make room on node-1 for the database',
      plan: { verb: 'drain', resource: 'nodes', name: 'node-1' },
      message: notAskedFor('does not ask for a change', 'drain node node-1'),
    },
    {
      // Another change than the one asked for.
      question: 'scale deployment inventory-service in shop to 2',
      plan: {
        verb: 'delete',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
      },
      message: notAskedFor(
        'asks to change how many replicas run',
        'delete deployment inventory-service in shop',
      ),
    },
    {
      // No rule asks for an apply: never taken from a model.
      question: 'make the deployments in shop match the repository',
      plan: { verb: 'apply', resource: 'deployments', namespace: 'shop' },
      message: notAskedFor(
        'does not ask for a change',
        'apply deployments in shop',
        false,
      ),
    },
  ])(
    'refuses a model\'s change for "$question", which does not ask for it',
    async ({ question, plan, message }) => {
      modelPlans(plan);
      const res = await ask(question);
      expect([res.status, res.body.error?.message]).toEqual([400, message]);
      expect(res.body.messageId).toBeUndefined();
      const event = audit.find(a => a.options.eventId === 'question')!;
      expect(event.fail.mock.calls[0][0].meta).toMatchObject({
        outcome: 'refused',
        reason: message,
        stage: 'provider',
        attempts: [
          expect.objectContaining({
            provider: 'openai',
            outcome: 'refused',
            error: message,
          }),
        ],
      });
    },
  );

  it("refuses a model's change of other objects than the question names, and takes one of those", async () => {
    // Was taken, the kind of change being the one asked for: one confirmation deleted every pod of
    // shop but those asked for.
    const question = 'delete pods with app=checkout-web in shop';
    modelPlans({
      verb: 'delete',
      resource: 'pods',
      namespace: 'shop',
      labelSelector: 'app!=checkout-web',
    });
    const hostile = await ask(question);
    const message =
      'I understood that the question asks to delete pods with app=checkout-web in shop, but the plan made for it would delete pods with app!=checkout-web in shop: its label selector is app!=checkout-web, where the question says app=checkout-web. The assistant changes only what the question names, and plans nothing in its place. To have it planned as asked, ask again, for example "delete pods with app=checkout-web in shop". Nothing was planned.';
    expect([hostile.status, hostile.body.error?.message]).toEqual([
      400,
      message,
    ]);
    expect(hostile.body.messageId).toBeUndefined();
    const event = audit.find(a => a.options.eventId === 'question')!;
    expect(event.fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'refused',
      reason: message,
      stage: 'provider',
    });

    modelPlans({
      verb: 'delete',
      resource: 'pods',
      namespace: 'shop',
      labelSelector: 'app==checkout-web',
    });
    const asAsked = await ask(question);
    expect([
      asAsked.status,
      asAsked.body.provider,
      asAsked.body.command,
    ]).toEqual([
      200,
      'openai',
      'kubectl delete pods --context sim -n shop -l app==checkout-web',
    ]);
  });

  it.each([
    {
      // The builtin parser plans a restart of one pod as its deletion.
      question: 'restart pod web-1 in shop',
      plan: {
        verb: 'delete',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
      },
      command: 'kubectl delete pod/web-1 --context sim -n shop',
    },
    {
      question: 'please roll back deployment inventory-service in shop',
      plan: {
        verb: 'rollout',
        rolloutAction: 'undo',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
      },
      command:
        'kubectl rollout undo deployment/inventory-service --context sim -n shop',
    },
    {
      question: 'who evicted pod web-1?',
      plan: { verb: 'get', resource: 'events', namespace: 'shop' },
      command: 'kubectl get events --context sim -n shop',
    },
  ])(
    'takes a model plan for "$question" that makes no change or the one asked for',
    async ({ question, plan, command }) => {
      modelPlans(plan);
      const res = await ask(question);
      expect([res.status, res.body.provider, res.body.command]).toEqual([
        200,
        'openai',
        command,
      ]);
    },
  );

  it('takes a model plan of a change asked for, and a read for a question about a change', async () => {
    modelPlans({
      verb: 'scale',
      resource: 'deployments',
      name: 'inventory-service',
      namespace: 'shop',
      replicas: 2,
    });
    const change = await ask('scale deployment inventory-service to 2 in shop');
    expect(change.status).toBe(200);
    expect(change.body).toMatchObject({
      provider: 'openai',
      command:
        'kubectl scale deployment/inventory-service --replicas=2 --context sim -n shop',
      safety: { level: 'warning' },
    });

    // A model may answer a question about a change with a read of it.
    modelPlans({
      verb: 'rollout',
      rolloutAction: 'history',
      resource: 'deployments',
      name: 'inventory-service',
      namespace: 'shop',
    });
    const read = await ask('was deployment inventory-service scaled to 0?');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      provider: 'openai',
      command:
        'kubectl rollout history deployment/inventory-service --context sim -n shop',
      safety: { level: 'safe' },
    });
  });
});
