import {
  AppsV1Api,
  CoreV1Api,
  CoreV1Event,
  V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { eventually, simCluster, TestCluster } from '../__testUtils__/cluster';

jest.setTimeout(60_000);

// kube-sim only: it needs a kubelet that stops the containers of a deleted pod. (The recording in
// ../shared/reference/kube-api/delete/10-* was made without one: there the pod stayed Terminating.)
describe("a bound pod's kubelet finishes its graceful deletion", () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  beforeAll(async () => {
    cluster = await simCluster({
      podReadyDelayMs: 50,
      podTerminationDelayMs: 400,
    });
    core = cluster.kc.makeApiClient(CoreV1Api);
    apps = cluster.kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'term' } } });
  });

  afterAll(() => cluster.stop());

  const isReady = (p: V1Pod) =>
    !!p.status?.conditions?.some(
      c => c.type === 'Ready' && c.status === 'True',
    );

  it('shows the pod Terminating, then not ready with stopped containers, then removes it', async () => {
    await core.createNamespacedPod({
      namespace: 'term',
      body: {
        metadata: { name: 'web' },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
      },
    });
    await eventually(async () =>
      isReady(await core.readNamespacedPod({ name: 'web', namespace: 'term' })),
    );
    const seen: { type: string; pod: V1Pod }[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      new Watch(cluster.kc)
        .watch(
          '/api/v1/namespaces/term/pods',
          { fieldSelector: 'metadata.name=web' },
          (type, pod: V1Pod) => {
            seen.push({ type, pod });
            if (type === 'DELETED') resolve();
          },
          err => (err ? reject(err) : undefined),
        )
        .catch(reject);
    });
    await eventually(async () => seen.length > 0); // the initial ADDED
    const deleted = await core.deleteNamespacedPod({
      name: 'web',
      namespace: 'term',
    });
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(30);
    // Right after the delete it is still there, Terminating and still Ready.
    const right = await core.readNamespacedPod({
      name: 'web',
      namespace: 'term',
    });
    expect(right.metadata?.deletionTimestamp).toBeTruthy();
    expect(isReady(right)).toBe(true);
    await ended;
    const types = seen.map(s => s.type);
    expect(types).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    const stopped = seen[2].pod;
    expect(isReady(stopped)).toBe(false);
    expect(stopped.status?.containerStatuses?.[0].state?.terminated).toEqual(
      expect.objectContaining({ exitCode: 0, reason: 'Completed' }),
    );
    // The final DELETED event carries grace 0, as the kubelet's last delete sets it.
    expect(seen[3].pod.metadata?.deletionGracePeriodSeconds).toBe(0);
    const events = (
      await core.listNamespacedEvent({
        namespace: 'term',
        fieldSelector: 'involvedObject.name=web',
      })
    ).items as CoreV1Event[];
    expect(events.map(e => `${e.reason}: ${e.message}`)).toContain(
      'Killing: Stopping container app',
    );
  });

  it('scaling a Deployment down leaves the removed pod Terminating for a moment, not counted', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'term',
      body: {
        metadata: { name: 'api' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
          },
        },
      },
    });
    const podsOf = async () =>
      (
        await core.listNamespacedPod({
          namespace: 'term',
          labelSelector: 'app=api',
        })
      ).items;
    await eventually(async () => {
      const pods = await podsOf();
      return pods.length === 2 && pods.every(isReady);
    });
    const d = await apps.readNamespacedDeployment({
      name: 'api',
      namespace: 'term',
    });
    d.spec!.replicas = 1;
    await apps.replaceNamespacedDeployment({
      name: 'api',
      namespace: 'term',
      body: d,
    });
    const during = await eventually(async () => {
      const pods = await podsOf();
      return pods.some(p => p.metadata?.deletionTimestamp) ? pods : undefined;
    });
    expect(during).toHaveLength(2);
    const deployment = await eventually(async () => {
      const read = await apps.readNamespacedDeployment({
        name: 'api',
        namespace: 'term',
      });
      return read.status?.replicas === 1 ? read : undefined;
    });
    expect(deployment.status?.replicas).toBe(1);
    const after = await eventually(async () => {
      const pods = await podsOf();
      return pods.length === 1 ? pods : undefined;
    });
    expect(after[0].metadata?.deletionTimestamp).toBeUndefined();
    expect(isReady(after[0])).toBe(true);
  });

  it('deleting a namespace waits for its pods to be stopped', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedPod({
      namespace: 'doomed',
      body: {
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
      },
    });
    await eventually(async () =>
      isReady(await core.readNamespacedPod({ name: 'p', namespace: 'doomed' })),
    );
    await core.deleteNamespace({ name: 'doomed' });
    const terminating = await eventually(async () => {
      const p = await core.readNamespacedPod({
        name: 'p',
        namespace: 'doomed',
      });
      return p.metadata?.deletionTimestamp ? p : undefined;
    });
    expect(terminating.metadata?.deletionGracePeriodSeconds).toBe(30);
    await eventually(async () => {
      try {
        await core.readNamespace({ name: 'doomed' });
        return false;
      } catch (e: any) {
        return e.code === 404;
      }
    });
  });
  it('a Foreground delete of a Deployment keeps it, and its ReplicaSet, until the pods are stopped', async () => {
    await core.createNamespace({ body: { metadata: { name: 'fg' } } });
    await apps.createNamespacedDeployment({
      namespace: 'fg',
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
          },
        },
      },
    });
    await eventually(async () =>
      (await core.listNamespacedPod({ namespace: 'fg' })).items.some(isReady),
    );
    await apps.deleteNamespacedDeployment({
      name: 'web',
      namespace: 'fg',
      propagationPolicy: 'Foreground',
    });
    // As delete/01-deployment-delete-foreground-sequence.json: the ReplicaSet, which has dependents of its
    // own, is deleted with Foreground too; both wait while the pod is Terminating.
    const waiting = await eventually(async () => {
      const pods = (await core.listNamespacedPod({ namespace: 'fg' })).items;
      return pods.length === 1 && pods[0].metadata?.deletionTimestamp
        ? pods
        : undefined;
    });
    expect(waiting).toHaveLength(1);
    const [rs] = (await apps.listNamespacedReplicaSet({ namespace: 'fg' }))
      .items;
    expect(rs.metadata?.deletionTimestamp).toBeTruthy();
    expect(rs.metadata?.finalizers).toEqual(['foregroundDeletion']);
    const d = await apps.readNamespacedDeployment({
      name: 'web',
      namespace: 'fg',
    });
    expect(d.metadata?.finalizers).toEqual(['foregroundDeletion']);
    await eventually(async () => {
      const [deployments, replicaSets, pods] = await Promise.all([
        apps.listNamespacedDeployment({ namespace: 'fg' }),
        apps.listNamespacedReplicaSet({ namespace: 'fg' }),
        core.listNamespacedPod({ namespace: 'fg' }),
      ]);
      return (
        deployments.items.length +
          replicaSets.items.length +
          pods.items.length ===
        0
      );
    });
  });
});
