import { CoreV1Api } from '@kubernetes/client-node';
import {
  eventually,
  simCluster,
  TestCluster,
  uniqueName,
} from './__testUtils__/cluster';
import { rawRequest } from './__testUtils__/http';

// kube-sim only: a PersistentVolumeClaim's storage request growing in an update. On a real server that needs a
// bound claim of an expandable StorageClass (kube-sim does not check either), and then LimitRanger and quota
// admission see it as here. (What a real server answers otherwise: src/conformance/resourceQuota.test.ts and
// src/conformance/limitRanger.test.ts.)
jest.setTimeout(30_000);

describe('kube-sim quota and limits on PersistentVolumeClaim updates', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await simCluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
  });
  afterAll(() => cluster.stop());

  const namespace = async () => {
    const ns = uniqueName('pvc-quota');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    return ns;
  };
  const claim = (ns: string, storage: string) =>
    core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage } },
        },
      },
    });
  const resize = (ns: string, storage: string) =>
    rawRequest(
      cluster.kc,
      'PATCH',
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`,
      {
        body: { spec: { resources: { requests: { storage } } } },
        contentType: 'application/merge-patch+json',
      },
    );

  it('charges only the increase of requests.storage, and refuses it over the quota', async () => {
    const ns = await namespace();
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: 'q' },
        spec: { hard: { 'requests.storage': '1Gi' } },
      },
    });
    await claim(ns, '500Mi');
    await eventually(async () => {
      const q = await core.readNamespacedResourceQuota({
        name: 'q',
        namespace: ns,
      });
      return q.status?.used?.['requests.storage'] === '500Mi';
    });
    const tooBig = await resize(ns, '2Gi');
    expect(tooBig.status).toBe(403);
    expect(tooBig.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'persistentvolumeclaims "data" is forbidden: exceeded quota: q, requested: requests.storage=1548Mi, used: requests.storage=500Mi, limited: requests.storage=1Gi',
      details: { name: 'data', kind: 'persistentvolumeclaims' },
    });
    // 300Mi more fits beside the 500Mi already counted.
    const grown = await resize(ns, '800Mi');
    expect(grown.status).toBe(200);
    expect(grown.body.spec.resources.requests).toEqual({ storage: '800Mi' });
  });

  it('holds an updated claim to the LimitRange maximum', async () => {
    const ns = await namespace();
    await rawRequest(
      cluster.kc,
      'POST',
      `/api/v1/namespaces/${ns}/limitranges`,
      {
        body: {
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: { name: 'storage' },
          spec: {
            limits: [
              { type: 'PersistentVolumeClaim', max: { storage: '1Gi' } },
            ],
          },
        },
      },
    );
    await claim(ns, '500Mi');
    const tooBig = await resize(ns, '2Gi');
    expect(tooBig.status).toBe(403);
    expect(tooBig.body.message).toBe(
      'persistentvolumeclaims "data" is forbidden: maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 2Gi',
    );
  });
});
