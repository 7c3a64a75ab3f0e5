import {
  V1DaemonSet,
  V1Deployment,
  V1Node,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { NodeAggregates, WorkloadAggregates } from './clusterAggregates';

const deployment = (
  namespace: string,
  name: string,
  ready: number | undefined,
  replicas?: number,
): V1Deployment => ({
  metadata: { namespace, name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: {} },
  // A rollout that left `ready` pods of the current template, all of them available.
  status: {
    replicas: ready,
    updatedReplicas: ready,
    readyReplicas: ready,
    availableReplicas: ready,
  },
});
const statefulSet = (
  namespace: string,
  name: string,
  ready: number,
  replicas: number,
): V1StatefulSet => ({
  metadata: { namespace, name, generation: 1 },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    serviceName: name,
    template: {},
  },
  status: { observedGeneration: 1, readyReplicas: ready, replicas },
});
const daemonSet = (
  namespace: string,
  name: string,
  ready: number,
  desired: number,
): V1DaemonSet => ({
  metadata: { namespace, name },
  spec: { selector: { matchLabels: { app: name } }, template: {} },
  status: {
    numberReady: ready,
    numberAvailable: ready,
    desiredNumberScheduled: desired,
    currentNumberScheduled: desired,
    updatedNumberScheduled: desired,
    numberMisscheduled: 0,
  },
});
const node = (
  name: string,
  ready: boolean,
  cpu = '4',
  memory = '8Gi',
  unschedulable?: boolean,
): V1Node => ({
  metadata: { name },
  ...(unschedulable === undefined ? {} : { spec: { unschedulable } }),
  status: {
    allocatable: { cpu, memory },
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});
const behind = (agg: WorkloadAggregates) =>
  agg
    .behindItems()
    .map(w => `${w.kind} ${w.namespace}/${w.name} ${w.ready}/${w.desired}`);

describe('WorkloadAggregates', () => {
  it('counts workloads through adds, updates and deletes, and lists only those behind', () => {
    const agg = new WorkloadAggregates();
    for (let i = 0; i < 1000; i++)
      agg.set('Deployment', deployment('shop', `web-${i}`, 2, 2));
    agg.set('StatefulSet', statefulSet('shop', 'db', 3, 3));
    agg.set('DaemonSet', daemonSet('kube-system', 'proxy', 5, 5));
    expect(agg.size).toBe(1002);
    expect(behind(agg)).toEqual([]);

    // A rollout leaves one replica short, a DaemonSet misses a node; a Deployment without replicas
    // set asks for one.
    agg.set('Deployment', deployment('shop', 'web-7', 1, 2));
    agg.set('DaemonSet', daemonSet('kube-system', 'proxy', 4, 5));
    agg.set('Deployment', deployment('bank', 'api', undefined));
    expect(agg.size).toBe(1003);
    expect(behind(agg)).toEqual([
      'Deployment bank/api 0/1',
      'Deployment shop/web-7 1/2',
      'DaemonSet kube-system/proxy 4/5',
    ]);
    expect(agg.behindItems()[0].selector).toEqual({
      matchLabels: { app: 'api' },
    });

    // Back to healthy, and deleted.
    agg.set('Deployment', deployment('shop', 'web-7', 2, 2));
    agg.remove('Deployment', deployment('bank', 'api', undefined));
    expect(behind(agg)).toEqual(['DaemonSet kube-system/proxy 4/5']);
    expect(agg.size).toBe(1002);
    // A StatefulSet scaled down to its ready replicas is healthy; scaled up it is behind.
    agg.set('StatefulSet', statefulSet('shop', 'db', 3, 5));
    expect(behind(agg)).toEqual([
      'StatefulSet shop/db 3/5',
      'DaemonSet kube-system/proxy 4/5',
    ]);
    // A deletion of something never counted changes nothing.
    agg.remove('StatefulSet', statefulSet('shop', 'web-1', 0, 1));
    expect(agg.size).toBe(1002);
    for (let i = 0; i < 1000; i++)
      agg.remove('Deployment', deployment('shop', `web-${i}`, 2, 2));
    expect(agg.size).toBe(2);
  });

  it('counts a Deployment as behind while its rollout is not complete, though every old pod is Ready', () => {
    const agg = new WorkloadAggregates();
    const web = (
      status: V1Deployment['status'],
      replicas = 2,
    ): V1Deployment => ({
      metadata: { namespace: 'shop', name: 'web', generation: 2 },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: {},
      },
      status: { observedGeneration: 2, ...status },
    });
    const oldReady = {
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    };
    // The new ReplicaSet's pods are refused by the namespace's quota.
    agg.set(
      'Deployment',
      web({
        ...oldReady,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'pods "web-2-a" is forbidden: exceeded quota: q',
          },
        ],
      }),
    );
    expect(agg.behindItems()).toEqual([
      expect.objectContaining({
        name: 'web',
        ready: 2,
        desired: 2,
        stuck: 'refused',
        problem: 'FailedCreate: pods "web-2-a" is forbidden: exceeded quota: q',
      }),
    ]);
    // A new pod that does not become available: one new replica updated, the old ones still serving.
    agg.set(
      'Deployment',
      web({ ...oldReady, replicas: 3, updatedReplicas: 1 }),
    );
    expect(agg.behindItems()).toEqual([
      expect.objectContaining({
        ready: 2,
        problem: 'waiting for 1 of 2 new replica(s) updated',
      }),
    ]);
    expect(agg.behindItems()[0].stuck).toBeUndefined();
    // The progress deadline passed.
    agg.set(
      'Deployment',
      web({
        ...oldReady,
        replicas: 3,
        updatedReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "web-2" has timed out progressing.',
          },
        ],
      }),
    );
    expect(agg.behindItems()[0]).toMatchObject({
      stuck: 'deadline',
      problem: expect.stringContaining('progress deadline'),
    });
    // The controller has not seen the latest spec yet.
    agg.set(
      'Deployment',
      web({ ...oldReady, updatedReplicas: 2, observedGeneration: 1 }),
    );
    expect(behind(agg)).toEqual(['Deployment shop/web 2/2']);
    // Complete; then scaled to zero, which asks for nothing and is healthy.
    agg.set('Deployment', web({ ...oldReady, updatedReplicas: 2 }));
    expect(behind(agg)).toEqual([]);
    agg.set('Deployment', web({}, 0));
    expect(behind(agg)).toEqual([]);
    expect(agg.size).toBe(1);
  });

  it('keeps a workload of the same namespace and name apart per kind', () => {
    const agg = new WorkloadAggregates();
    agg.set('Deployment', deployment('shop', 'web', 0, 1));
    agg.set('StatefulSet', statefulSet('shop', 'web', 1, 1));
    expect(agg.size).toBe(2);
    agg.remove('StatefulSet', statefulSet('shop', 'web', 1, 1));
    expect(behind(agg)).toEqual(['Deployment shop/web 0/1']);
    expect(agg.size).toBe(1);
  });
});

