import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuditorServiceCreateEventOptions } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { assistantPlugin } from './plugin';

jest.setTimeout(60_000);

type AuditCall = {
  options: AuditorServiceCreateEventOptions;
  success: jest.Mock;
  fail: jest.Mock;
};

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
            kubernetes: {
              clusterLocatorMethods: [
                {
                  type: 'config',
                  clusters: [
                    {
                      name: 'sim',
                      url: sim.url,
                      serviceAccountToken: sim.token,
                      caData: sim.caData,
                    },
                  ],
                },
              ],
            },
            kubeAssistant: {
              providers: [{ id: 'builtin' }],
              impersonation: true,
              impersonationUserPrefixes: { 'team-b': 'team-b/' },
            },
          },
        }),
        mockServices.auditor.mock({
          createEvent: jest.fn(async options => {
            const call: AuditCall = {
              options,
              success: jest.fn(),
              fail: jest.fn(),
            };
            audit.push(call);
            return call;
          }),
        }).factory,
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
    const elsewhere = await askAndRun(
      'user:default/alice',
      'list pods in payments',
    );
    expect(elsewhere.status).toBe(500);
    expect(elsewhere.body.error.message).toMatch(
      /The cluster refused: .*forbidden/i,
    );
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
    expect(shop.status).toBe(500);
    expect(shop.body.error.message).toMatch(/forbidden/i);
    const defaultBob = await askAndRun(
      'user:default/bob',
      'list pods in payments',
    );
    expect(defaultBob.status).toBe(500);
    expect(defaultBob.body.error.message).toMatch(/forbidden/i);
  });
});
