import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { KubeObject, parseManifests } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const TENANT = 'kubechart.io/tenant';

/** A Deployment the enforced policy accepts (pinned image from the trusted registry, hardened). */
const deployment = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true },
        containers: [
          {
            name,
            image: 'registry.example.com/team/web:1.0.0',
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
            resources: {
              requests: { cpu: '10m', memory: '16Mi' },
              limits: { cpu: '100m', memory: '64Mi' },
            },
          },
        ],
      },
    },
  },
});

// The tenant's catalog entity selects kubechart.io/tenant=<code>: besides its releases' objects,
// what the tenant resources step and manifests runs apply in its namespace must carry that label.
describe('the tenant label on everything applied for a tenant', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim?.stop());

  it('labels the objects of the tenant resources step and of manifests runs, and their pods', async () => {
    const provided = deployment('sidecar');
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      tenantResources: [
        {
          name: 'platform-extras',
          resources: () => [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'platform-settings' },
              data: { region: 'eu' },
            } as KubeObject,
            provided as KubeObject,
          ],
        },
      ],
    });
    const finish = async (request: any) => {
      const started = await engine.submit(request, 'user:default/alice');
      await engine.waitFor(started.id);
      return (await store.getRun(started.id))!;
    };
    const tenant = await finish({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'lbl',
      releases: [],
    });
    expect({ status: tenant.status, reason: tenant.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    // The provider's own objects are not changed by the engine.
    expect(provided.metadata.labels).toEqual({});

    // A label naming another tenant is replaced: the engine decides the tenant.
    const manifests = [
      deployment('hello', { [TENANT]: 'rival' }),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'hello-settings' },
        data: { greeting: 'hi' },
      },
    ]
      .map(o => JSON.stringify(o))
      .join('\n---\n');
    const applied = await finish({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-lbl',
      manifests,
    });
    expect({ status: applied.status, reason: applied.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    // The run's manifest is what was applied: namespaced and labelled.
    for (const o of parseManifests(applied.manifest!)) {
      expect(o.metadata?.labels?.[TENANT]).toBe('lbl');
      expect(o.metadata?.namespace).toBe('tenant-lbl');
    }

    const config = clusters.kubeConfig('dev');
    const core = config.makeApiClient(CoreV1Api);
    const apps = config.makeApiClient(AppsV1Api);
    const namespace = 'tenant-lbl';
    const selector = `${TENANT}=lbl`;
    const names = (items: { metadata?: { name?: string } }[]) =>
      items.map(i => i.metadata?.name).sort();
    expect(
      names(
        (
          await core.listNamespacedConfigMap({
            namespace,
            labelSelector: selector,
          })
        ).items,
      ),
    ).toEqual(['hello-settings', 'platform-settings']);
    expect(
      names(
        (
          await apps.listNamespacedDeployment({
            namespace,
            labelSelector: selector,
          })
        ).items,
      ),
    ).toEqual(['hello', 'sidecar']);
    // Their pods carry the label too: the entity's Kubernetes tab finds them.
    let pods: string[] = [];
    for (let i = 0; i < 50; i++) {
      pods = (
        await core.listNamespacedPod({ namespace, labelSelector: selector })
      ).items.map(p => String(p.metadata?.labels?.app));
      if (pods.includes('hello') && pods.includes('sidecar')) break;
      await new Promise(r => setTimeout(r, 200));
    }
    expect(new Set(pods)).toEqual(new Set(['hello', 'sidecar']));
  });
});
