import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import request from 'supertest';
import { startFakeModelServer } from './__testUtils__/fakeModelServer';
import { planHash } from './execution/planHash';
import { assistantPlugin } from './plugin';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';

jest.setTimeout(60_000);

/** Values that must never leave the backend. */
const DB_PASSWORD = 'Pa55-db-value-1';
const URL_PASSWORD = 'Pa55-url-value-2';
const API_TOKEN = 'Pa55-env-value-3';
const APPLIED_VALUE = 'Pa55-applied-value-4';
const SECRETS = [DB_PASSWORD, URL_PASSWORD, API_TOKEN, APPLIED_VALUE];
/** Values the model writes into a Secret patch, under keys that do not look secret. */
const SECRET_DATA = 'Pa55-string-data-7';
const SECRET_DSN = 'postgres://app:Pa55-dsn-8@db/x';

describe('kube-assistant: secret values in objects that are not Secrets', () => {
  let sim: KubeSim;
  let models: Awaited<ReturnType<typeof startFakeModelServer>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'billing-settings', namespace: 'shop' },
      data: {
        DB_PASSWORD,
        url: `postgres://u:${URL_PASSWORD}@db/x`,
        LOG_LEVEL: 'debug',
      },
    };
    await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({
      namespace: 'shop',
      body: {
        ...configMap,
        metadata: {
          ...configMap.metadata,
          annotations: {
            'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
              ...configMap,
              data: { ...configMap.data, note: APPLIED_VALUE },
            }),
          },
        },
      },
    });
    const labels = { app: 'billing-api' };
    const template = {
      metadata: { labels },
      spec: {
        containers: [
          {
            name: 'api',
            image: 'busybox:1.36',
            env: [
              { name: 'API_TOKEN', value: API_TOKEN },
              { name: 'LOG_LEVEL', value: 'debug' },
            ],
          },
        ],
      },
    };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'shop',
      body: {
        metadata: {
          name: 'billing-api',
          labels,
          annotations: {
            'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'billing-api', namespace: 'shop' },
              spec: {
                template: {
                  ...template,
                  spec: {
                    containers: [
                      {
                        ...template.spec.containers[0],
                        env: [{ name: 'SIGNING', value: APPLIED_VALUE }],
                      },
                    ],
                  },
                },
              },
            }),
          },
        },
        spec: { replicas: 1, selector: { matchLabels: labels }, template },
      },
    });
    models = await startFakeModelServer();
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: simCluster(sim, 'skip'),
            // The model writes the plan (`-o yaml` and the like), as a real one would.
            kubeAssistant: {
              allowDangerous: true,
              providers: [
                {
                  id: 'openai',
                  baseUrl: models.url,
                  model: 'gpt-4o-mini',
                  apiKey: 'sk-test',
                  timeoutMs: 5000,
                },
              ],
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

  const post = (path: string, body: object) =>
    request(backend.server)
      .post(`/api/kube-assistant/${path}`)
      .set('Authorization', mockCredentials.user.header())
      .send(body);

  /**
   * Asks (the model answers `plan`), checks the plan is a safe read, runs it, and checks that no
   * secret value is in anything the user or the audit trail got; returns the text shown.
   */
  async function run(question: string, plan: Record<string, unknown>) {
    audit.length = 0;
    models.behaviours.openai = {
      kind: 'answer',
      content: { plan, explanation: 'A read.', safety: 'safe' },
    };
    const asked = await post('ask', { question });
    expect(asked.status).toBe(200);
    expect(asked.body.plan).toMatchObject(plan);
    expect(asked.body.safety.level).toBe('safe');
    const res = await post('execute', { messageId: asked.body.messageId });
    expect(res.status).toBe(200);
    expect(res.body.result.type).toBe('text');
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header());
    expect(conversation.status).toBe(200);
    expect(audit.map(a => a.options.eventId)).toEqual([
      'question',
      'execution',
    ]);
    const trail = audit.map(a => ({
      meta: a.options.meta,
      success: a.success.mock.calls.map(([options]) => options?.meta),
      fail: a.fail.mock.calls.map(([options]) => options.meta),
    }));
    const everything = JSON.stringify([
      asked.body,
      res.body,
      conversation.body,
      trail,
    ]);
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    return res.body.result.text as string;
  }

  it('hides secret-looking ConfigMap keys, URL credentials and the last-applied copy in get -o yaml', async () => {
    const text = await run('get configmap billing-settings -o yaml in shop', {
      verb: 'get',
      resource: 'configmaps',
      name: 'billing-settings',
      namespace: 'shop',
      output: 'yaml',
    });
    expect(text).toContain("DB_PASSWORD: '***'");
    expect(text).toContain('url: postgres://u:***@db/x');
    expect(text).toMatch(
      /kubectl\.kubernetes\.io\/last-applied-configuration: <\d+ bytes, hidden>/,
    );
    expect(text).toContain('LOG_LEVEL: debug');
    expect(text).toContain('name: billing-settings');
  });

  it('hides the same in describe configmap', async () => {
    const text = await run('describe configmap billing-settings in shop', {
      verb: 'describe',
      resource: 'configmaps',
      name: 'billing-settings',
      namespace: 'shop',
    });
    expect(text).toContain("DB_PASSWORD: '***'");
    expect(text).toContain('url: postgres://u:***@db/x');
    expect(text).toMatch(/last-applied-configuration: <\d+ bytes, hidden>/);
    expect(text).toContain('LOG_LEVEL: debug');
  });

  it('hides secret-looking env values and the last-applied copy in get deployment -o json', async () => {
    const text = await run('get deployment billing-api -o json in shop', {
      verb: 'get',
      resource: 'deployments',
      name: 'billing-api',
      namespace: 'shop',
      output: 'json',
    });
    // As JSON, as the command shown (`-o json`) says.
    const shown = JSON.parse(text);
    const [container] = shown.spec.template.spec.containers;
    expect(container.env).toEqual([
      { name: 'API_TOKEN', value: '***' },
      { name: 'LOG_LEVEL', value: 'debug' },
    ]);
    expect(
      shown.metadata.annotations[
        'kubectl.kubernetes.io/last-applied-configuration'
      ],
    ).toMatch(/^<\d+ bytes, hidden>$/);
    expect(container.image).toBe('busybox:1.36');
  });

  it('hides the same in describe deployment', async () => {
    const text = await run('describe deployment billing-api in shop', {
      verb: 'describe',
      resource: 'deployments',
      name: 'billing-api',
      namespace: 'shop',
    });
    expect(text).toMatch(/name: API_TOKEN\s+value: '\*\*\*'/);
    expect(text).toMatch(/name: LOG_LEVEL\s+value: debug/);
    expect(text).toMatch(/last-applied-configuration: <\d+ bytes, hidden>/);
    expect(text).toContain('Events:');
  });

  // Last: it changes billing-api.
  it('keeps a secret value the model wrote into a plan out of the audit trail, the answer and the conversation, and still sends it', async () => {
    const PATCHED = 'Pa55-patched-value-5';
    const ANNOTATED = 'Pa55-annotated-value-6';
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const apps = kc.makeApiClient(AppsV1Api);
    const cases = [
      {
        plan: {
          verb: 'patch',
          resource: 'deployments',
          name: 'billing-api',
          namespace: 'shop',
          patch: JSON.stringify({
            spec: {
              template: {
                spec: {
                  containers: [
                    {
                      name: 'api',
                      image: 'busybox:1.36',
                      env: [
                        { name: 'API_TOKEN', value: PATCHED },
                        { name: 'LOG_LEVEL', value: 'info' },
                      ],
                    },
                  ],
                },
              },
            },
          }),
        },
        value: PATCHED,
        marker: '{\\"name\\":\\"API_TOKEN\\",\\"value\\":\\"***\\"}',
      },
      {
        plan: {
          verb: 'annotate',
          resource: 'deployments',
          name: 'billing-api',
          namespace: 'shop',
          annotations: { 'example.com/api-token': ANNOTATED },
        },
        value: ANNOTATED,
        marker: 'example.com/api-token=***',
      },
      {
        // A Secret's data is secret whatever its keys are called.
        plan: {
          verb: 'patch',
          resource: 'secrets',
          name: 'billing-db',
          namespace: 'shop',
          patch: JSON.stringify({
            stringData: { DB_PASS: SECRET_DATA },
            data: { dsn: Buffer.from(SECRET_DSN).toString('base64') },
          }),
        },
        value: SECRET_DATA,
        marker:
          '{\\"stringData\\":{\\"DB_PASS\\":\\"***\\"},\\"data\\":{\\"dsn\\":\\"***\\"}}',
      },
    ];
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: 'shop',
      body: { metadata: { name: 'billing-db' }, stringData: { DB_PASS: 'x' } },
    });
    for (const { plan, value, marker } of cases) {
      audit.length = 0;
      models.behaviours.openai = {
        kind: 'answer',
        content: {
          plan,
          // The model says what it sets, in words no key=value rule recognizes.
          explanation: `Sets it to ${value} on billing-api.`,
          safety: 'safe',
        },
      };
      const asked = await post('ask', {
        question: `change billing-api in shop (${plan.verb} ${plan.resource})`,
      });
      expect(asked.status).toBe(200);
      const { patch: _p, annotations: _a, ...rest } = plan as any;
      expect(asked.body.plan).toMatchObject(rest);
      expect(asked.body.explanation).toBe('Sets it to *** on billing-api.');
      const res = await post('execute', {
        messageId: asked.body.messageId,
        confirm: true,
        typedConfirmation: plan.name,
        confirmationToken: asked.body.requirements.confirmationToken,
      });
      expect([res.status, res.body.error?.message]).toEqual([200, undefined]);
      const trail = JSON.stringify(
        audit.map(a => [
          a.options.meta,
          a.success.mock.calls.map(([o]) => o?.meta),
          a.fail.mock.calls.map(([o]) => o?.meta),
        ]),
      );
      expect(audit.map(a => a.options.eventId)).toEqual([
        'question',
        'execution',
      ]);
      expect(trail).not.toContain(value);
      expect(trail).toContain(marker);
      expect(trail).toContain('billing-api');
      // Nor in what the browser got, then or when it reads the conversation again.
      const conversation = await request(backend.server)
        .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
        .set('Authorization', mockCredentials.user.header());
      expect(conversation.status).toBe(200);
      const browser = JSON.stringify([asked.body, res.body, conversation.body]);
      expect(browser).not.toContain(value);
      expect(browser).not.toContain(SECRET_DSN);
      expect(browser).not.toContain(Buffer.from(SECRET_DSN).toString('base64'));
      expect(browser).toContain('***');
    }
    // What ran is the real plan: the cluster got the values.
    const deployment = await apps.readNamespacedDeployment({
      name: 'billing-api',
      namespace: 'shop',
    });
    expect(deployment.spec?.template?.spec?.containers?.[0]?.env).toEqual(
      expect.arrayContaining([{ name: 'API_TOKEN', value: PATCHED }]),
    );
    expect(deployment.metadata?.annotations?.['example.com/api-token']).toBe(
      ANNOTATED,
    );
    const secret = await core.readNamespacedSecret({
      name: 'billing-db',
      namespace: 'shop',
    });
    expect(Buffer.from(secret.data!.DB_PASS, 'base64').toString()).toBe(
      SECRET_DATA,
    );
    expect(Buffer.from(secret.data!.dsn, 'base64').toString()).toBe(SECRET_DSN);
  });

  it('records and shows a plan hash that does not confirm a guessed secret value', async () => {
    // A short value: whoever reads the trail or the answer could try every candidate against an
    // unsalted hash of the plan, since all of the plan but the value is shown.
    const SHORT = 'k9x2';
    const plan = {
      verb: 'annotate',
      resource: 'deployments',
      name: 'billing-api',
      namespace: 'shop',
      annotations: { 'example.com/api-token': SHORT },
    };
    const ask = async () => {
      audit.length = 0;
      models.behaviours.openai = {
        kind: 'answer',
        content: { plan, explanation: 'Annotates it.', safety: 'safe' },
      };
      const asked = await post('ask', {
        question: 'annotate billing-api in shop',
      });
      expect(asked.status).toBe(200);
      return asked;
    };
    const first = await ask();
    const recorded = audit[0].success.mock.calls[0][0].meta.planHash;
    expect(recorded).toBe(first.body.planHash);
    expect(first.body.plan.annotations).toEqual({
      'example.com/api-token': '***',
    });
    // The guess, put back into the plan as shown, hashed as the plan is: not the recorded hash.
    const guessed = JSON.parse(
      JSON.stringify(first.body.plan).replace('***', SHORT),
    );
    expect(guessed.annotations).toEqual(plan.annotations);
    expect(first.body.planHash).not.toBe(planHash(guessed));
    // Nor is the salt given out when the conversation is read again.
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${first.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header());
    expect(conversation.status).toBe(200);
    expect(JSON.stringify(conversation.body)).not.toMatch(/salt/i);
    // The same plan asked again has another hash.
    const second = await ask();
    expect(second.body.planHash).not.toBe(first.body.planHash);
    // The hash still binds the confirmation: it runs.
    const res = await post('execute', {
      messageId: first.body.messageId,
      confirm: true,
      typedConfirmation: 'billing-api',
      confirmationToken: first.body.requirements.confirmationToken,
    });
    expect([res.status, res.body.error?.message]).toEqual([200, undefined]);
    expect(audit.at(-1)!.options.meta?.planHash).toBe(first.body.planHash);
  });

  it('keeps the arguments of an exec plan out of everything shown and recorded', async () => {
    const EXEC_VALUE = 'Pa55-exec-value-9';
    audit.length = 0;
    models.behaviours.openai = {
      kind: 'answer',
      content: {
        plan: {
          verb: 'exec',
          resource: 'pods',
          name: 'billing-api-0',
          namespace: 'shop',
          command: ['env', `DB_PASSWORD=${EXEC_VALUE}`, 'psql'],
        },
        explanation: 'Runs psql.',
        safety: 'safe',
      },
    };
    const asked = await post('ask', { question: 'exec psql in billing-api' });
    expect(asked.status).toBe(200);
    expect(asked.body.plan.command).toEqual(['env', 'DB_PASSWORD=***', 'psql']);
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header());
    const everything = JSON.stringify([
      asked.body,
      conversation.body,
      audit.map(a => [
        a.options.meta,
        a.success.mock.calls.map(([o]) => o?.meta),
        a.fail.mock.calls.map(([o]) => o?.meta),
      ]),
    ]);
    expect(everything).not.toContain(EXEC_VALUE);
    expect(everything).toContain('DB_PASSWORD=***');
  });

  /** Everything the browser and the audit trail got about a question, and its runs. */
  async function seen(asked: request.Response, ran?: request.Response) {
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header());
    expect(conversation.status).toBe(200);
    return JSON.stringify([
      asked.body,
      ran?.body,
      conversation.body,
      audit.map(a => [
        a.options.meta,
        a.success.mock.calls.map(([o]) => o?.meta),
        a.fail.mock.calls.map(([o]) => o?.meta),
      ]),
    ]);
  }

  it('shows a field named like a Secret reference in a ConfigMap as hidden, in the answer, its explanation and the trail', async () => {
    // Shaped as an object's name, but a value: only a pod spec's references name Secrets.
    const VALUE = 'Pa55-ref-shaped-10';
    audit.length = 0;
    models.behaviours.openai = {
      kind: 'answer',
      content: {
        plan: {
          verb: 'patch',
          resource: 'configmaps',
          name: 'billing-settings',
          namespace: 'shop',
          patch: JSON.stringify({ data: { secretName: VALUE } }),
        },
        explanation: `Sets secretName to ${VALUE}.`,
        safety: 'safe',
      },
    };
    const asked = await post('ask', {
      question: 'patch secretName in billing-settings',
    });
    expect(asked.status).toBe(200);
    expect(asked.body.plan.patch).toBe('{"data":{"secretName":"***"}}');
    expect(asked.body.explanation).toBe('Sets secretName to ***.');
    const ran = await post('execute', {
      messageId: asked.body.messageId,
      confirm: true,
      typedConfirmation: 'billing-settings',
      confirmationToken: asked.body.requirements.confirmationToken,
    });
    expect([ran.status, ran.body.error?.message]).toEqual([200, undefined]);
    expect(await seen(asked, ran)).not.toContain(VALUE);
    // What ran is the real plan.
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const configMap = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: 'billing-settings', namespace: 'shop' });
    expect(configMap.data?.secretName).toBe(VALUE);
  });

  it('refuses a patch that sets a key twice when it is planned, showing and recording it as it would be sent', async () => {
    const VALUE = 'Pa55-first-of-two-11';
    const patch =
      `{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"DB_PASSWORD","value":"${VALUE}"}]}]}}},` +
      '"spec":{"template":{"spec":{"volumes":[{"name":"t","secret":{"secretName":"billing-db"}}]}}}}';
    audit.length = 0;
    models.behaviours.openai = {
      kind: 'answer',
      content: {
        plan: {
          verb: 'patch',
          resource: 'deployments',
          name: 'billing-api',
          namespace: 'shop',
          patch,
        },
        explanation: `Sets DB_PASSWORD to ${VALUE} and mounts billing-db.`,
        safety: 'safe',
      },
    };
    const asked = await post('ask', {
      question: 'patch billing-api to mount billing-db',
    });
    expect(asked.status).toBe(400);
    expect(asked.body.error.message).toBe(
      'This plan cannot run as shown: the patch sets "spec" twice (at the top level): JSON keeps only the last, so what would be sent is not what the patch shows. Write each key once.',
    );
    const everything = JSON.stringify([
      asked.body,
      audit.map(a => [
        a.options.meta,
        a.success.mock.calls.map(([o]) => o?.meta),
        a.fail.mock.calls.map(([o]) => o?.meta),
      ]),
    ]);
    expect(everything).not.toContain(VALUE);
    // The trail records the plan as it would have been sent: the Secret it names shown.
    const [question] = audit;
    expect(question.fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'refused',
      stage: 'plan',
      plan: {
        patch:
          '{"spec":{"template":{"spec":{"volumes":[{"name":"t","secret":{"secretName":"billing-db"}}]}}}}',
      },
    });
  });
});