describe('NodeAggregates', () => {
  it('counts Ready nodes and sums allocatable resources through adds, updates and deletes', () => {
    const agg = new NodeAggregates();
    for (let i = 0; i < 1000; i++)
      agg.set(node(`node-${i}`, true, '100m', '1Gi'));
    // 1000 × 0.1 cores: an integer sum, not 99.9999999999986 as adding floats gives.
    expect(agg.allocatable()).toEqual({ cpu: 100, memory: 1000 * 2 ** 30 });
    expect([agg.ready, agg.total]).toEqual([1000, 1000]);

    agg.set(node('node-9', false, '100m', '1Gi'));
    agg.set(node('node-10', false, '2', '1Gi'));
    expect([agg.ready, agg.total]).toEqual([998, 1000]);
    expect(agg.notReadyNames()).toEqual(['node-10', 'node-9']);
    // Nodes not Ready take no new pods: their capacity is not counted.
    expect(agg.allocatable()).toEqual({ cpu: 99.8, memory: 998 * 2 ** 30 });

    // Ready again, and a node removed.
    agg.set(node('node-9', true, '100m', '1Gi'));
    agg.remove(node('node-10', false));
    agg.remove(node('node-unknown', false));
    expect([agg.ready, agg.total]).toEqual([999, 999]);
    expect(agg.notReadyNames()).toEqual([]);
    expect(agg.allocatable()).toEqual({ cpu: 99.9, memory: 999 * 2 ** 30 });
  });

  it('treats a node without a Ready condition as not Ready', () => {
    const agg = new NodeAggregates();
    agg.set({
      metadata: { name: 'new' },
      status: { allocatable: { cpu: '1' } },
    });
    expect([agg.ready, agg.total, agg.notReadyNames()]).toEqual([
      0,
      1,
      ['new'],
    ]);
    expect(agg.allocatable()).toEqual({ cpu: 0, memory: 0 });
    expect(agg.excluded).toBe(1);
  });

  it("counts only Ready, schedulable nodes' capacity, and how many nodes it leaves out", () => {
    const agg = new NodeAggregates();
    for (let i = 1; i <= 4; i++) agg.set(node(`node-${i}`, true, '4', '8Gi'));
    expect(agg.allocatable()).toEqual({ cpu: 16, memory: 32 * 2 ** 30 });
    expect(agg.excluded).toBe(0);

    // node-2 is cordoned (still Ready), node-3 goes NotReady: half the cluster takes no new pods.
    agg.set(node('node-2', true, '4', '8Gi', true));
    agg.set(node('node-3', false, '4', '8Gi'));
    expect(agg.allocatable()).toEqual({ cpu: 8, memory: 16 * 2 ** 30 });
    expect(agg.excluded).toBe(2);
    expect([agg.counts('node-1'), agg.counts('node-2')]).toEqual([true, false]);
    expect([agg.counts('node-3'), agg.counts('unknown')]).toEqual([
      false,
      false,
    ]);
    // A cordoned node is still Ready: only NotReady nodes are alerts.
    expect([agg.ready, agg.total, agg.notReadyNames()]).toEqual([
      3,
      4,
      ['node-3'],
    ]);

    // Uncordoned, and the NotReady node removed.
    agg.set(node('node-2', true, '4', '8Gi', false));
    agg.remove(node('node-3', false));
    expect(agg.allocatable()).toEqual({ cpu: 12, memory: 24 * 2 ** 30 });
    expect(agg.excluded).toBe(0);
  });
});
