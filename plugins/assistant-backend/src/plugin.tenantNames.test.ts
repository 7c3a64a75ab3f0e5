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
import {
  AuditCall,
  actionsProbe,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';

jest.setTimeout(60_000);

const MALLORY = 'user:default/mallory';
/** In group payments too, with Kubernetes RBAC in tenant-payments only (when impersonated). */
const PAT = 'user:default/pat';
/** Has kube-assistant.cluster-wide. */
const ADMIN = 'user:default/admin';
const PAYMENTS = 'group:default/payments';

function component(name: string, namespace: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: {
        'backstage.io/kubernetes-id': name,
        'backstage.io/kubernetes-namespace': namespace,
      },
    },
    spec: { type: 'service', owner: PAYMENTS, lifecycle: 'production' },
  };
}

function deployment(name: string, namespace: string, labels: object) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
      },
    },
  };
}

/** Reads of every kind, bound to a Kubernetes user cluster-wide (no namespace) or in one namespace. */
function reader(user: string, namespace?: string) {
  const rules = [
    {
      apiGroups: ['', 'apps', 'batch'],
      resources: ['*'],
      verbs: ['get', 'list', 'watch'],
    },
  ];
  const roleRef = {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: namespace ? 'Role' : 'ClusterRole',
    name: `${user}-reads`,
  };
  const subjects = [
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user },
  ];
  return namespace
    ? [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: `${user}-reads`, namespace },
          rules,
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: `${user}-reads`, namespace },
          roleRef,
          subjects,
        },
      ]
    : [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: `${user}-reads` },
          rules,
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: `${user}-reads` },
          roleRef,
          subjects,
        },
      ];
}

/**
 * Without kube-assistant.cluster-wide a caller works in their entity's namespace: the names the
 * builtin parser is told (workloads and their selectors, namespaces, nodes) are only those of that
 * namespace, so nothing another tenant has changes the answer, and a name in another tenant's
 * namespace is answered as one that does not exist.
 */
