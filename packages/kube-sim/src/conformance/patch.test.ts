import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  V1ConfigMap,
  V1Deployment,
} from '@kubernetes/client-node';
import {
  conformanceCluster,
  failure,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';

// Generous: these talk to a server over HTTP, and CI machines are shared.
jest.setTimeout(30_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
describe('conformance: patches and server-side apply', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let objects: KubernetesObjectApi;
  let namespace: string;

  beforeAll(async () => {
    cluster = await conformanceCluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
    apps = cluster.kc.makeApiClient(AppsV1Api);
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    namespace = uniqueName('conf-patch');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster.stop();
  });

  const deployment = (name: string): V1Deployment => ({
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.25',
              env: [{ name: 'A', value: '1' }],
            },
            { name: 'sidecar', image: 'busybox:1.36' },
          ],
        },
      },
    },
  });

  it('applies a JSON merge patch (null deletes a key)', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'm1' }, data: { a: '1', b: '2' } },
    });
    const patched = await core.patchNamespacedConfigMap(
      { name: 'm1', namespace, body: { data: { a: '9', b: null, c: '3' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ a: '9', c: '3' });
  });

  it('applies a JSON patch and rejects a failing test operation', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'j1' }, data: { a: '1' } },
    });
    const patched = await core.patchNamespacedConfigMap({
      name: 'j1',
      namespace,
      body: [
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'add', path: '/data/b', value: '2' },
        { op: 'remove', path: '/data/a' },
      ],
    });
    expect(patched.data).toEqual({ b: '2' });
    const err = await failure(
      core.patchNamespacedConfigMap({
        name: 'j1',
        namespace,
        body: [{ op: 'test', path: '/data/b', value: 'nope' }],
      }),
    );
    expect(err.code ?? err.httpCode).toBeGreaterThanOrEqual(400);
    const unchanged = await core.readNamespacedConfigMap({
      name: 'j1',
      namespace,
    });
    expect(unchanged.data).toEqual({ b: '2' });
  });

  it('merges containers and env by name in a strategic merge patch', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('smp'),
    });
    const patched = await apps.patchNamespacedDeployment(
      {
        name: 'smp',
        namespace,
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: 'app',
                    image: 'nginx:1.26',
                    env: [{ name: 'B', value: '2' }],
                  },
                ],
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = patched.spec!.template.spec!.containers;
    expect(containers.map(c => [c.name, c.image])).toEqual([
      ['app', 'nginx:1.26'],
      ['sidecar', 'busybox:1.36'],
    ]);
    // Without $setElementOrder a real server puts items new to the list first.
    expect(containers[0].env).toEqual([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]);
    expect(patched.metadata?.generation).toBe(2);

    const removed = await apps.patchNamespacedDeployment(
      {
        name: 'smp',
        namespace,
        body: {
          spec: {
            template: {
              spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(removed.spec!.template.spec!.containers.map(c => c.name)).toEqual([
      'app',
    ]);
  });

  it('orders a strategic merge patch by $setElementOrder, as kubectl apply sends it', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('smp-order'),
    });
    const patched = await apps.patchNamespacedDeployment(
      {
        name: 'smp-order',
        namespace,
        body: {
          spec: {
            template: {
              spec: {
                '$setElementOrder/containers': [
                  { name: 'sidecar' },
                  { name: 'app' },
                ],
                containers: [
                  {
                    name: 'app',
                    '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }],
                    env: [{ name: 'B', value: '2' }],
                  },
                ],
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = patched.spec!.template.spec!.containers;
    expect(containers.map(c => c.name)).toEqual(['sidecar', 'app']);
    expect(containers[1].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
  });

  it('creates and updates with server-side apply, tracking the field manager', async () => {
    const spec = (
      data: Record<string, string>,
    ): V1ConfigMap & KubernetesObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa', namespace },
      data,
    });
    const created = await objects.patch(
      spec({ k: 'v', keep: 'x' }),
      undefined,
      undefined,
      'kubechart',
      false,
      PatchStrategy.ServerSideApply,
    );
    expect(created.metadata?.uid).toBeTruthy();
    expect((created as V1ConfigMap).data).toEqual({ k: 'v', keep: 'x' });
    const entry = created.metadata?.managedFields?.find(
      m => m.manager === 'kubechart',
    );
    expect(entry).toMatchObject({
      operation: 'Apply',
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
    });
    expect(entry?.fieldsV1).toMatchObject({
      'f:data': { 'f:k': {}, 'f:keep': {} },
    });

    // Fields the manager no longer applies are removed.
    const updated = await objects.patch(
      spec({ keep: 'y' }),
      undefined,
      undefined,
      'kubechart',
      false,
      PatchStrategy.ServerSideApply,
    );
    expect((updated as V1ConfigMap).data).toEqual({ keep: 'y' });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
  });

  it('reports a conflict with another field manager unless forced', async () => {
    const spec = (v: string): V1ConfigMap & KubernetesObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa-conflict', namespace },
      data: { owned: v },
    });
    await objects.patch(
      spec('a'),
      undefined,
      undefined,
      'first',
      false,
      PatchStrategy.ServerSideApply,
    );
    const err = await failure(
      objects.patch(
        spec('b'),
        undefined,
        undefined,
        'second',
        false,
        PatchStrategy.ServerSideApply,
      ),
    );
    expect(err).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(err.details.causes[0]).toMatchObject({
      reason: 'FieldManagerConflict',
      field: '.data.owned',
    });
    expect(err.message).toContain('conflict with "first"');

    const forced = await objects.patch(
      spec('b'),
      undefined,
      undefined,
      'second',
      true,
      PatchStrategy.ServerSideApply,
    );
    expect((forced as V1ConfigMap).data).toEqual({ owned: 'b' });
    const managers = forced.metadata?.managedFields?.map(m => m.manager);
    expect(managers).toContain('second');
  });

  it('rolls out a Deployment applied again with a new image (generation bumps)', async () => {
    const spec = (image: string): KubernetesObject =>
      ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ssa-deploy', namespace },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'ssa-deploy' } },
          template: {
            metadata: { labels: { app: 'ssa-deploy' } },
            spec: { containers: [{ name: 'app', image }] },
          },
        },
      } as KubernetesObject);
    const first = await objects.patch(
      spec('nginx:1.25'),
      undefined,
      undefined,
      'kubechart',
      false,
      PatchStrategy.ServerSideApply,
    );
    expect(first.metadata?.generation).toBe(1);
    const again = await objects.patch(
      spec('nginx:1.25'),
      undefined,
      undefined,
      'kubechart',
      false,
      PatchStrategy.ServerSideApply,
    );
    expect(again.metadata?.generation).toBe(1);
    const second = await objects.patch(
      spec('nginx:1.26'),
      undefined,
      undefined,
      'kubechart',
      false,
      PatchStrategy.ServerSideApply,
    );
    expect(second.metadata?.generation).toBe(2);
    const read = await apps.readNamespacedDeployment({
      name: 'ssa-deploy',
      namespace,
    });
    expect(read.spec?.template.spec?.containers[0].image).toBe('nginx:1.26');
    expect(read.spec?.strategy?.type).toBe('RollingUpdate');
  });
});
