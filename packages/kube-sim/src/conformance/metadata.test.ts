import { CoreV1Api } from '@kubernetes/client-node';
import { conformanceNamespace, TestNamespace } from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// Each expectation is a real v1.26 answer from ../shared/reference/kube-api/metadata/.
describe('conformance: metadata-only answers (as=PartialObjectMetadata)', () => {
  let cluster: TestNamespace;
  let ns: string;
  const asList = (v = 'v1') =>
    `application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=${v},application/json`;
  const get = (path: string, accept: string) =>
    rawRequest(cluster.kc, 'GET', path, { headers: { Accept: accept } });

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-meta');
    ns = cluster.ns;
    const core = cluster.kc.makeApiClient(CoreV1Api);
    for (const name of ['alpha', 'bravo', 'charlie']) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name, labels: { tier: name } }, data: { k: 'v' } },
      });
    }
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it.each(['v1', 'v1beta1'])(
    'lists as PartialObjectMetadataList %s: metadata only, paging kept',
    async v => {
      const res = await get(
        `/api/v1/namespaces/${ns}/configmaps?limit=2`,
        asList(v),
      );
      expect(res.status).toBe(200);
      expect(res.contentType).toBe('application/json');
      expect(res.body.kind).toBe('PartialObjectMetadataList');
      expect(res.body.apiVersion).toBe(`meta.k8s.io/${v}`);
      expect(res.body.metadata.continue).toBeDefined();
      expect(res.body.metadata.resourceVersion).toBeDefined();
      expect(res.body.items).toHaveLength(2);
      for (const item of res.body.items) {
        expect(Object.keys(item).sort()).toEqual([
          'apiVersion',
          'kind',
          'metadata',
        ]);
        expect(item.kind).toBe('PartialObjectMetadata');
        expect(item.apiVersion).toBe(`meta.k8s.io/${v}`);
        expect(item.metadata.namespace).toBe(ns);
        expect(item.metadata.uid).toBeDefined();
        expect(item.metadata.managedFields).toBeDefined();
      }
      expect(res.body.items[0].metadata.labels).toEqual({ tier: 'alpha' });
    },
  );

  it('gets one object as PartialObjectMetadata', async () => {
    const res = await get(
      `/api/v1/namespaces/${ns}/configmaps/bravo`,
      'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json',
    );
    expect(res.status).toBe(200);
    expect(res.body.kind).toBe('PartialObjectMetadata');
    expect(res.body.apiVersion).toBe('meta.k8s.io/v1');
    expect(res.body.metadata.name).toBe('bravo');
    expect(res.body.data).toBeUndefined();
  });

  it('refuses a list form for one object and an unknown version without fallback (406)', async () => {
    const single = await get(
      `/api/v1/namespaces/${ns}/configmaps/bravo`,
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    );
    expect(single.status).toBe(406);
    expect(single.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'NotAcceptable',
      message:
        'you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)',
      code: 406,
    });
    const unknown = await get(
      `/api/v1/namespaces/${ns}/configmaps`,
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v9',
    );
    expect(unknown.status).toBe(406);
    expect(unknown.body.message).toBe(
      'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
    );
    const fallback = await get(
      `/api/v1/namespaces/${ns}/configmaps`,
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v9,application/json',
    );
    expect(fallback.status).toBe(200);
    expect(fallback.body.kind).toBe('ConfigMapList');
  });
});