describe.each([
  ['the backend identity', false],
  ['impersonation', true],
])("kube-assistant: other tenants' names (%s)", (_, impersonation) => {
  let sim: KubeSim;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let actions: ActionsService;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      objects: [
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'tenant-payments' },
        },
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'tenant-billing' },
        },
        deployment('pay-api', 'tenant-payments', { app: 'pay-api' }),
        deployment('billing-api', 'tenant-billing', {
          app: 'billing-api',
          'customer-tier': 'acme-corp-gold',
        }),
        // Impersonated, Mallory may read the whole cluster (RBAC alone would show her everything),
        // Pat only tenant-payments.
        ...reader('mallory'),
        ...reader('pat', 'tenant-payments'),
        ...reader('admin'),
      ] as any,
    });
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
              // What is asserted here is which names are read, not how fast: the first look-up in a
              // scope lists the cluster, which on a loaded machine takes longer than the default
              // budgets (400 ms for the names, 1 s for the builtin provider), and a question past
              // them is planned without any name, as if none existed.
              providers: [{ id: 'builtin', timeoutMs: 45_000 }],
              nameLookupTimeoutMs: 30_000,
              namespaceOwners: { sim: { 'tenant-payments': PAYMENTS } },
              impersonation,
            },
          },
        }),
        recordingAuditor(audit),
        // Everything but kube-assistant.cluster-wide, which only the admin has.
        mockServices.permissions.mock({
          authorize: jest.fn(async (requests: any[], options: any) =>
            requests.map(r => ({
              result:
                r.permission.name !== 'kube-assistant.cluster-wide' ||
                options?.credentials?.principal?.userEntityRef === ADMIN
                  ? AuthorizeResult.ALLOW
                  : AuthorizeResult.DENY,
            })),
          ) as any,
        }).factory,
        mockServices.userInfo.mock({
          getUserInfo: jest.fn(async (credentials: any) => ({
            userEntityRef: credentials.principal.userEntityRef,
            ownershipEntityRefs: [
              credentials.principal.userEntityRef,
              PAYMENTS,
            ],
          })),
        }).factory,
        catalogServiceMock.factory({
          entities: [
            component('pay-web', 'tenant-payments'),
            // Owned by payments, annotated with another tenant's namespace or none that exists.
            component('pay-billing', 'tenant-billing'),
            component('pay-nowhere', 'nosuch-ns'),
          ],
        }),
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

  const ask = (
    question: string,
    user = MALLORY,
    entityRef = 'component:default/pay-web',
  ) =>
    request(backend.server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header(user))
      .send({ question, entityRef });
  /** What the caller is told, with `name` written as NAME. */
  const reply = (asked: request.Response, name: string) => ({
    status: asked.status,
    said: JSON.stringify(
      asked.status === 200
        ? { plan: asked.body.plan, command: asked.body.command }
        : asked.body.error?.message,
    ).replaceAll(name, 'NAME'),
  });

  it('answers a name of another tenant as one that does not exist, and shows none of its labels', async () => {
    for (const [question, there, nowhere] of [
      [
        'get pods of deployment NAME in namespace tenant-billing',
        'billing-api',
        'no-such-thing',
      ],
      [
        'delete pods of deployment NAME in namespace tenant-billing',
        'billing-api',
        'no-such-thing',
      ],
      // A deployment of that name elsewhere, or none.
      ['list pods in NAME', 'billing-api', 'nosuch-api'],
      ['get pods of deployment NAME', 'billing-api', 'no-such-thing'],
      // A node, or none.
      ['list pods in NAME', 'kube-sim-node-1', 'kube-sim-node-9'],
      ['what is running on NAME', 'kube-sim-node-1', 'kube-sim-node-9'],
      ['get pods on node NAME', 'kube-sim-node-1', 'kube-sim-node-9'],
    ]) {
      const existing = await ask(question.replace('NAME', there));
      const missing = await ask(question.replace('NAME', nowhere));
      // Before the fix: "… this plan reaches pods matching app=billing-api,customer-tier=acme-corp-gold
      // in namespace tenant-billing …" against "… did not find deployment no-such-thing …"; a plan
      // on node kube-sim-node-1 against a 403 for kube-sim-node-9.
      expect(reply(existing, there)).toEqual(reply(missing, nowhere));
    }
    // Nothing of tenant-billing's labels reached the caller or the trail.
    const trail = JSON.stringify(
      audit.map(a => [
        a.options.meta,
        a.fail.mock.calls.map(([{ error, meta }]) => [error.message, meta]),
        a.success.mock.calls.map(([{ meta }]) => meta),
      ]),
    );
    expect(trail).not.toContain('acme-corp-gold');
    expect(trail).toContain('billing-api');

    // The MCP tool plans through the same path.
    const planned = await actions
      .invoke({
        id: 'kube-assistant:plan-question',
        input: {
          question:
            'get pods of deployment billing-api in namespace tenant-billing',
          entityRef: 'component:default/pay-web',
        },
        credentials: mockCredentials.user(MALLORY),
      })
      .catch(e => e);
    const asked = await ask(
      'get pods of deployment billing-api in namespace tenant-billing',
    );
    expect(planned.body?.error?.message).toBe(asked.body.error.message);
    expect(asked.body.error.message).not.toContain('acme-corp-gold');
  });

  it("still reads the names of the caller's own namespace", async () => {
    // Impersonated, Pat may list only in tenant-payments: the names are read there.
    for (const user of [MALLORY, PAT]) {
      const pods = await ask('get pods of deployment pay-api', user);
      expect(pods.status).toBe(200);
      expect(pods.body.plan).toMatchObject({
        resource: 'pods',
        namespace: 'tenant-payments',
        labelSelector: 'app=pay-api',
      });
      const inNamespace = await ask('list pods in tenant-payments', user);
      expect(inNamespace.status).toBe(200);
      expect(inNamespace.body.plan.namespace).toBe('tenant-payments');
    }
  });

  it('reads the whole cluster for a caller with kube-assistant.cluster-wide', async () => {
    const pods = await ask(
      'get pods of deployment billing-api in namespace tenant-billing',
      ADMIN,
    );
    expect(pods.status).toBe(200);
    expect(pods.body.plan).toMatchObject({
      namespace: 'tenant-billing',
      labelSelector: 'app=billing-api,customer-tier=acme-corp-gold',
    });
    const node = await ask('list pods in kube-sim-node-1', ADMIN);
    expect(node.status).toBe(200);
    expect(node.body.plan.fieldSelector).toBe('spec.nodeName=kube-sim-node-1');
  });

  it('refuses an entity naming a namespace not assigned to its owner the same way whether or not it exists', async () => {
    const existing = await ask(
      'list pods',
      MALLORY,
      'component:default/pay-billing',
    );
    const missing = await ask(
      'list pods',
      MALLORY,
      'component:default/pay-nowhere',
    );
    expect(existing.status).toBe(403);
    // Before the fix: "Namespace nosuch-ns does not exist on cluster sim, so it is not assigned …".
    expect(
      reply(missing, 'nosuch-ns').said.replaceAll('pay-nowhere', 'ENTITY'),
    ).toBe(
      reply(existing, 'tenant-billing').said.replaceAll(
        'pay-billing',
        'ENTITY',
      ),
    );
    expect(missing.body.error.message).toMatch(
      /^Namespace nosuch-ns on cluster sim is not assigned to group:default\/payments, the owner of component:default\/pay-nowhere:/,
    );
  });
});
