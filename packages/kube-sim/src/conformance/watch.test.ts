import {
  CoreV1Api,
  makeInformer,
  V1ConfigMap,
  Watch,
} from '@kubernetes/client-node';
import {
  conformanceCluster,
  eventually,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';

// Generous: these talk to a server over HTTP, and CI machines are shared.
jest.setTimeout(30_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
describe('conformance: watch streams and informers', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  const aborts: AbortController[] = [];

  beforeAll(async () => {
    cluster = await conformanceCluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
    namespace = uniqueName('conf-watch');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterEach(() => {
    aborts.splice(0).forEach(a => a.abort());
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster.stop();
  });

  async function watchEvents(
    path: string,
    params: Record<string, string | boolean>,
  ) {
    const events: Array<{ type: string; obj: any }> = [];
    const watch = new Watch(cluster.kc);
    const abort = await watch.watch(
      path,
      params,
      (type, obj) => events.push({ type, obj }),
      () => {},
    );
    aborts.push(abort);
    return events;
  }

  it('streams ADDED, MODIFIED and DELETED events from a resourceVersion', async () => {
    const list = await core.listNamespacedConfigMap({ namespace });
    const events = await watchEvents(
      `/api/v1/namespaces/${namespace}/configmaps`,
      {
        resourceVersion: list.metadata!.resourceVersion!,
        labelSelector: 'watched=yes',
      },
    );
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'w1', labels: { watched: 'yes' } },
        data: { a: '1' },
      },
    });
    // client-node sends patches as JSON patch unless told otherwise.
    await core.patchNamespacedConfigMap({
      name: 'w1',
      namespace,
      body: [{ op: 'replace', path: '/data/a', value: '2' }],
    });
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace });
    await eventually(async () => events.length >= 3);
    expect(events.map(e => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(events[0].obj.kind).toBe('ConfigMap');
    expect(events[1].obj.data).toEqual({ a: '2' });
    const rvs = events.map(e => Number(e.obj.metadata.resourceVersion));
    expect(rvs[0]).toBeLessThan(rvs[1]);
    expect(rvs[1]).toBeLessThan(rvs[2]);
  });

  it('resumes from an earlier resourceVersion and replays what happened since', async () => {
    const start = (await core.listNamespacedConfigMap({ namespace })).metadata!
      .resourceVersion!;
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'r1', labels: { resume: 'yes' } } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'r2', labels: { resume: 'yes' } } },
    });
    const events = await watchEvents(
      `/api/v1/namespaces/${namespace}/configmaps`,
      {
        resourceVersion: start,
        labelSelector: 'resume=yes',
      },
    );
    await eventually(async () => events.length >= 2);
    expect(events.map(e => [e.type, e.obj.metadata.name])).toEqual([
      ['ADDED', 'r1'],
      ['ADDED', 'r2'],
    ]);
  });

  it('starts with the current state when no resourceVersion is given', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'now', labels: { state: 'yes' } } },
    });
    const events = await watchEvents(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { labelSelector: 'state=yes' },
    );
    await eventually(async () => events.length >= 1);
    expect(events[0]).toMatchObject({
      type: 'ADDED',
      obj: { metadata: { name: 'now' } },
    });
  });

  it('watches a single object through a field selector', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'one' } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'other' } },
    });
    const rv = (await core.listNamespacedConfigMap({ namespace })).metadata!
      .resourceVersion!;
    const events = await watchEvents(
      `/api/v1/namespaces/${namespace}/configmaps`,
      {
        resourceVersion: rv,
        fieldSelector: 'metadata.name=one',
      },
    );
    await core.deleteNamespacedConfigMap({ name: 'other', namespace });
    await core.deleteNamespacedConfigMap({ name: 'one', namespace });
    await eventually(async () => events.length >= 1);
    await new Promise(r => setTimeout(r, 100));
    expect(events.map(e => [e.type, e.obj.metadata.name])).toEqual([
      ['DELETED', 'one'],
    ]);
  });

  it('keeps an informer cache in sync (makeInformer)', async () => {
    const informer = makeInformer<V1ConfigMap>(
      cluster.kc,
      `/api/v1/namespaces/${namespace}/configmaps`,
      () =>
        core.listNamespacedConfigMap({
          namespace,
          labelSelector: 'informed=yes',
        }),
      'informed=yes',
    );
    const seen: string[] = [];
    informer.on('add', o => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', o => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', o => seen.push(`delete:${o.metadata?.name}`));
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'i0', labels: { informed: 'yes' } } },
    });
    await informer.start();
    try {
      await eventually(async () => informer.list().length === 1);
      await core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: { name: 'i1', labels: { informed: 'yes' } },
          data: { v: '1' },
        },
      });
      const i1 = await eventually(async () => informer.get('i1', namespace));
      expect(i1.data).toEqual({ v: '1' });
      const cm = await core.readNamespacedConfigMap({ name: 'i1', namespace });
      await core.replaceNamespacedConfigMap({
        name: 'i1',
        namespace,
        body: { ...cm, data: { v: '2' } },
      });
      await eventually(
        async () => informer.get('i1', namespace)?.data?.v === '2',
      );
      await core.deleteNamespacedConfigMap({ name: 'i0', namespace });
      await eventually(async () => !informer.get('i0', namespace));
      expect(seen).toEqual(['add:i0', 'add:i1', 'update:i1', 'delete:i0']);
    } finally {
      await informer.stop();
    }
  });
});
