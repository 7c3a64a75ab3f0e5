import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import {
  conformanceCluster,
  eventually,
  failure,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

type Container = { name: string; resources?: Record<string, unknown> };

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// There is no recording of quota admission; the answers are those of Kubernetes v1.26's ResourceQuota admission
// plugin (plugin/pkg/admission/resourcequota) with its evaluators (pkg/quota/v1/evaluator/core): Services are
// charged on create and update (a type change), pods on create, each container (init containers too) must
// state what a quota on cpu or memory counts.
describe('conformance: ResourceQuota admission', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  const namespaces: string[] = [];

  beforeAll(async () => {
    cluster = await conformanceCluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    for (const name of namespaces) {
      await core.deleteNamespace({ name }).catch(() => {});
    }
    await cluster.stop();
  });

  /** A fresh namespace with quota `q`, once the quota controller has counted its usage (admission needs it). */
  const withQuota = async (hard: Record<string, string>) => {
    const ns = uniqueName('conf-quota');
    namespaces.push(ns);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: { metadata: { name: 'q' }, spec: { hard } },
    });
    await eventually(async () => {
      const q = await core.readNamespacedResourceQuota({
        name: 'q',
        namespace: ns,
      });
      return Object.keys(hard).every(r => q.status?.used?.[r] !== undefined);
    });
    return ns;
  };

  const service = (name: string, ports = [80]) => ({
    metadata: { name },
    spec: {
      selector: { app: name },
      ports: ports.map(port => ({ name: `p${port}`, port })),
    },
  });

  const patchType = (ns: string, name: string, type: string) =>
    rawRequest(
      cluster.kc,
      'PATCH',
      `/api/v1/namespaces/${ns}/services/${name}`,
      {
        body: { spec: { type } },
        contentType: 'application/merge-patch+json',
      },
    );

  it('charges a Service turned into a LoadBalancer, and refuses it over the quota', async () => {
    const ns = await withQuota({ 'services.loadbalancers': '0' });
    await core.createNamespacedService({ namespace: ns, body: service('web') });
    const r = await patchType(ns, 'web', 'LoadBalancer');
    expect(r.status).toBe(403);
    expect(r.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'services "web" is forbidden: exceeded quota: q, requested: services.loadbalancers=1, used: services.loadbalancers=0, limited: services.loadbalancers=0',
      reason: 'Forbidden',
      details: { name: 'web', kind: 'services' },
      code: 403,
    });
    const after = await core.readNamespacedService({
      name: 'web',
      namespace: ns,
    });
    expect(after.spec?.type).toBe('ClusterIP');
  });

  it('charges only the increase of an update: node ports added by a type change', async () => {
    const ns = await withQuota({ 'services.nodeports': '1', services: '1' });
    await core.createNamespacedService({
      namespace: ns,
      body: service('web', [80, 443]),
    });
    // At the `services` limit, an update that adds no Service is not charged for one.
    const relabelled = await rawRequest(
      cluster.kc,
      'PATCH',
      `/api/v1/namespaces/${ns}/services/web`,
      {
        body: { metadata: { labels: { tier: 'front' } } },
        contentType: 'application/merge-patch+json',
      },
    );
    expect(relabelled.status).toBe(200);
    const r = await patchType(ns, 'web', 'NodePort');
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(
      'services "web" is forbidden: exceeded quota: q, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1',
    );
  });

  const pod = (
    name: string,
    containers: Container[],
    initContainers: Container[] = [],
  ): V1Pod =>
    ({
      metadata: { name },
      spec: {
        containers: containers.map(c => ({ image: 'nginx:1.25', ...c })),
        initContainers: initContainers.map(c => ({
          image: 'busybox:1.36',
          ...c,
        })),
        nodeSelector: { 'conformance.example.com/nowhere': 'true' },
      },
    } as V1Pod);

  it('names each container, init containers included, that leaves out what a quota counts', async () => {
    const ns = await withQuota({ 'limits.cpu': '2', 'requests.memory': '1Gi' });
    const err = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: pod(
          'p',
          [
            {
              name: 'app',
              resources: {
                requests: { memory: '64Mi' },
                limits: { cpu: '500m' },
              },
            },
            { name: 'side', resources: { requests: { memory: '64Mi' } } },
          ],
          [{ name: 'init' }],
        ),
      }),
    );
    expect(err).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      details: { name: 'p', kind: 'pods' },
    });
    expect(err.message).toBe(
      'pods "p" is forbidden: failed quota: q: must specify limits.cpu for: init,side; requests.memory for: init',
    );
  });

  it('counts the largest init container when it asks more than the containers together', async () => {
    const ns = await withQuota({ 'requests.cpu': '1' });
    const err = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: pod(
          'p',
          [{ name: 'app', resources: { requests: { cpu: '200m' } } }],
          [{ name: 'init', resources: { requests: { cpu: '1500m' } } }],
        ),
      }),
    );
    expect(err.message).toBe(
      'pods "p" is forbidden: exceeded quota: q, requested: requests.cpu=1500m, used: requests.cpu=0, limited: requests.cpu=1',
    );
  });
});
