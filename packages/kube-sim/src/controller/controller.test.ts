import { PassThrough } from 'node:stream';
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  CoreV1Event,
  Log,
  Metrics,
  PatchStrategy,
  V1Deployment,
  V1Pod,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  eventually,
  failure,
  simCluster,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';

// Generous: these talk to a server over HTTP, and CI machines are shared.
jest.setTimeout(30_000);

// The simulated controller only exists in kube-sim: these tests never run against KUBECONFIG.
describe('kube-sim controller', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  beforeAll(async () => {
    cluster = await simCluster({
      nodes: 3,
      podReadyDelayMs: 100,
      crashLoopBackoffMs: 100,
      namespaceDeletionDelayMs: 200,
      jobRunMs: 100,
    });
    core = cluster.kc.makeApiClient(CoreV1Api);
    apps = cluster.kc.makeApiClient(AppsV1Api);
  });

  afterAll(() => cluster.stop());

  async function newNamespace(prefix: string) {
    const name = uniqueName(prefix);
    await core.createNamespace({ body: { metadata: { name } } });
    return name;
  }

  const deployment = (
    name: string,
    image: string,
    replicas: number,
    cpu = '100m',
  ): V1Deployment => ({
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image,
              resources: { requests: { cpu, memory: '64Mi' } },
            },
          ],
        },
      },
    },
  });

  const podsOf = async (namespace: string, app: string) =>
    (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` }))
      .items;

  const ready = (p: V1Pod) =>
    p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True');

  it('reports nodes with capacity, allocatable and a Ready condition', async () => {
    const nodes = await core.listNode();
    expect(nodes.items).toHaveLength(3);
    for (const n of nodes.items) {
      expect(n.status?.capacity).toMatchObject({ cpu: '4', pods: '110' });
      expect(n.status?.allocatable?.cpu).toBe('3900m');
      expect(n.status?.conditions?.find(c => c.type === 'Ready')).toMatchObject(
        { status: 'True', reason: 'KubeletReady' },
      );
    }
  });

  it('runs a Deployment: ReplicaSet, scheduled pods that turn Ready, then Available status', async () => {
    const ns = await newNamespace('ctl-deploy');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 'nginx:1.25', 2),
    });

    const d = await eventually(async () => {
      const x = await apps.readNamespacedDeployment({
        name: 'web',
        namespace: ns,
      });
      return x.status?.readyReplicas === 2 && x.status?.availableReplicas === 2
        ? x
        : undefined;
    });
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
    });
    expect(d.status?.unavailableReplicas).toBeUndefined();
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe(
      '1',
    );
    const conditions = Object.fromEntries(
      (d.status?.conditions ?? []).map(c => [c.type, c]),
    );
    expect(conditions.Available).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
    });
    expect(conditions.Progressing).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
    });

    const rs = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
    expect(rs).toHaveLength(1);
    expect(rs[0].metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      controller: true,
    });
    const pods = await podsOf(ns, 'web');
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.metadata?.name).toMatch(
        new RegExp(`^${rs[0].metadata!.name}-[a-z0-9]{5}$`),
      );
      expect(p.spec?.nodeName).toMatch(/^kube-sim-node-\d$/);
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.podIP).toMatch(/^10\.244\./);
      expect(p.status?.containerStatuses?.[0]).toMatchObject({
        ready: true,
        restartCount: 0,
        started: true,
      });
    }
    const events = (
      await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: `involvedObject.name=${pods[0].metadata!.name}`,
      })
    ).items;
    expect(events.map(e => e.reason)).toEqual(
      expect.arrayContaining([
        'Scheduled',
        'Pulling',
        'Pulled',
        'Created',
        'Started',
      ]),
    );
  });

  it('reports an unavailable Deployment while its pods are not ready, as the real controller does', async () => {
    const ns = await newNamespace('ctl-unavail');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('never', 'nginx:imagepull-fail', 1),
    });
    const d = await eventually(async () => {
      const x = await apps.readNamespacedDeployment({
        name: 'never',
        namespace: ns,
      });
      const progressing = x.status?.conditions?.find(
        c => c.type === 'Progressing',
      );
      return x.status?.unavailableReplicas === 1 &&
        progressing?.reason === 'ReplicaSetUpdated'
        ? x
        : undefined;
    });
    const [rs] = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
    const conditions = Object.fromEntries(
      (d.status?.conditions ?? []).map(c => [c.type, c]),
    );
    expect(conditions.Available).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
      message: 'Deployment does not have minimum availability.',
    });
    expect(conditions.Progressing).toMatchObject({
      status: 'True',
      reason: 'ReplicaSetUpdated',
      message: `ReplicaSet "${rs.metadata!.name}" is progressing.`,
    });
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      unavailableReplicas: 1,
    });
    expect(d.status?.readyReplicas).toBeUndefined();
  });

  it('scales and rolls out a new template through a new ReplicaSet', async () => {
    const ns = await newNamespace('ctl-rollout');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('api', 'nginx:1.25', 1),
    });
    await eventually(
      async () =>
        (
          await apps.readNamespacedDeployment({ name: 'api', namespace: ns })
        ).status?.readyReplicas === 1,
    );

    await apps.replaceNamespacedDeploymentScale({
      name: 'api',
      namespace: ns,
      body: { metadata: { name: 'api', namespace: ns }, spec: { replicas: 3 } },
    });
    await eventually(
      async () => (await podsOf(ns, 'api')).filter(ready).length === 3,
    );

    const current = await apps.readNamespacedDeployment({
      name: 'api',
      namespace: ns,
    });
    current.spec!.template.spec!.containers[0].image = 'nginx:1.26';
    await apps.replaceNamespacedDeployment({
      name: 'api',
      namespace: ns,
      body: current,
    });

    const done = await eventually(async () => {
      const x = await apps.readNamespacedDeployment({
        name: 'api',
        namespace: ns,
      });
      const pods = await podsOf(ns, 'api');
      return x.status?.observedGeneration === 3 &&
        x.status?.updatedReplicas === 3 &&
        x.status?.availableReplicas === 3 &&
        x.status?.replicas === 3 &&
        pods.length === 3 &&
        pods.every(
          p => p.spec?.containers[0].image === 'nginx:1.26' && ready(p),
        )
        ? x
        : undefined;
    });
    expect(
      done.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    ).toBe('2');
    const rs = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
    expect(rs).toHaveLength(2);
    const byRevision = Object.fromEntries(
      rs.map(r => [
        r.metadata?.annotations?.['deployment.kubernetes.io/revision'],
        r.spec?.replicas,
      ]),
    );
    expect(byRevision).toEqual({ '1': 0, '2': 3 });
  });

  it('puts an image tagged crashloop into CrashLoopBackOff with a growing restartCount and Warning events', async () => {
    const ns = await newNamespace('ctl-crash');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('crash', 'example/app:crashloop', 1),
    });
    const waitingReasons = new Set<string>();
    const pod = await eventually(async () => {
      const [p] = await podsOf(ns, 'crash');
      const waiting = p?.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason) waitingReasons.add(waiting.reason);
      return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2
        ? p
        : undefined;
    });
    const status = pod.status!.containerStatuses![0];
    expect(pod.status?.phase).toBe('Running');
    expect(ready(pod)).toBeFalsy();
    expect(status.ready).toBe(false);
    expect(status.lastState?.terminated).toMatchObject({
      exitCode: 1,
      reason: 'Error',
    });

    const later = await eventually(
      async () => {
        const p = await core.readNamespacedPod({
          name: pod.metadata!.name!,
          namespace: ns,
        });
        const waiting = p.status!.containerStatuses![0].state?.waiting;
        if (waiting?.reason) waitingReasons.add(waiting.reason);
        return p.status!.containerStatuses![0].restartCount >
          status.restartCount && waitingReasons.has('CrashLoopBackOff')
          ? p
          : undefined;
      },
      15000,
      20,
    );
    expect(later.status!.containerStatuses![0].restartCount).toBeGreaterThan(
      status.restartCount,
    );
    expect([...waitingReasons]).toContain('CrashLoopBackOff');

    const warnings = (
      await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: 'type=Warning,reason=BackOff',
      })
    ).items as CoreV1Event[];
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain(
      'Back-off restarting failed container app',
    );
    expect(warnings[0].count).toBeGreaterThanOrEqual(2);
    expect(warnings[0].involvedObject.name).toBe(pod.metadata?.name);

    const previous = await core.readNamespacedPodLog({
      name: pod.metadata!.name!,
      namespace: ns,
      previous: true,
    });
    expect(previous).toContain('panic:');
  });

  it('reports ErrImagePull / ImagePullBackOff for an image tagged imagepull-fail', async () => {
    const ns = await newNamespace('ctl-pull');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('pull', 'example/app:imagepull-fail', 1),
    });
    const reasons = new Set<string>();
    await eventually(async () => {
      const [p] = await podsOf(ns, 'pull');
      const reason = p?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      if (reason) reasons.add(reason);
      return reasons.has('ErrImagePull') && reasons.has('ImagePullBackOff');
    });
    const [p] = await podsOf(ns, 'pull');
    expect(p.status?.phase).toBe('Pending');
    const failed = (
      await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: 'reason=Failed',
      })
    ).items;
    expect(failed.map(e => e.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          'Failed to pull image "example/app:imagepull-fail"',
        ),
      ]),
    );
    const err = await failure(
      core.readNamespacedPodLog({ name: p.metadata!.name!, namespace: ns }),
    );
    expect(err.httpCode ?? err.code).toBe(400);
  });

  it('serves pods/log for a running container, with tailLines', async () => {
    const ns = await newNamespace('ctl-log');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('logs', 'nginx:1.25', 1),
    });
    const [pod] = await eventually(async () => {
      const pods = await podsOf(ns, 'logs');
      return pods.length === 1 && ready(pods[0]) ? pods : undefined;
    });
    const log = await core.readNamespacedPodLog({
      name: pod.metadata!.name!,
      namespace: ns,
      container: 'app',
    });
    expect(log).toContain('starting app (image nginx:1.25)');
    const tail = await core.readNamespacedPodLog({
      name: pod.metadata!.name!,
      namespace: ns,
      tailLines: 1,
    });
    expect(tail.trim().split('\n')).toHaveLength(1);
    // limitBytes: the first bytes of what would be sent, as a real API server cuts the stream.
    const cut = await core.readNamespacedPodLog({
      name: pod.metadata!.name!,
      namespace: ns,
      limitBytes: 10,
    });
    expect(cut).toBe(log.slice(0, 10));
    const refused = await failure(
      core.readNamespacedPodLog({
        name: pod.metadata!.name!,
        namespace: ns,
        limitBytes: 0,
      }),
    );
    expect(refused.httpCode ?? refused.code).toBe(422);
  });

  it('follows the log of a running container until the client stops', async () => {
    const ns = await newNamespace('ctl-follow');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('follow', 'nginx:1.25', 1),
    });
    const [pod] = await eventually(async () => {
      const pods = await podsOf(ns, 'follow');
      return pods.length === 1 && ready(pods[0]) ? pods : undefined;
    });
    let text = '';
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const abort = await new Log(cluster.kc).log(
      ns,
      pod.metadata!.name!,
      'app',
      sink,
      { follow: true },
    );
    try {
      await eventually(
        async () =>
          (text.match(/GET \/healthz/g) ?? []).length >= 1 &&
          text.includes('listening on :8080'),
        5000,
      );
      const before = text.length;
      await eventually(async () => text.length > before, 3000);
    } finally {
      abort.abort();
    }
    expect(text).toContain('starting app (image nginx:1.25)');
  });

  it('runs a StatefulSet with ordinal pod names and a DaemonSet with one pod per node', async () => {
    const ns = await newNamespace('ctl-sts');
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: {
          serviceName: 'db',
          replicas: 3,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'db', image: 'postgres:16' }] },
          },
        },
      },
    });
    await apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: { name: 'agent' },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: {
            metadata: { labels: { app: 'agent' } },
            spec: { containers: [{ name: 'agent', image: 'agent:1' }] },
          },
        },
      },
    });
    const sts = await eventually(async () => {
      const x = await apps.readNamespacedStatefulSet({
        name: 'db',
        namespace: ns,
      });
      return x.status?.readyReplicas === 3 ? x : undefined;
    });
    expect(sts.status?.currentRevision).toBe(sts.status?.updateRevision);
    expect((await podsOf(ns, 'db')).map(p => p.metadata?.name).sort()).toEqual([
      'db-0',
      'db-1',
      'db-2',
    ]);
    const ds = await eventually(async () => {
      const x = await apps.readNamespacedDaemonSet({
        name: 'agent',
        namespace: ns,
      });
      return x.status?.numberReady === 3 ? x : undefined;
    });
    expect(ds.status).toMatchObject({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberAvailable: 3,
    });
    const nodes = (await podsOf(ns, 'agent')).map(p => p.spec?.nodeName).sort();
    expect(nodes).toEqual([
      'kube-sim-node-1',
      'kube-sim-node-2',
      'kube-sim-node-3',
    ]);
  });

  it('completes a Job', async () => {
    const ns = await newNamespace('ctl-job');
    const batch = cluster.kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'once' },
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'run', image: 'busybox:1.36' }],
            },
          },
        },
      },
    });
    const job = await eventually(async () => {
      const j = await batch.readNamespacedJob({ name: 'once', namespace: ns });
      return j.status?.succeeded === 1 ? j : undefined;
    });
    expect(job.status?.conditions?.[0]).toMatchObject({
      type: 'Complete',
      status: 'True',
    });
    expect(job.status?.completionTime).toBeInstanceOf(Date);
  });

  it('leaves a finished Job as it is: a failed one makes no pod again, and keeps its condition', async () => {
    const ns = await newNamespace('ctl-job-failed');
    const batch = cluster.kc.makeApiClient(BatchV1Api);
    // Its pod never succeeds.
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'gave-up' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'run', image: 'busybox:crashloop' }],
            },
          },
        },
      },
    });
    const podsOfJob = async () =>
      (
        await core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'job-name=gave-up',
        })
      ).items;
    await eventually(async () =>
      (await podsOfJob()).length ? true : undefined,
    );
    // Failed, as the real controller writes it past the backoff limit (written here directly).
    await batch.patchNamespacedJobStatus(
      {
        name: 'gave-up',
        namespace: ns,
        body: [
          {
            op: 'add',
            path: '/status/conditions',
            value: [
              {
                type: 'Failed',
                status: 'True',
                reason: 'BackoffLimitExceeded',
                message: 'Job has reached the specified backoff limit',
              },
            ],
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await core.deleteCollectionNamespacedPod({
      namespace: ns,
      labelSelector: 'job-name=gave-up',
      gracePeriodSeconds: 0,
    });
    await eventually(async () =>
      (await podsOfJob()).length === 0 ? true : undefined,
    );
    // Past the pod's run time and a reconcile of the Job: nothing made again, nothing rewritten.
    await new Promise(r => setTimeout(r, 500));
    expect(await podsOfJob()).toEqual([]);
    const job = await batch.readNamespacedJob({
      name: 'gave-up',
      namespace: ns,
    });
    expect(job.status?.conditions).toEqual([
      expect.objectContaining({ type: 'Failed', status: 'True' }),
    ]);
  });

  it('garbage-collects ReplicaSets and pods when their Deployment is deleted', async () => {
    const ns = await newNamespace('ctl-gc');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('gc', 'nginx:1.25', 2),
    });
    await eventually(async () => (await podsOf(ns, 'gc')).length === 2);
    await apps.deleteNamespacedDeployment({ name: 'gc', namespace: ns });
    const leftovers = await eventually(async () => {
      const rs = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
      const pods = await podsOf(ns, 'gc');
      return rs.length + pods.length === 0 ? { rs, pods } : undefined;
    });
    expect(leftovers).toEqual({ rs: [], pods: [] });
  });

  it('orphans dependents when asked to', async () => {
    const ns = await newNamespace('ctl-orphan');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('orph', 'nginx:1.25', 1),
    });
    await eventually(
      async () =>
        (
          await apps.listNamespacedReplicaSet({ namespace: ns })
        ).items.length === 1,
    );
    await apps.deleteNamespacedDeployment({
      name: 'orph',
      namespace: ns,
      propagationPolicy: 'Orphan',
    });
    await new Promise(r => setTimeout(r, 200));
    const rs = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
    expect(rs).toHaveLength(1);
    expect(rs[0].metadata?.ownerReferences).toBeUndefined();
  });

  it('deletes a namespace: Terminating, its contents cascade, then it is gone', async () => {
    const ns = await newNamespace('ctl-nsdel');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('doomed', 'nginx:1.25', 1),
    });
    await eventually(async () => (await podsOf(ns, 'doomed')).length === 1);
    await core.deleteNamespace({ name: ns });
    const terminating = await core.readNamespace({ name: ns });
    expect(terminating.status?.phase).toBe('Terminating');
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    const refused = await failure(
      core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'late' } },
      }),
    );
    expect(refused).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(refused.message).toContain('because it is being terminated');
    await eventually(async () => (await podsOf(ns, 'doomed')).length === 0);
    const gone = await eventually(async () => {
      const err = await failure(core.readNamespace({ name: ns }));
      return err.code === 404 ? err : undefined;
    }, 5000);
    expect(gone.reason).toBe('NotFound');
  });

  it('tracks ResourceQuota usage and rejects what would exceed it', async () => {
    const ns = await newNamespace('ctl-quota');
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: 'q' },
        spec: { hard: { pods: '2', 'requests.cpu': '1' } },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('q', 'nginx:1.25', 2, '400m'),
    });
    const quota = await eventually(async () => {
      const q = await core.readNamespacedResourceQuota({
        name: 'q',
        namespace: ns,
      });
      return q.status?.used?.pods === '2' ? q : undefined;
    });
    expect(quota.status).toEqual({
      hard: { pods: '2', 'requests.cpu': '1' },
      used: { pods: '2', 'requests.cpu': '800m' },
    });

    const err = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'extra' },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'nginx',
                resources: { requests: { cpu: '100m' } },
              },
            ],
          },
        },
      }),
    );
    expect(err).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      details: { name: 'extra', kind: 'pods' },
    });
    expect(err.message).toBe(
      'pods "extra" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
    );
    const noRequest = await failure(
      core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'bare' },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      }),
    );
    expect(noRequest.message).toContain('must specify requests.cpu');

    // Scaling past the quota leaves the ReplicaSet short, with a FailedCreate event.
    await apps.patchNamespacedDeployment({
      name: 'q',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    const failedCreate = await eventually(async () => {
      const ev = (
        await core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: 'reason=FailedCreate',
        })
      ).items;
      return ev.length ? ev : undefined;
    });
    expect(failedCreate[0].message).toContain('exceeded quota: q');
    expect((await podsOf(ns, 'q')).length).toBe(2);
  });

  it('marks a rollout that does not finish in progressDeadlineSeconds as ProgressDeadlineExceeded', async () => {
    const ns = await newNamespace('ctl-deadline');
    const body = deployment('slow', 'example/app:imagepull-fail', 1);
    body.spec!.progressDeadlineSeconds = 1;
    await apps.createNamespacedDeployment({ namespace: ns, body });
    const d = await eventually(async () => {
      const x = await apps.readNamespacedDeployment({
        name: 'slow',
        namespace: ns,
      });
      const progressing = x.status?.conditions?.find(
        c => c.type === 'Progressing',
      );
      return progressing?.status === 'False' ? progressing : undefined;
    }, 5000);
    expect(d).toMatchObject({
      reason: 'ProgressDeadlineExceeded',
      message: expect.stringContaining('has timed out progressing'),
    });
  });

  it('keeps Service Endpoints and HPA status in step with the pods', async () => {
    const ns = await newNamespace('ctl-svc');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('svc', 'nginx:1.25', 2, '200m'),
    });
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'svc' },
        spec: {
          selector: { app: 'svc' },
          ports: [{ name: 'http', port: 80, targetPort: 8080 as any }],
        },
      },
    });
    const ep = await eventually(async () => {
      const e = await core.readNamespacedEndpoints({
        name: 'svc',
        namespace: ns,
      });
      return e.subsets?.[0]?.addresses?.length === 2 ? e : undefined;
    });
    const pods = await podsOf(ns, 'svc');
    expect(ep.subsets![0].addresses!.map(a => a.ip).sort()).toEqual(
      pods.map(p => p.status!.podIP).sort(),
    );
    expect(ep.subsets![0].ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
    ]);

    const autoscaling = cluster.kc.makeApiClient(AutoscalingV2Api);
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: ns,
      body: {
        metadata: { name: 'svc' },
        spec: {
          scaleTargetRef: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'svc',
          },
          minReplicas: 2,
          maxReplicas: 4,
          metrics: [
            {
              type: 'Resource',
              resource: {
                name: 'cpu',
                target: { type: 'Utilization', averageUtilization: 70 },
              },
            },
          ],
        },
      },
    });
    const hpa = await eventually(async () => {
      const h = await autoscaling.readNamespacedHorizontalPodAutoscaler({
        name: 'svc',
        namespace: ns,
      });
      return h.status?.currentMetrics?.length ? h : undefined;
    });
    expect(hpa.status).toMatchObject({
      currentReplicas: 2,
      desiredReplicas: 2,
    });
    const utilization =
      hpa.status!.currentMetrics![0].resource!.current.averageUtilization!;
    expect(utilization).toBeGreaterThanOrEqual(30);
    expect(utilization).toBeLessThanOrEqual(80);
  });

  it('serves metrics.k8s.io pod and node metrics derived from requests', async () => {
    const ns = await newNamespace('ctl-metrics');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('m', 'nginx:1.25', 2, '200m'),
    });
    await eventually(
      async () => (await podsOf(ns, 'm')).filter(ready).length === 2,
    );
    const metrics = new Metrics(cluster.kc);
    const podMetrics = await metrics.getPodMetrics(ns);
    expect(podMetrics.items).toHaveLength(2);
    for (const pm of podMetrics.items) {
      const cpu = pm.containers[0].usage.cpu;
      expect(cpu).toMatch(/^\d+n$/);
      const cores = Number(cpu.slice(0, -1)) / 1e9;
      expect(cores).toBeGreaterThan(0.2 * 0.29);
      expect(cores).toBeLessThan(0.2 * 0.81);
      expect(pm.containers[0].usage.memory).toMatch(/^\d+Ki$/);
    }
    const nodeMetrics = await metrics.getNodeMetrics();
    expect(nodeMetrics.items.map(n => n.metadata.name).sort()).toEqual([
      'kube-sim-node-1',
      'kube-sim-node-2',
      'kube-sim-node-3',
    ]);
  });
});
