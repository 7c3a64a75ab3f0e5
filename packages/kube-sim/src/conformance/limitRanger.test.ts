import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import {
  conformanceCluster,
  failure,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

type Container = { name: string; resources?: Record<string, unknown> };

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// There is no recording of LimitRanger; the answers are those of Kubernetes v1.26's LimitRanger admission plugin
// (plugin/pkg/admission/limitranger) and SetDefaults_LimitRangeItem / SetDefaults_Pod (pkg/apis/core/v1/defaults.go).
// Each test has a namespace of its own, created with its LimitRange before any pod (the plugin caches what it finds).
describe('conformance: LimitRange defaults and limits', () => {
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

  /** A fresh namespace holding one LimitRange `limits` with these items. */
  const withLimits = async (items: unknown[]) => {
    const ns = uniqueName('conf-limits');
    namespaces.push(ns);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    // Raw JSON: client-node's V1LimitRangeItem calls `default` `_default`.
    const created = await rawRequest(
      cluster.kc,
      'POST',
      `/api/v1/namespaces/${ns}/limitranges`,
      {
        body: {
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: { name: 'limits' },
          spec: { limits: items },
        },
      },
    );
    expect(created.status).toBe(201);
    return { ns, created: created.body };
  };

  const pod = (
    name: string,
    containers: Container[],
    initContainers?: Container[],
  ): V1Pod =>
    ({
      metadata: { name },
      spec: {
        containers: containers.map(c => ({ image: 'nginx:1.25', ...c })),
        ...(initContainers
          ? {
              initContainers: initContainers.map(c => ({
                image: 'busybox:1.36',
                ...c,
              })),
            }
          : {}),
        // No node takes it: only what the API server stored is looked at.
        nodeSelector: { 'conformance.example.com/nowhere': 'true' },
      },
    } as V1Pod);

  it('takes requests from defaultRequest and limits from default, for containers and init containers', async () => {
    const { ns } = await withLimits([
      {
        type: 'Container',
        default: { cpu: '500m', memory: '512Mi' },
        defaultRequest: { cpu: '100m', memory: '128Mi' },
        max: { cpu: '1' },
      },
    ]);
    const created = await core.createNamespacedPod({
      namespace: ns,
      body: pod('bare', [{ name: 'app' }], [{ name: 'init', resources: {} }]),
    });
    const defaulted = {
      limits: { cpu: '500m', memory: '512Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    };
    expect(created.spec?.containers[0].resources).toEqual(defaulted);
    expect(created.spec?.initContainers?.[0].resources).toEqual(defaulted);
    expect(created.metadata?.annotations).toEqual({
      'kubernetes.io/limit-ranger':
        'LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; ' +
        'cpu, memory request for init container init; cpu, memory limit for init container init',
    });
  });

  it("fills only what a container leaves out, a container's limit being its request", async () => {
    const { ns } = await withLimits([
      {
        type: 'Container',
        default: { cpu: '500m', memory: '512Mi' },
        defaultRequest: { cpu: '100m', memory: '128Mi' },
      },
    ]);
    const created = await core.createNamespacedPod({
      namespace: ns,
      body: pod('own', [
        { name: 'app', resources: { limits: { cpu: '800m' } } },
        { name: 'side', resources: { requests: { memory: '64Mi' } } },
      ]),
    });
    expect(created.spec?.containers.map(c => c.resources)).toEqual([
      {
        limits: { cpu: '800m', memory: '512Mi' },
        requests: { cpu: '800m', memory: '128Mi' },
      },
      {
        limits: { cpu: '500m', memory: '512Mi' },
        requests: { cpu: '100m', memory: '64Mi' },
      },
    ]);
    expect(created.metadata?.annotations?.['kubernetes.io/limit-ranger']).toBe(
      'LimitRanger plugin set: memory request for container app; memory limit for container app; ' +
        'cpu request for container side; cpu, memory limit for container side',
    );
  });

  it('stores a Container item with default from max, defaultRequest from default, then from min', async () => {
    const { ns, created } = await withLimits([
      { type: 'Container', max: { cpu: '1' }, min: { memory: '64Mi' } },
    ]);
    expect(created.spec.limits).toEqual([
      {
        type: 'Container',
        max: { cpu: '1' },
        min: { memory: '64Mi' },
        default: { cpu: '1' },
        defaultRequest: { cpu: '1', memory: '64Mi' },
      },
    ]);
    const p = await core.createNamespacedPod({
      namespace: ns,
      body: pod('bare', [{ name: 'app' }]),
    });
    expect(p.spec?.containers[0].resources).toEqual({
      limits: { cpu: '1' },
      requests: { cpu: '1', memory: '64Mi' },
    });
  });

  it('refuses a container above max or below min, init containers included, with 403', async () => {
    const { ns } = await withLimits([
      {
        type: 'Container',
        default: { cpu: '500m', memory: '512Mi' },
        defaultRequest: { cpu: '100m', memory: '128Mi' },
        max: { cpu: '1' },
        min: { memory: '64Mi' },
      },
    ]);
    const tooBig = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: pod('big', [
          { name: 'app', resources: { limits: { cpu: '2' } } },
        ]),
      }),
    );
    expect(tooBig).toMatchObject({
      httpCode: 403,
      kind: 'Status',
      status: 'Failure',
      reason: 'Forbidden',
      message:
        'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
      details: { name: 'big', kind: 'pods' },
      code: 403,
    });
    const bigInit = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: pod(
          'big-init',
          [{ name: 'app' }],
          [{ name: 'init', resources: { limits: { cpu: '1500m' } } }],
        ),
      }),
    );
    expect(bigInit.message).toBe(
      'pods "big-init" is forbidden: maximum cpu usage per Container is 1, but limit is 1500m',
    );
    const small = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: pod('small', [
          { name: 'app', resources: { requests: { memory: '32Mi' } } },
        ]),
      }),
    );
    expect(small.message).toBe(
      'pods "small" is forbidden: minimum memory usage per Container is 64Mi, but request is 32Mi',
    );
  });

  it('enforces maxLimitRequestRatio per container and max per Pod', async () => {
    const { ns } = await withLimits([
      { type: 'Pod', max: { cpu: '1' } },
      { type: 'Container', maxLimitRequestRatio: { cpu: '2' } },
    ]);
    const ratio = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: pod('ratio', [
          {
            name: 'app',
            resources: { requests: { cpu: '100m' }, limits: { cpu: '500m' } },
          },
        ]),
      }),
    );
    expect(ratio.message).toBe(
      'pods "ratio" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000',
    );
    const each = { requests: { cpu: '400m' }, limits: { cpu: '600m' } };
    const wide = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: pod('wide', [
          { name: 'a', resources: each },
          { name: 'b', resources: each },
        ]),
      }),
    );
    expect(wide.message).toBe(
      'pods "wide" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m',
    );
    const fits = await core.createNamespacedPod({
      namespace: ns,
      body: pod('fits', [{ name: 'a', resources: each }]),
    });
    expect(fits.spec?.containers[0].resources).toEqual(each);
    expect(fits.metadata?.annotations).toBeUndefined();
  });

  it('refuses a PersistentVolumeClaim outside its min and max storage', async () => {
    const { ns } = await withLimits([
      {
        type: 'PersistentVolumeClaim',
        max: { storage: '1Gi' },
        min: { storage: '100Mi' },
      },
    ]);
    const claim = (name: string, storage: string) => ({
      metadata: { name },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage } },
      },
    });
    const big = await failure(
      core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: claim('big', '2Gi'),
      }),
    );
    expect(big).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 2Gi',
      details: { name: 'big', kind: 'persistentvolumeclaims' },
    });
    const small = await failure(
      core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: claim('small', '50Mi'),
      }),
    );
    expect(small.message).toBe(
      'persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 100Mi, but request is 50Mi',
    );
    const ok = await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('ok', '500Mi'),
    });
    expect(ok.spec?.resources?.requests).toEqual({ storage: '500Mi' });
  });
  it('validates a LimitRange: 400 for what is no quantity, 422 for a default request above its default limit or a name no container asks for; a negative amount is stored', async () => {
    const ns = uniqueName('conf-limits');
    namespaces.push(ns);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const create = (name: string, items: unknown[]) =>
      rawRequest(cluster.kc, 'POST', `/api/v1/namespaces/${ns}/limitranges`, {
        body: {
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: { name },
          spec: { limits: items },
        },
      });

    const lots = await create('lots', [
      { type: 'Container', default: { cpu: 'lots' } },
    ]);
    expect(lots.status).toBe(400);
    expect(lots.body).toMatchObject({
      reason: 'BadRequest',
      message:
        'LimitRange in version "v1" cannot be handled as a LimitRange: ' +
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    });

    const upside = await create('upside', [
      {
        type: 'Container',
        default: { cpu: '100m' },
        defaultRequest: { cpu: '2' },
      },
    ]);
    expect(upside.status).toBe(422);
    const cause = {
      reason: 'FieldValueInvalid',
      message:
        'Invalid value: resource.Quantity{i:resource.int64Amount{value:2, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"2", Format:"DecimalSI"}: default request value 2 is greater than default limit value 100m',
      field: 'spec.limits[0].defaultRequest[cpu]',
    };
    expect(upside.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `LimitRange "upside" is invalid: ${cause.field}: ${cause.message}`,
      reason: 'Invalid',
      details: { name: 'upside', kind: 'LimitRange', causes: [cause] },
      code: 422,
    });

    const pods = await create('pods', [
      { type: 'Container', defaultRequest: { pods: '1' } },
    ]);
    expect(pods.status).toBe(422);
    expect(pods.body.message).toBe(
      'LimitRange "pods" is invalid: spec.limits[0].defaultRequest[pods]: Invalid value: "pods": must be a standard resource for containers',
    );

    // Unlike a ResourceQuota's, a LimitRange's amounts may be negative.
    const negative = await create('negative', [
      { type: 'Container', default: { memory: '-64Mi' } },
    ]);
    expect(negative.status).toBe(201);
    expect(negative.body.spec.limits).toEqual([
      {
        type: 'Container',
        default: { memory: '-64Mi' },
        defaultRequest: { memory: '-64Mi' },
      },
    ]);
  });
});
