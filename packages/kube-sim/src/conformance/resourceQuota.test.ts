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
  it('validates what a ResourceQuota limits: 400 for what is no quantity, 422 for a negative amount, a name no quota counts or a fraction of a count', async () => {
    const ns = uniqueName('conf-quota');
    namespaces.push(ns);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const create = (hard: Record<string, string>) =>
      rawRequest(
        cluster.kc,
        'POST',
        `/api/v1/namespaces/${ns}/resourcequotas`,
        {
          body: {
            apiVersion: 'v1',
            kind: 'ResourceQuota',
            metadata: { name: 'q' },
            spec: { hard },
          },
        },
      );
    const invalid = (causes: Array<[string, string]>) => ({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `ResourceQuota "q" is invalid: ${
        causes.length > 1 ? '[' : ''
      }${causes.map(([f, m]) => `${f}: ${m}`).join(', ')}${
        causes.length > 1 ? ']' : ''
      }`,
      reason: 'Invalid',
      details: {
        name: 'q',
        kind: 'ResourceQuota',
        causes: causes.map(([field, message]) => ({
          reason: 'FieldValueInvalid',
          message,
          field,
        })),
      },
      code: 422,
    });

    for (const bad of ['lots', '1.5.5', '2Q']) {
      const r = await create({ 'requests.cpu': bad });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({
        reason: 'BadRequest',
        message:
          'ResourceQuota in version "v1" cannot be handled as a ResourceQuota: ' +
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      });
    }
    // A suffix made of suffix letters that is none.
    const suffix = await create({ 'requests.memory': '1MM' });
    expect(suffix.status).toBe(400);
    expect(suffix.body.message).toBe(
      'ResourceQuota in version "v1" cannot be handled as a ResourceQuota: unable to parse quantity\'s suffix',
    );

    const negative = await create({
      'requests.cpu': '-1',
      'limits.memory': '-64Mi',
    });
    expect(negative.status).toBe(422);
    expect(negative.body).toEqual(
      invalid([
        [
          'spec.hard[limits.memory]',
          'Invalid value: "-64Mi": must be greater than or equal to 0',
        ],
        [
          'spec.hard[requests.cpu]',
          'Invalid value: "-1": must be greater than or equal to 0',
        ],
      ]),
    );

    const unknown = await create({ 'foo-bar': '1' });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toEqual(
      invalid([
        [
          'spec.hard[foo-bar]',
          'Invalid value: "foo-bar": must be a standard resource type or fully qualified',
        ],
        [
          'spec.hard[foo-bar]',
          'Invalid value: "foo-bar": must be a standard resource for quota',
        ],
      ]),
    );
    // `storage` is a resource, but no quota counts it (requests.storage does).
    const storage = await create({ storage: '1Gi' });
    expect(storage.body).toEqual(
      invalid([
        [
          'spec.hard[storage]',
          'Invalid value: "storage": must be a standard resource for quota',
        ],
      ]),
    );

    const fraction = await create({ pods: '1.5' });
    expect(fraction.status).toBe(422);
    expect(fraction.body).toEqual(
      invalid([
        [
          'spec.hard[pods]',
          'Invalid value: resource.Quantity{i:resource.int64Amount{value:15, scale:-1}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"", Format:"DecimalSI"}: must be an integer',
        ],
      ]),
    );

    // Object counts, storage per class, huge pages and extended resources (a name with a "/") are counted.
    const fine = await create({
      'count/deployments.apps': '10',
      'gold.storageclass.storage.k8s.io/requests.storage': '100Gi',
      'requests.example.com/gpu': '2',
      'hugepages-2Mi': '1Gi',
      services: '0',
    });
    expect(fine.status).toBe(201);
  });
});
