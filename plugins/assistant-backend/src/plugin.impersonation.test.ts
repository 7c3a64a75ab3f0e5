import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import request from 'supertest';
import { recordingProxy } from './__testUtils__/recordingProxy';
import { assistantPlugin } from './plugin';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';

jest.setTimeout(60_000);

/** A RoleBinding of `pod-reader` in `namespace` to the Kubernetes user `user`. */
const podReader = (namespace: string, user: string, binding: string) => [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'pod-reader', namespace },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: binding, namespace },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'pod-reader',
    },
    subjects: [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user },
    ],
  },
];

describe('kube-assistant impersonating the signed-in user', () => {
  let sim: KubeSim;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      objects: [
        // Existing bindings name the bare user name of user:default/alice.
        ...podReader('shop', 'alice', 'alice-reads-pods'),
        // A namespace given a prefix in config gets its own Kubernetes users.
        ...podReader('payments', 'team-b/bob', 'team-b-bob-reads-pods'),
      ],
    });
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: simCluster(sim),
            kubeAssistant: {
              providers: [{ id: 'builtin' }],
              impersonation: true,
              impersonationUserPrefixes: { 'team-b': 'team-b/' },
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
    await sim?.stop();
  });

  beforeEach(() => {
    audit.length = 0;
  });

  const post = (user: string, path: string, body: object) =>
    request(backend.server)
      .post(`/api/kube-assistant/${path}`)
      .set('Authorization', mockCredentials.user.header(user))
      .send(body);
  const askAndRun = async (user: string, question: string) => {
    const asked = await post(user, 'ask', { question });
    if (asked.status !== 200) return asked;
    return post(user, 'execute', { messageId: asked.body.messageId });
  };

  it("acts as user:default/alice under her bare name, as the cluster's bindings expect", async () => {
    const run = await askAndRun('user:default/alice', 'list pods in shop');
    expect(run.status).toBe(200);
    expect(run.body.result.rows.length).toBeGreaterThan(0);
    audit.length = 0;
    const asked = await post('user:default/alice', 'ask', {
      question: 'list pods in payments',
    });
    expect(asked.status).toBe(200);
    const elsewhere = await post('user:default/alice', 'execute', {
      messageId: asked.body.messageId,
    });
    // The cluster's RBAC refused alice: a 403, recorded as a refusal (was a 500, recorded failed).
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.name).toBe('NotAllowedError');
    expect(elsewhere.body.error.message).toMatch(
      /^The cluster refused: .*forbidden/i,
    );
    const [refused] = audit.filter(a => a.options.eventId === 'execution');
    expect(refused.success).not.toHaveBeenCalled();
    expect(refused.fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'refused',
      stage: 'cluster',
      reason: elsewhere.body.error.message,
    });
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header('user:default/alice'));
    expect(
      conversation.body.messages.find(
        (m: { id: string }) => m.id === asked.body.messageId,
      ).executions,
    ).toEqual([
      expect.objectContaining({
        status: 'refused',
        summary: elsewhere.body.error.message,
      }),
    ]);
  });

  it('does not tell a user who may not read namespaces whether one exists: the question is planned, and the cluster answers the run', async () => {
    // alice may read pods in shop only: the assistant cannot tell whether "nowhere" exists (the
    // cluster answers her 403 either way), so it does not say it is missing.
    const asked = await post('user:default/alice', 'ask', {
      question: 'list pods in nowhere',
    });
    expect([asked.status, asked.body.command]).toEqual([
      200,
      'kubectl get pods --context sim -n nowhere',
    ]);
    const ran = await post('user:default/alice', 'execute', {
      messageId: asked.body.messageId,
    });
    expect(ran.status).toBe(403);
  });

  it('refuses a user of another catalog namespace rather than act as the default user of the same name', async () => {
    const asked = await post('user:team-a/alice', 'ask', {
      question: 'list pods in shop',
    });
    expect(asked.status).toBe(403);
    expect(asked.body.error.message).toBe(
      'With kubeAssistant.impersonation the assistant acts on the cluster as the signed-in user, and user:team-a/alice is not in the catalog namespace default: as Kubernetes user "alice" it would act as user:default/alice. Nothing was run; an administrator can give namespace team-a a prefix in kubeAssistant.impersonationUserPrefixes.',
    );
    const [event] = audit.filter(a => a.options.eventId === 'question');
    expect(event.options.meta?.user).toBe('user:team-a/alice');
    expect(event.fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'refused',
      stage: 'impersonation',
    });
    expect(event.success).not.toHaveBeenCalled();
  });

  it('acts as <prefix><name> for a catalog namespace given a prefix', async () => {
    const own = await askAndRun('user:team-b/bob', 'list pods in payments');
    expect(own.status).toBe(200);
    expect(own.body.result.rows.length).toBeGreaterThan(0);
    // Not as alice, nor as any other bob.
    const shop = await askAndRun('user:team-b/bob', 'list pods in shop');
    expect(shop.status).toBe(403);
    expect(shop.body.error.message).toMatch(/forbidden/i);
    const defaultBob = await askAndRun(
      'user:default/bob',
      'list pods in payments',
    );
    expect(defaultBob.status).toBe(403);
    expect(defaultBob.body.error.message).toMatch(/forbidden/i);
  });
});

