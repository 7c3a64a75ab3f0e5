import { AppsV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { eventually, simCluster, TestCluster } from '../__testUtils__/cluster';

jest.setTimeout(60_000);

// kube-sim only: it needs pods that become Ready (a kubelet). A real Deployment controller never
// deletes a Ready pod it keeps when the replica count changes.
describe('Deployment scaling keeps the Ready pods it keeps', () => {
  let cluster: TestCluster;
  let apps: AppsV1Api;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await simCluster({ podReadyDelayMs: 50 });
    apps = cluster.kc.makeApiClient(AppsV1Api);
    core = cluster.kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'scale' } } });
  });

  afterAll(() => cluster.stop());

  const isReady = (p: V1Pod) =>
    p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True');
  const readyPods = (n: number) =>
    eventually(async () => {
      const pods = (await core.listNamespacedPod({ namespace: 'scale' })).items;
      const live = pods.filter(p => !p.metadata?.deletionTimestamp);
      return live.length === n && live.every(isReady)
        ? live.map(p => p.metadata!.name!).sort()
        : undefined;
    });
  // A read-modify-write PUT, as kubectl edit or client-node callers do: the body's key order is
  // the client's, not the server's.
  const scaleTo = async (replicas: number) => {
    const d = await apps.readNamespacedDeployment({
      name: 'web',
      namespace: 'scale',
    });
    d.spec!.replicas = replicas;
    await apps.replaceNamespacedDeployment({
      name: 'web',
      namespace: 'scale',
      body: d,
    });
  };

  it('scales 2 → 4 → 1 → 3 without replacing a kept Ready pod', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'scale',
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
          },
        },
      },
    });
    const two = await readyPods(2);

    await scaleTo(4);
    const four = await readyPods(4);
    expect(four).toEqual(expect.arrayContaining(two));

    await scaleTo(1);
    const one = await readyPods(1);
    expect(four).toEqual(expect.arrayContaining(one));

    await scaleTo(3);
    const three = await readyPods(3);
    expect(three).toEqual(expect.arrayContaining(one));

    const rs = await apps.listNamespacedReplicaSet({ namespace: 'scale' });
    expect(rs.items).toHaveLength(1);
  });
});
