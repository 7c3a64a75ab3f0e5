import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { ActionsService } from '@backstage/backend-plugin-api/alpha';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { assistantPlugin } from './plugin';
import { actionsProbe, simCluster } from './__testUtils__/backend';

jest.setTimeout(60_000);

const MOCK = 'user:default/mock';
const MALLORY = 'user:default/mallory';

function component(
  name: string,
  owner: string,
  namespace: string,
  id = name,
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: {
        'backstage.io/kubernetes-id': id,
        'backstage.io/kubernetes-namespace': namespace,
      },
    },
    spec: { type: 'service', owner, lifecycle: 'production' },
  };
}

/**
 * Without kube-assistant.cluster-wide an entity's namespace is the assistant's scope only when the
 * platform assigned it to the entity's owner: the Namespace's `kubechart.io/owner` annotation, or
 * `kubeAssistant.namespaceOwners`. The entity's own annotation is written by whoever registers it.
 */
describe('kube-assistant: namespaces assigned to the entity owner', () => {
  let sim: KubeSim;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let actions: ActionsService;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  const groupsOf: Record<string, string[]> = {
    [MOCK]: ['group:default/team-shop'],
    [MALLORY]: ['group:default/team-mallory'],
  };

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      podReadyDelayMs: 50,
      objects: [
        // A tenant namespace KubeChart created for team-shop (written as `Group:default/Team-Shop`
        // to show that refs are compared normalised).
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: 'storefront',
            annotations: { 'kubechart.io/owner': 'Group:default/Team-Shop' },
          },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {
            name: 'storefront-web',
            namespace: 'storefront',
            labels: { 'backstage.io/kubernetes-id': 'storefront-web' },
          },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'storefront-web' } },
            template: {
              metadata: {
                labels: {
                  app: 'storefront-web',
                  'backstage.io/kubernetes-id': 'storefront-web',
                },
              },
              spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
            },
          },
        },
      ],
    });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    const probe = actionsProbe(received => {
      actions = received;
    });
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        probe,
        actionsRegistryServiceFactory,
        actionsServiceFactory,
        mockServices.rootConfig.factory({
          data: {
            backend: { actions: { pluginSources: ['kube-assistant'] } },
            kubernetes: simCluster(sim),
            kubeAssistant: {
              allowDangerous: true,
              providers: [{ id: 'builtin' }],
              // Assigned by hand: `shop` is team-shop's (short refs mean a group of `default`).
              namespaceOwners: { sim: { shop: 'team-shop' } },
            },
          },
        }),
        mockServices.permissions.mock({
          authorize: jest.fn(async requests =>
            requests.map((r: any) => ({
              result: [
                'kube-assistant.cluster-wide',
                'kube-assistant.execute.dangerous',
              ].includes(r.permission.name)
                ? AuthorizeResult.DENY
                : AuthorizeResult.ALLOW,
            })),
          ) as any,
        }).factory,
        mockServices.userInfo.mock({
          getUserInfo: jest.fn(async (credentials: any) => {
            const user = credentials.principal.userEntityRef;
            return {
              userEntityRef: user,
              ownershipEntityRefs: [user, ...(groupsOf[user] ?? [])],
            };
          }),
        }).factory,
        catalogServiceMock.factory({
          entities: [
            component('checkout', 'team-shop', 'shop', 'checkout-web'),
            component(
              'storefront',
              'team-shop',
              'storefront',
              'storefront-web',
            ),
            component('atlantis', 'team-shop', 'atlantis'),
            // Mallory's own entities, naming other teams' namespaces.
            component('sneaky', 'team-mallory', 'shop', 'inventory-service'),
            component('sneaky-tenant', 'team-mallory', 'storefront'),
            component(
              'sneaky-system',
              'team-mallory',
              'kube-system',
              'coredns',
            ),
          ],
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await sim?.stop();
  });

  afterEach(() => sim.faults.clear());

  const ask = (body: object, user = MOCK) =>
    request(backend.server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header(user))
      .send(body);
  const execute = (asked: request.Response, user = MOCK) =>
    request(backend.server)
      .post('/api/kube-assistant/execute')
      .set('Authorization', mockCredentials.user.header(user))
      .send({
        messageId: asked.body.messageId,
        confirm: true,
        confirmationToken: asked.body.requirements?.confirmationToken,
      });
  const replicas = async (namespace: string, name: string) =>
    (await apps.readNamespacedDeployment({ namespace, name })).spec?.replicas;
  const setNamespaceOwner = (name: string, owner: string | null) =>
    core.patchNamespace(
      {
        name,
        body: { metadata: { annotations: { 'kubechart.io/owner': owner } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  const notAssigned = (namespace: string, owner: string, entity: string) =>
    `Namespace ${namespace} on cluster sim is not assigned to ${owner}, the owner of ${entity}: without the kube-assistant.cluster-wide permission the assistant works only in a namespace the platform assigned to the entity's owner. A platform team assigns it by annotating the Namespace object with kubechart.io/owner: ${owner} (KubeChart does so for the namespaces it creates) or under kubeAssistant.namespaceOwners.sim.`;

  it("refuses Mallory's entity that names another team's namespace, and changes nothing", async () => {
    const before = await replicas('shop', 'inventory-service');
    const scale = await ask(
      {
        question: 'scale inventory-service in shop to 4',
        entityRef: 'component:default/sneaky',
      },
      MALLORY,
    );
    // Before the fix: 200, and /execute scaled shop/inventory-service to 4.
    if (scale.status === 200) await execute(scale, MALLORY);
    expect(scale.status).toBe(403);
    expect(scale.body.error.message).toBe(
      notAssigned(
        'shop',
        'group:default/team-mallory',
        'component:default/sneaky',
      ),
    );
    expect(await replicas('shop', 'inventory-service')).toBe(before);

    const read = await ask(
      { question: 'list pods', entityRef: 'component:default/sneaky' },
      MALLORY,
    );
    expect(read.status).toBe(403);

    // A tenant namespace KubeChart assigned to team-shop, and kube-system.
    const tenant = await ask(
      {
        question: 'restart deployment storefront-web',
        entityRef: 'component:default/sneaky-tenant',
      },
      MALLORY,
    );
    expect(tenant.status).toBe(403);
    expect(tenant.body.error.message).toBe(
      notAssigned(
        'storefront',
        'group:default/team-mallory',
        'component:default/sneaky-tenant',
      ),
    );
    const system = await ask(
      {
        question: 'scale coredns in kube-system to 0',
        entityRef: 'component:default/sneaky-system',
      },
      MALLORY,
    );
    if (system.status === 200) await execute(system, MALLORY);
    expect(system.status).toBe(403);
    expect(await replicas('kube-system', 'coredns')).toBeGreaterThan(0);

    // The same through the MCP tool, which plans through the same path.
    const planned = await actions
      .invoke({
        id: 'kube-assistant:plan-question',
        input: {
          question: 'scale inventory-service in shop to 4',
          entityRef: 'component:default/sneaky',
        },
        credentials: mockCredentials.user(MALLORY),
      })
      .catch(e => e);
    expect(planned.statusCode).toBe(403);
    expect(planned.body.error.message).toBe(
      notAssigned(
        'shop',
        'group:default/team-mallory',
        'component:default/sneaky',
      ),
    );
  });

  it("works for the owner's entity, assigned in config or by the Namespace annotation", async () => {
    // kubeAssistant.namespaceOwners
    const scale = await ask({
      question: 'scale inventory-service in shop to 3',
      entityRef: 'component:default/checkout',
    });
    expect(scale.status).toBe(200);
    expect(scale.body.plan).toMatchObject({
      namespace: 'shop',
      cluster: 'sim',
    });
    expect((await execute(scale)).status).toBe(200);
    expect(await replicas('shop', 'inventory-service')).toBe(3);

    // kubechart.io/owner on the Namespace
    const pods = await ask({
      question: 'list pods',
      entityRef: 'component:default/storefront',
    });
    expect(pods.status).toBe(200);
    expect(pods.body.plan.namespace).toBe('storefront');
    const listed = await execute(pods);
    expect(listed.status).toBe(200);
    expect(
      listed.body.result.rows.map((r: string[]) => r[0]).join(' '),
    ).toMatch(/storefront-web-/);
    const more = await ask({
      question: 'scale storefront-web to 2',
      entityRef: 'component:default/storefront',
    });
    expect(more.status).toBe(200);
    expect((await execute(more)).status).toBe(200);
    expect(await replicas('storefront', 'storefront-web')).toBe(2);
  });

  it('checks the assignment again when a plan runs', async () => {
    const asked = await ask({
      question: 'scale storefront-web to 5',
      entityRef: 'component:default/storefront',
    });
    expect(asked.status).toBe(200);
    const before = await replicas('storefront', 'storefront-web');
    await setNamespaceOwner('storefront', 'group:default/team-other');
    try {
      const ran = await execute(asked);
      expect(ran.status).toBe(403);
      expect(ran.body.error.message).toBe(
        notAssigned(
          'storefront',
          'group:default/team-shop',
          'component:default/storefront',
        ),
      );
      expect(await replicas('storefront', 'storefront-web')).toBe(before);
    } finally {
      await setNamespaceOwner('storefront', 'group:default/team-shop');
    }
  });

  it('fails closed when the Namespace cannot be read or does not exist', async () => {
    sim.faults.failVerb({ verb: 'get', resource: 'namespaces', status: 503 });
    const unreadable = await ask({
      question: 'list pods',
      entityRef: 'component:default/storefront',
    });
    expect(unreadable.status).toBe(403);
    expect(unreadable.body.error.message).toMatch(
      /^The assistant could not read Namespace storefront on cluster sim to check that it is assigned to group:default\/team-shop, the owner of component:default\/storefront \(.+\), so it does not work there: without the kube-assistant.cluster-wide permission/,
    );
    // A namespace assigned in config is decided by the config alone.
    const configured = await ask({
      question: 'list pods',
      entityRef: 'component:default/checkout',
    });
    expect(configured.status).toBe(200);
    sim.faults.clear();

    const missing = await ask({
      question: 'list pods',
      entityRef: 'component:default/atlantis',
    });
    // In the same words as one that exists: whether it does is not told.
    expect(missing.status).toBe(403);
    expect(missing.body.error.message).toBe(
      notAssigned(
        'atlantis',
        'group:default/team-shop',
        'component:default/atlantis',
      ),
    );
  });
});
