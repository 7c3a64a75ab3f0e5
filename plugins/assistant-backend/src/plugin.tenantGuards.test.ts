import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Plan } from '@kubechart/plugin-assistant-common';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { startFakeModelServer } from './__testUtils__/fakeModelServer';
import { assistantPlugin } from './plugin';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';

jest.setTimeout(60_000);

const TENANT = { 'kubechart.io/tenant': 'shop' };
const GUARDRAIL = { 'kubechart.io/tenant-resource': 'true' };

/** A workload's pods made to run as the deployer, with the deployer's token mounted. */
const RUN_AS_DEPLOYER: Plan = {
  verb: 'patch',
  resource: 'deployments',
  name: 'inventory-service',
  namespace: 'shop',
  patch:
    '{"spec":{"template":{"spec":{"serviceAccountName":"shop-deployer","volumes":[{"name":"t","secret":{"secretName":"shop-deployer-token"}}]}}}}',
};

/**
 * Without impersonation (the default) a change runs as the backend's own identity, which may do
 * what the namespace's deployer may not: KubeChart's guardrails of a tenant are never changed by
 * the assistant, whoever asks.
 */
describe('kube-assistant: tenant guardrails of KubeChart', () => {
  let sim: KubeSim;
  let models: Awaited<ReturnType<typeof startFakeModelServer>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let admin: KubernetesObjectApi;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      objects: [
        {
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: {
            name: 'kubechart-quota',
            namespace: 'shop',
            labels: TENANT,
            annotations: GUARDRAIL,
          },
          spec: { hard: { pods: '10' } },
        },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: {
            name: 'kubechart-default-deny',
            namespace: 'shop',
            labels: TENANT,
            annotations: GUARDRAIL,
          },
          spec: { podSelector: {}, policyTypes: ['Ingress'] },
        },
        {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: {
            name: 'shop-deployer',
            namespace: 'shop',
            labels: TENANT,
          },
        },
        // A long-lived token of the deployer.
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: 'shop-deployer-token',
            namespace: 'shop',
            annotations: {
              'kubernetes.io/service-account.name': 'shop-deployer',
            },
          },
          type: 'kubernetes.io/service-account-token',
          data: { token: 'ZGVwbG95ZXI=' },
        },
      ] as any,
    });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
    admin = KubernetesObjectApi.makeApiClient(kc);
    models = await startFakeModelServer();
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: simCluster(sim),
            // KubeChart, installed in the same Backstage, names its deployer differently.
            kubechart: {
              tenant: { deployer: { serviceAccount: 'shop-deployer' } },
            },
            kubeAssistant: {
              // Even with dangerous commands on and the permission to run them.
              allowDangerous: true,
              namespaceOwners: { sim: { shop: 'group:default/team-shop' } },
              providers: [
                {
                  id: 'openai',
                  baseUrl: models.url,
                  model: 'gpt-4o-mini',
                  apiKey: 'sk-secret',
                  timeoutMs: 2000,
                },
              ],
            },
          },
        }),
        recordingAuditor(audit),
        // Everything but kube-assistant.cluster-wide: an entity owner working in their namespace.
        mockServices.permissions.mock({
          authorize: jest.fn(async requests =>
            requests.map((r: any) => ({
              result:
                r.permission.name === 'kube-assistant.cluster-wide'
                  ? AuthorizeResult.DENY
                  : AuthorizeResult.ALLOW,
            })),
          ) as any,
        }).factory,
        mockServices.userInfo.mock({
          getUserInfo: jest.fn(async (credentials: any) => ({
            userEntityRef: credentials.principal.userEntityRef,
            ownershipEntityRefs: [
              credentials.principal.userEntityRef,
              'group:default/team-shop',
            ],
          })),
        }).factory,
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: {
                name: 'checkout',
                namespace: 'default',
                annotations: {
                  'backstage.io/kubernetes-id': 'checkout-web',
                  'backstage.io/kubernetes-namespace': 'shop',
                },
              },
              spec: {
                type: 'service',
                owner: 'team-shop',
                lifecycle: 'production',
              },
            },
          ],
        }),
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

  const post = (path: string, body: object) =>
    request(backend.server)
      .post(`/api/kube-assistant/${path}`)
      .set('Authorization', mockCredentials.user.header())
      .send(body);

  /** Asks with the model answering `plan`, then confirms it as shown. */
  async function askAndRun(plan: Plan) {
    models.behaviours.openai = {
      kind: 'answer',
      content: { plan, explanation: 'As asked.' },
    };
    const asked = await post('ask', {
      // The question asks for the change the model plans (one it does not ask for is refused).
      question: `${plan.verb} ${plan.resource} ${plan.name} in shop`,
      entityRef: 'component:default/checkout',
    });
    expect(asked.status).toBe(200);
    audit.length = 0;
    const ran = await post('execute', {
      messageId: asked.body.messageId,
      confirm: true,
      confirmationToken: asked.body.requirements.confirmationToken,
      typedConfirmation: asked.body.requirements.typedConfirmation,
    });
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header());
    return {
      asked,
      ran,
      event: audit.find(a => a.options.eventId === 'execution')!,
      records: conversation.body.messages.at(-1).executions,
    };
  }

  const read = (apiVersion: string, kind: string, name: string) =>
    admin.read({
      apiVersion,
      kind,
      metadata: { name, namespace: 'shop' },
    }) as Promise<any>;

  it.each<[string, Plan, string]>([
    [
      'raising the tenant quota',
      {
        verb: 'patch',
        resource: 'resourcequotas',
        name: 'kubechart-quota',
        namespace: 'shop',
        patch: '{"spec":{"hard":{"pods":"9999"}}}',
      },
      'The assistant does not change ResourceQuota kubechart-quota in shop: it is a tenant guardrail KubeChart keeps (annotated kubechart.io/tenant-resource), which only a KubeChart tenant run changes. Nothing was changed.',
    ],
    [
      'moving the quota to another tenant',
      {
        verb: 'label',
        resource: 'resourcequotas',
        name: 'kubechart-quota',
        namespace: 'shop',
        labels: { 'kubechart.io/tenant': 'other' },
      },
      'The assistant does not change ResourceQuota kubechart-quota in shop: it is a tenant guardrail KubeChart keeps (annotated kubechart.io/tenant-resource), which only a KubeChart tenant run changes. Nothing was changed.',
    ],
    [
      'a label of the team on the quota (a warning, needing only kube-assistant.execute)',
      {
        verb: 'label',
        resource: 'resourcequotas',
        name: 'kubechart-quota',
        namespace: 'shop',
        labels: { owner: 'team-shop' },
      },
      'The assistant does not change ResourceQuota kubechart-quota in shop: it is a tenant guardrail KubeChart keeps (annotated kubechart.io/tenant-resource), which only a KubeChart tenant run changes. Nothing was changed.',
    ],
    [
      'deleting the default-deny network policy',
      {
        verb: 'delete',
        resource: 'networkpolicies',
        name: 'kubechart-default-deny',
        namespace: 'shop',
      },
      'The assistant does not change NetworkPolicy kubechart-default-deny in shop: it is a tenant guardrail KubeChart keeps (annotated kubechart.io/tenant-resource), which only a KubeChart tenant run changes. Nothing was changed.',
    ],
    [
      'deleting the deployer KubeChart is configured with',
      {
        verb: 'delete',
        resource: 'serviceaccounts',
        name: 'shop-deployer',
        namespace: 'shop',
      },
      'The assistant does not change ServiceAccount shop-deployer in shop: it is the ServiceAccount KubeChart deploys with in this namespace (kubechart.tenant.deployer.serviceAccount), which only KubeChart writes. Nothing was changed.',
    ],
    [
      'deleting a token Secret of the deployer',
      {
        verb: 'delete',
        resource: 'secrets',
        name: 'shop-deployer-token',
        namespace: 'shop',
      },
      "The assistant does not change Secret shop-deployer-token in shop: it is a token of KubeChart's deployer (type kubernetes.io/service-account-token for ServiceAccount shop-deployer), which carries the deployer's rights and which only KubeChart writes. Nothing was changed.",
    ],
    [
      "running a workload as the deployer, with the deployer's token mounted",
      RUN_AS_DEPLOYER,
      'The assistant does not change Deployment inventory-service in shop: after this change, it runs its pods as ServiceAccount shop-deployer, the identity KubeChart deploys with in this namespace, which only KubeChart holds. Nothing was changed.',
    ],
    [
      "mounting the deployer's token in a workload",
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
        patch:
          '{"spec":{"template":{"spec":{"containers":[{"name":"inventory-service","image":"ghcr.io/kubechart-demo/inventory-service:2.3.0","envFrom":[{"secretRef":{"name":"shop-deployer-token"}}]}]}}}}',
      },
      "The assistant does not change Deployment inventory-service in shop: after this change, its pods hold Secret shop-deployer-token (through an envFrom secretRef), a token of KubeChart's deployer (type kubernetes.io/service-account-token for ServiceAccount shop-deployer), which carries the deployer's rights. Nothing was changed.",
    ],
  ])(
    'refuses %s: says why, audited as refused, nothing changed',
    async (_, plan, reason) => {
      const { ran, event, records } = await askAndRun(plan);
      expect(ran.status).toBe(403);
      expect(ran.body.error.message).toBe(reason);
      expect(event.success).not.toHaveBeenCalled();
      expect(event.fail).toHaveBeenCalledTimes(1);
      expect(event.fail.mock.calls[0][0].meta).toEqual({
        outcome: 'refused',
        reason,
        guarded: [
          {
            kind: expect.any(String),
            name: plan.name,
            namespace: 'shop',
            reason: expect.any(String),
          },
        ],
      });
      expect(records).toEqual([
        expect.objectContaining({ status: 'refused', summary: reason }),
      ]);
    },
  );

  it('shows and records which Secret a patch mounts', async () => {
    const { asked, event } = await askAndRun(RUN_AS_DEPLOYER);
    // The names a patch holds are names, not secret values: the confirmation and the trail show
    // them as the cluster would get them.
    expect(asked.body.command).toContain(
      '"secret":{"secretName":"shop-deployer-token"}',
    );
    expect(asked.body.plan.patch).toBe(RUN_AS_DEPLOYER.patch);
    expect(event.options.meta).toEqual(
      expect.objectContaining({
        plan: expect.objectContaining({ patch: RUN_AS_DEPLOYER.patch }),
        command: asked.body.command,
      }),
    );
  });

  it('left the guardrails as they were', async () => {
    const quota = await read('v1', 'ResourceQuota', 'kubechart-quota');
    expect(quota.spec.hard.pods).toBe('10');
    expect(quota.metadata.labels['kubechart.io/tenant']).toBe('shop');
    await expect(
      read('networking.k8s.io/v1', 'NetworkPolicy', 'kubechart-default-deny'),
    ).resolves.toBeTruthy();
    await expect(
      read('v1', 'ServiceAccount', 'shop-deployer'),
    ).resolves.toBeTruthy();
    await expect(
      read('v1', 'Secret', 'shop-deployer-token'),
    ).resolves.toBeTruthy();
    const inventory = await read('apps/v1', 'Deployment', 'inventory-service');
    expect(inventory.spec.template.spec.serviceAccountName).not.toBe(
      'shop-deployer',
    );
    expect(inventory.spec.template.spec.volumes ?? []).toEqual([]);
    expect(inventory.spec.template.spec.containers[0].envFrom).toBeUndefined();
  });

  it("still runs a change of the team's own objects", async () => {
    const { ran, event } = await askAndRun({
      verb: 'label',
      resource: 'deployments',
      name: 'checkout-web',
      namespace: 'shop',
      labels: { tier: 'web' },
    });
    expect(ran.status).toBe(200);
    expect(ran.body.result.text).toBe(
      'deployment/checkout-web in shop labeled',
    );
    expect(event.success).toHaveBeenCalledTimes(1);
    expect(
      (await read('apps/v1', 'Deployment', 'checkout-web')).metadata.labels
        .tier,
    ).toBe('web');
  });
});
