import { V1Pod } from '@kubernetes/client-node';
import { PodAggregates } from './podAggregates';

const pod = (
  namespace: string,
  name: string,
  opts: {
    cpu?: string;
    memory?: string;
    phase?: string;
    waiting?: string;
    rv?: string;
    node?: string;
  } = {},
): V1Pod => ({
  metadata: {
    namespace,
    name,
    resourceVersion: opts.rv ?? '1',
    labels: { app: name.split('-')[0] },
  },
  spec: {
    ...(opts.node ? { nodeName: opts.node } : {}),
    containers: [
      {
        name: 'c',
        resources: {
          requests: { cpu: opts.cpu ?? '10m', memory: opts.memory ?? '16Mi' },
        },
      },
    ],
  },
  status: {
    phase: opts.phase ?? 'Running',
    containerStatuses: [
      {
        name: 'c',
        ready: !opts.waiting,
        restartCount: opts.waiting ? 3 : 0,
        image: 'x',
        imageID: '',
        ...(opts.waiting
          ? {
              state: {
                waiting: {
                  reason: opts.waiting,
                  message: 'back-off restarting failed container',
                },
              },
            }
          : {}),
      },
    ],
  },
});

describe('PodAggregates', () => {
  it('sums the requests of pods that have not ended, through adds, updates and deletes', () => {
    const agg = new PodAggregates();
    for (let i = 0; i < 1000; i++)
      agg.set(pod('shop', `web-${i}`, { cpu: '10m', memory: '16Mi' }));
    // 1000 × 0.01 cores: an integer sum, not 9.999999999999831 as adding floats gives.
    expect(agg.requests()).toEqual({ cpu: 10, memory: 1000 * 16 * 2 ** 20 });
    agg.set(pod('shop', 'web-0', { cpu: '500m', memory: '1Gi', rv: '2' }));
    expect(agg.requests()).toEqual({
      cpu: 10.49,
      memory: 999 * 16 * 2 ** 20 + 2 ** 30,
    });
    agg.set(pod('shop', 'web-1', { phase: 'Succeeded', rv: '2' }));
    agg.remove(pod('shop', 'web-2'));
    expect(agg.size).toBe(999);
    expect(agg.requests()).toEqual({
      cpu: 10.47,
      memory: 997 * 16 * 2 ** 20 + 2 ** 30,
    });
    for (let i = 0; i < 1000; i++) agg.remove(pod('shop', `web-${i}`));
    expect(agg.requests()).toEqual({ cpu: 0, memory: 0 });
    expect(agg.size).toBe(0);
  });

  it('sums the requests of the pods on the nodes that count, and of those not yet on a node', () => {
    const agg = new PodAggregates();
    agg.set(pod('shop', 'a', { cpu: '1', memory: '1Gi', node: 'node-1' }));
    agg.set(pod('shop', 'b', { cpu: '2', memory: '2Gi', node: 'node-2' }));
    agg.set(pod('shop', 'c', { cpu: '500m', memory: '1Gi', phase: 'Pending' }));
    expect(agg.requests()).toEqual({ cpu: 3.5, memory: 4 * 2 ** 30 });
    // node-2 takes no new pods (cordoned, not Ready): its pods are not counted against the rest.
    const onNode1 = (node: string) => node === 'node-1';
    expect(agg.requests(onNode1)).toEqual({ cpu: 1.5, memory: 2 * 2 ** 30 });
    // The pending pod is bound to node-2; a, moved, to node-2 too.
    agg.set(pod('shop', 'c', { cpu: '500m', memory: '1Gi', node: 'node-2' }));
    agg.set(pod('shop', 'a', { cpu: '1', memory: '1Gi', node: 'node-2' }));
    expect(agg.requests(onNode1)).toEqual({ cpu: 0, memory: 0 });
    agg.remove(pod('shop', 'b'));
    expect(agg.requests()).toEqual({ cpu: 1.5, memory: 2 * 2 ** 30 });
  });

  it('keeps failing pods by namespace with their alerts, and forgets them when they recover or go', () => {
    const agg = new PodAggregates();
    agg.set(pod('shop', 'web-1'));
    agg.set(pod('shop', 'web-2', { waiting: 'CrashLoopBackOff' }));
    agg.set(pod('bank', 'api-1', { waiting: 'ImagePullBackOff' }));
    expect(agg.failingIn('shop').map(p => p.metadata?.name)).toEqual(['web-2']);
    expect(agg.failingIn('other')).toEqual([]);
    expect(agg.failingAlerts()).toEqual([
      expect.objectContaining({
        type: 'image-pull',
        namespace: 'bank',
        object: 'Pod/api-1',
        reason: 'ImagePullBackOff',
      }),
      expect.objectContaining({
        type: 'crash-loop',
        namespace: 'shop',
        object: 'Pod/web-2',
        reason: 'CrashLoopBackOff',
        message: expect.stringContaining('CrashLoopBackOff'),
      }),
    ]);
    agg.set(pod('shop', 'web-2', { rv: '5' }));
    expect(agg.failingIn('shop')).toEqual([]);
    agg.remove(pod('bank', 'api-1'));
    expect(agg.failingAlerts()).toEqual([]);
  });

  it('labels each failing pod by what fails: a missing ConfigMap is a config error, not an image pull', () => {
    const agg = new PodAggregates();
    const reasons = [
      'CrashLoopBackOff',
      'ErrImagePull',
      'ImagePullBackOff',
      'InvalidImageName',
      'ErrImageNeverPull',
      'CreateContainerConfigError',
      'CreateContainerError',
      'RunContainerError',
    ];
    reasons.forEach((reason, i) =>
      agg.set(pod('shop', `p${i}-x`, { waiting: reason })),
    );
    // An init container that cannot start: its reason, not the app container's.
    const initFailing = pod('shop', 'p9-init');
    initFailing.status!.initContainerStatuses = [
      {
        name: 'migrate',
        ready: false,
        restartCount: 0,
        image: 'x',
        imageID: '',
        state: {
          waiting: {
            reason: 'CreateContainerConfigError',
            message: 'secret "db-password" not found',
          },
        },
      },
    ];
    initFailing.status!.containerStatuses![0].state = {
      waiting: { reason: 'PodInitializing' },
    };
    agg.set(initFailing);
    expect(
      agg.failingAlerts().map(a => `${a.object} ${a.type} ${a.reason}`),
    ).toEqual([
      'Pod/p0-x crash-loop CrashLoopBackOff',
      'Pod/p1-x image-pull ErrImagePull',
      'Pod/p2-x image-pull ImagePullBackOff',
      'Pod/p3-x image-pull InvalidImageName',
      'Pod/p4-x image-pull ErrImageNeverPull',
      'Pod/p5-x config-error CreateContainerConfigError',
      'Pod/p6-x container-failing CreateContainerError',
      'Pod/p7-x container-failing RunContainerError',
      'Pod/p9-init config-error CreateContainerConfigError',
    ]);
    expect(agg.failingAlerts()[8].message).toBe(
      'pod p9-init container migrate: CreateContainerConfigError (secret "db-password" not found)',
    );
  });
});