/** A Role in `namespace` over deployments with `verbs`, bound to the Kubernetes user `user`. */
const deploymentRole = (namespace: string, user: string, verbs: string[]) => [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: `${user}-deployments`, namespace },
    rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${user}-deployments`, namespace },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: `${user}-deployments`,
    },
    subjects: [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user },
    ],
  },
];

describe('kube-assistant impersonating: a change the cluster refuses the user', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let apps: AppsV1Api;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      objects: [
        // carol may read deployments in shop, not change them; dave may change them too.
        ...deploymentRole('shop', 'carol', ['get', 'list']),
        ...deploymentRole('shop', 'dave', ['get', 'list', 'patch']),
      ] as any,
    });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    apps = kc.makeApiClient(AppsV1Api);
    proxy = await recordingProxy(sim.url);
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: {
              clusterLocatorMethods: [
                {
                  type: 'config',
                  clusters: [
                    {
                      name: 'sim',
                      url: proxy.url,
                      serviceAccountToken: sim.token,
                      // The proxy speaks plain HTTP; test only.
                      skipTLSVerify: true,
                    },
                  ],
                },
              ],
            },
            kubeAssistant: {
              providers: [{ id: 'builtin' }],
              impersonation: true,
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
    await proxy?.close();
    await sim?.stop();
  });

  const post = (user: string, path: string, body: object) =>
    request(backend.server)
      .post(`/api/kube-assistant/${path}`)
      .set('Authorization', mockCredentials.user.header(user))
      .send(body);
  const askAndRun = async (user: string, question: string) => {
    const asked = await post(user, 'ask', { question });
    expect(asked.status).toBe(200);
    audit.length = 0;
    const ran = await post(user, 'execute', {
      messageId: asked.body.messageId,
      confirm: true,
      confirmationToken: asked.body.requirements.confirmationToken,
    });
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header(user));
    const [event] = audit.filter(a => a.options.eventId === 'execution');
    return {
      ran,
      event,
      records: conversation.body.messages.find(
        (m: { id: string }) => m.id === asked.body.messageId,
      ).executions,
    };
  };

  it('answers 403 and records a refusal when nothing was changed', async () => {
    const before = (
      await apps.readNamespacedDeployment({
        namespace: 'shop',
        name: 'inventory-service',
      })
    ).spec?.replicas;
    const { ran, event, records } = await askAndRun(
      'user:default/carol',
      'scale deployment inventory-service in shop to 4',
    );
    expect(ran.status).toBe(403);
    expect(ran.body.error.message).toMatch(
      /^The cluster refused: .*forbidden/i,
    );
    expect(event.fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'refused',
      stage: 'cluster',
      reason: ran.body.error.message,
    });
    expect(records).toEqual([
      expect.objectContaining({
        status: 'refused',
        summary: ran.body.error.message,
      }),
    ]);
    expect(
      (
        await apps.readNamespacedDeployment({
          namespace: 'shop',
          name: 'inventory-service',
        })
      ).spec?.replicas,
    ).toBe(before);
  });

  it('answers 403 and records the change as failed part-way when some objects were changed', async () => {
    // The cluster takes dave's first restart and refuses the second.
    proxy.sent.length = 0;
    proxy.refuse = sent =>
      sent.method === 'PATCH' &&
      proxy.sent.filter(s => s.method === 'PATCH').length === 2
        ? 403
        : undefined;
    try {
      const { ran, event, records } = await askAndRun(
        'user:default/dave',
        'restart the deployments in shop',
      );
      expect(ran.status).toBe(403);
      expect(ran.body.error.message).toMatch(
        /^The cluster refused: .* Stopped at deployment\/\S+ in shop \(2 of 2\); restarted before it: deployment\/\S+ in shop; not attempted: 0\.$/,
      );
      expect(event.fail.mock.calls[0][0].meta).toMatchObject({
        outcome: 'failed',
        changedCount: 1,
      });
      expect(records).toEqual([
        expect.objectContaining({
          status: 'failed',
          summary: ran.body.error.message,
        }),
      ]);
    } finally {
      proxy.refuse = undefined;
    }
  });
});
