import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { Plan } from '@kubechart/plugin-assistant-common';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import request from 'supertest';
import { startFakeModelServer } from './__testUtils__/fakeModelServer';
import { assistantPlugin } from './plugin';
import { simCluster } from './__testUtils__/backend';

jest.setTimeout(120_000);

const REFUSAL =
  'Deleting or changing a CustomResourceDefinition changes the objects of its kind in every namespace: KubeChart protects namespaces on cluster sim with approvals (rule production), so the assistant does not change customresourcedefinitions here';

/**
 * A platform operator (cluster-wide, execute.dangerous, allowDangerous) where KubeChart protects
 * namespace `payments` with approvals: a cluster-scoped object whose change reaches into every
 * namespace (a CRD's deletion takes every object of its kind, in payments too) is refused as a
 * change whose namespace is not known is.
 */
describe('kube-assistant: cluster-scoped changes where KubeChart protects namespaces', () => {
  let sim: KubeSim;
  let models: Awaited<ReturnType<typeof startFakeModelServer>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let admin: KubernetesObjectApi;

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      objects: [
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'widgets.example.com' },
          spec: {
            group: 'example.com',
            names: {
              plural: 'widgets',
              singular: 'widget',
              kind: 'Widget',
              listKind: 'WidgetList',
            },
            scope: 'Namespaced',
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: {
                  openAPIV3Schema: {
                    type: 'object',
                    'x-kubernetes-preserve-unknown-fields': true,
                  },
                },
              },
            ],
          },
        },
      ] as any,
    });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    admin = KubernetesObjectApi.makeApiClient(kc);
    models = await startFakeModelServer();
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: simCluster(sim),
            kubechart: {
              approvals: {
                rules: [{ name: 'production', namespaces: ['payments'] }],
              },
            },
            kubeAssistant: {
              allowDangerous: true,
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

  it('does not delete a CRD (and with it every Widget in payments), however confirmed', async () => {
    const plan: Plan = {
      verb: 'delete',
      resource: 'customresourcedefinitions',
      name: 'widgets.example.com',
    };
    models.behaviours.openai = {
      kind: 'answer',
      content: { plan, explanation: 'As asked.' },
    };
    const asked = await post('ask', {
      question: 'delete customresourcedefinition widgets.example.com',
    });
    expect(asked.status).toBe(200);
    expect(asked.body.safety.level).toBe('dangerous');
    // The answer says so before anyone confirms it.
    expect(asked.body.requirements.blockedReason).toBe(REFUSAL);
    const ran = await post('execute', {
      messageId: asked.body.messageId,
      confirm: true,
      confirmationToken: asked.body.requirements.confirmationToken,
      typedConfirmation: asked.body.requirements.typedConfirmation,
    });
    expect(ran.status).toBe(403);
    expect(ran.body.error.message).toBe(REFUSAL);
    await expect(
      admin.read({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.com' },
      }),
    ).resolves.toBeTruthy();
  });
});
