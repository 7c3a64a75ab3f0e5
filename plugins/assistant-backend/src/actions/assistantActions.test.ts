import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { ActionsService } from '@backstage/backend-plugin-api/alpha';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import request from 'supertest';
import { assistantPlugin } from '../plugin';
import {
  AuditCall,
  actionsProbe,
  recordingAuditor,
  simCluster,
} from '../__testUtils__/backend';

jest.setTimeout(60_000);

const JANE = 'user:default/jane';
const DENIED = 'user:default/denied';
/** Denied as DENIED is, with a refusal window of its own. */
const LOOPING = 'user:default/denied-looping';
/** Refusals of one caller the audit trail records one by one a minute in this suite. */
const RECORDED_PER_MINUTE = 3;

const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () =>
    ({
      async authorize(requests: any[], options: any) {
        const ref = options?.credentials.principal?.userEntityRef;
        return requests.map(() => ({
          result: ref?.startsWith(DENIED)
            ? AuthorizeResult.DENY
            : AuthorizeResult.ALLOW,
        }));
      },
      async authorizeConditional(requests: any[]) {
        return requests.map(() => ({ result: AuthorizeResult.ALLOW }));
      },
    } as any),
});

describe('kube-assistant actions (actions registry / MCP)', () => {
  const audit: AuditCall[] = [];
  let sim: KubeSim;
  let actions: ActionsService;
  let server: any;
  let stop: () => Promise<void>;
  const plan = (user: string, question: string) =>
    actions.invoke({
      id: 'kube-assistant:plan-question',
      input: { question },
      credentials: mockCredentials.user(user),
    });

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', tls: true, podReadyDelayMs: 50 });
    const probe = actionsProbe(received => {
      actions = received;
    });
    const backend = await startTestBackend({
      features: [
        assistantPlugin,
        probe,
        permissions,
        actionsRegistryServiceFactory,
        actionsServiceFactory,
        catalogServiceMock.factory({ entities: [] }),
        recordingAuditor(audit),
        mockServices.rootConfig.factory({
          data: {
            backend: { actions: { pluginSources: ['kube-assistant'] } },
            kubernetes: simCluster(sim),
            kubeAssistant: {
              allowDangerous: true,
              providers: [{ id: 'builtin' }],
              limits: { refusedQuestionsAuditedPerMinute: RECORDED_PER_MINUTE },
            },
          },
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('is listed as read only, and hidden from a user who may not ask', async () => {
    const listed = await actions.list({
      credentials: mockCredentials.user(JANE),
    });
    expect(listed.actions.filter(a => a.pluginId === 'kube-assistant')).toEqual(
      [
        expect.objectContaining({
          name: 'plan-question',
          attributes: { readOnly: true, destructive: false, idempotent: false },
        }),
      ],
    );
    const hidden = await actions.list({
      credentials: mockCredentials.user(DENIED),
    });
    expect(hidden.actions.filter(a => a.pluginId === 'kube-assistant')).toEqual(
      [],
    );
    await expect(plan(DENIED, 'list pods')).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('plans a question with its safety class and runs nothing, even a dangerous one', async () => {
    const safe = (await plan(JANE, 'list pods in namespace shop'))
      .output as any;
    expect(safe.command).toMatch(/^kubectl get pods( --context sim)? -n shop$/);
    expect(safe.safety.level).toBe('safe');

    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
    const apps = kc.makeApiClient(AppsV1Api);
    const before = (
      await apps.listNamespacedDeployment({ namespace: 'shop' })
    ).items
      .map(p => p.metadata?.name)
      .sort();
    const dangerous = (
      await plan(JANE, 'delete deployment checkout-web in shop')
    ).output as any;
    expect(dangerous.command).toMatch(
      /^kubectl delete deployment\/checkout-web /,
    );
    expect(dangerous.safety.level).toBe('dangerous');
    // No token to confirm with leaves the action, and nothing was deleted.
    expect(JSON.stringify(dangerous)).not.toMatch(/confirmationToken/);
    const after = (
      await apps.listNamespacedDeployment({ namespace: 'shop' })
    ).items
      .map(p => p.metadata?.name)
      .sort();
    expect(after).toEqual(before);
  });

  it('refuses input outside its schema, as the REST API does', async () => {
    for (const question of ['', '   ', '\n\t ', 'a'.repeat(2001)]) {
      const refused = await plan(JANE, question).catch(e => e);
      expect(refused.statusCode).toBe(400);
      expect(refused.body.error.message).toContain('Invalid input');
    }
    const badRef = await actions
      .invoke({
        id: 'kube-assistant:plan-question',
        input: { question: 'list pods', entityRef: 'x' },
        credentials: mockCredentials.user(JANE),
      })
      .catch(e => e);
    expect(badRef.statusCode).toBe(400);
    expect(badRef.body.error.message).toContain('Invalid input');
  });

  it('audits a question asked through the action as the user who asked it', async () => {
    audit.length = 0;
    const answer = await plan(JANE, '  list pods in namespace shop  ');
    expect((answer.output as any).command).toMatch(/^kubectl get pods/);
    const questions = audit.filter(a => a.options.eventId === 'question');
    expect(questions).toHaveLength(1);
    const [event] = questions;
    expect(event.options.meta).toMatchObject({
      user: JANE,
      question: 'list pods in namespace shop',
    });
    // What the KubeChart auditor takes the actor from when there is no HTTP request.
    expect(event.options.credentials).toMatchObject({
      principal: { type: 'user', userEntityRef: JANE },
    });
  });

  it('audits a question the actions registry refuses (no kube-assistant.query) as /ask audits it, and keeps the action hidden', async () => {
    audit.length = 0;
    const refused = await plan(
      DENIED,
      'list pods, my password is Hunter2Secret',
    ).catch(e => e);
    // The same answer as for an action that does not exist: the action stays invisible.
    expect(refused.statusCode).toBe(404);
    expect(refused.body.error.message).toBe(
      'Action "kube-assistant:plan-question" not found',
    );
    const questions = audit.filter(a => a.options.eventId === 'question');
    expect(questions).toHaveLength(1);
    const [event] = questions;
    // Recorded as /ask records it: the caller, the question screened for secret values, refused.
    expect(event.options.meta).toEqual({
      user: DENIED,
      question: 'list pods, my password is ***',
    });
    expect(event.options.credentials).toMatchObject({
      principal: { type: 'user', userEntityRef: DENIED },
    });
    expect(event.fail).toHaveBeenCalledTimes(1);
    expect(event.fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'refused',
      reason: 'You are not allowed to use the Kubernetes assistant',
      stage: 'permission',
    });
    expect(
      JSON.stringify(
        audit.map(a => [a.options.meta, a.fail.mock.calls.map(c => c[0].meta)]),
      ),
    ).not.toContain('Hunter2Secret');

    // An action that does not exist, or a caller who may ask: nothing recorded as refused.
    audit.length = 0;
    const unknown = await actions
      .invoke({
        id: 'kube-assistant:no-such-action',
        input: { question: 'list pods' },
        credentials: mockCredentials.user(DENIED),
      })
      .catch(e => e);
    expect(unknown.statusCode).toBe(404);
    expect(audit).toEqual([]);
  });

  it('records refusals through the action and /ask in one window per caller', async () => {
    audit.length = 0;
    const answers: number[] = [];
    for (let i = 0; i < 2; i++) {
      answers.push(
        (await plan(LOOPING, `list pods ${i}`).catch(e => e)).statusCode,
      );
    }
    const asked = await request(server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header(LOOPING))
      .send({ question: 'list pods 2' });
    answers.push(asked.status);
    for (let i = 3; i < 6; i++) {
      answers.push(
        (await plan(LOOPING, `list pods ${i}`).catch(e => e)).statusCode,
      );
    }
    expect(answers).toEqual([404, 404, 403, 404, 404, 404]);
    // Three recorded one by one (the window of kubeAssistant.limits.refusedQuestionsAuditedPerMinute),
    // the others only counted, whichever way they came.
    expect(
      audit
        .filter(a => a.options.eventId === 'question')
        .map(a => a.options.meta?.question),
    ).toEqual(['list pods 0', 'list pods 1', 'list pods 2']);
  });
});
