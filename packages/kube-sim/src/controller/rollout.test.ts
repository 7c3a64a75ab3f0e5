import {
  AppsV1Api,
  CoreV1Api,
  V1Deployment,
  Watch,
} from '@kubernetes/client-node';
import { eventually, simCluster, TestCluster } from '../__testUtils__/cluster';

jest.setTimeout(60_000);

/** What `kubectl rollout status` prints for a Deployment (its DeploymentStatusViewer). */
function rolloutStatus(d: V1Deployment): string {
  const name = d.metadata!.name;
  const s = d.status ?? {};
  if ((d.metadata!.generation ?? 0) > (s.observedGeneration ?? 0))
    return 'Waiting for deployment spec update to be observed...';
  const progressing = s.conditions?.find(c => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return `deployment "${name}" exceeded its progress deadline`;
  const desired = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  if (updated < desired)
    return `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`;
  if ((s.replicas ?? 0) > updated)
    return `Waiting for deployment "${name}" rollout to finish: ${
      (s.replicas ?? 0) - updated
    } old replicas are pending termination...`;
  if ((s.availableReplicas ?? 0) < updated)
    return `Waiting for deployment "${name}" rollout to finish: ${
      s.availableReplicas ?? 0
    } of ${updated} updated replicas are available...`;
  return `deployment "${name}" successfully rolled out`;
}

/** One Deployment state as ../shared/reference/kube-api/rollout/08-rollout-watch-summary.json lists it. */
function summary(d: V1Deployment): string {
  const s = d.status ?? {};
  const counts = [
    `gen ${d.metadata!.generation}`,
    `observed ${s.observedGeneration}`,
    `replicas ${s.replicas ?? '-'}`,
    `updated ${s.updatedReplicas ?? '-'}`,
    `ready ${s.readyReplicas ?? '-'}`,
    `available ${s.availableReplicas ?? '-'}`,
    `unavailable ${s.unavailableReplicas ?? '-'}`,
  ].join(', ');
  const conditions = (s.conditions ?? [])
    .map(c => `${c.type}=${c.status} ${c.reason}`)
    .join(', ');
  return `${counts}; ${conditions}; revision ${
    d.metadata!.annotations?.['deployment.kubernetes.io/revision']
  }`;
}

// kube-sim only: a rollout needs pods that become Ready (a kubelet); the cluster the reference was
// recorded on had a fake one. The test speaks only through client-node, so it runs unchanged against a
// cluster whose nodes run nginx. Expectations: ../shared/reference/kube-api/rollout/08-rollout-watch-summary.json.
describe('Deployment rolling update, as the real deployment controller does it', () => {
  let cluster: TestCluster;
  let apps: AppsV1Api;
  const ns = 'rollout';

  beforeAll(async () => {
    cluster = await simCluster({ podReadyDelayMs: 200 });
    apps = cluster.kc.makeApiClient(AppsV1Api);
    await cluster.kc
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: ns } } });
  });

  afterAll(() => cluster.stop());

  it('surges by one, keeps both replicas available, and goes through the recorded states in order', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
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
    const done = (d: V1Deployment) =>
      d.status?.conditions?.some(c => c.reason === 'NewReplicaSetAvailable') &&
      d.status.updatedReplicas === 2 &&
      d.status.replicas === 2 &&
      d.status.availableReplicas === 2 &&
      d.status.observedGeneration === d.metadata?.generation;
    const before = await eventually(async () => {
      const d = await apps.readNamespacedDeployment({
        name: 'web',
        namespace: ns,
      });
      return done(d) ? d : undefined;
    });
    // A new Deployment ends with Available first, then Progressing (each condition moves last when it changes).
    expect(before.status!.conditions!.map(c => c.type)).toEqual([
      'Available',
      'Progressing',
    ]);

    const deployments: V1Deployment[] = [];
    const replicaSets: any[] = [];
    const watch = new Watch(cluster.kc);
    const rv = before.metadata!.resourceVersion;
    const watches = await Promise.all([
      watch.watch(
        `/apis/apps/v1/namespaces/${ns}/deployments`,
        { resourceVersion: rv },
        (_type, obj) => deployments.push(obj),
        () => {},
      ),
      watch.watch(
        `/apis/apps/v1/namespaces/${ns}/replicasets`,
        { resourceVersion: rv },
        (type, obj) => replicaSets.push({ type, obj }),
        () => {},
      ),
    ]);
    try {
      // The image update of the recording (client-node sends a JSON patch).
      await apps.patchNamespacedDeployment({
        name: 'web',
        namespace: ns,
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: 'nginx:1.26',
          },
        ],
      });
      await eventually(async () => {
        const last = deployments[deployments.length - 1];
        return last && last.metadata?.generation === 2 && done(last);
      }, 30_000);
    } finally {
      watches.forEach(w => w.abort());
    }

    // The new ReplicaSet starts at the surge allowance: 25% of 2, rounded up.
    const added = replicaSets.find(e => e.type === 'ADDED');
    expect(added.obj.spec.replicas).toBe(1);
    expect(added.obj.metadata.annotations).toEqual({
      'deployment.kubernetes.io/desired-replicas': '2',
      'deployment.kubernetes.io/max-replicas': '3',
      'deployment.kubernetes.io/revision': '2',
    });

    // Never more than 3 pods (2 + maxSurge), never fewer than 2 available (maxUnavailable 25% of 2 is 0).
    for (const d of deployments) {
      expect(d.status?.replicas ?? 0).toBeLessThanOrEqual(3);
      expect(d.status?.availableReplicas ?? 0).toBeGreaterThanOrEqual(2);
      expect(d.status?.conditions?.[0]).toMatchObject({
        type: 'Available',
        status: 'True',
        reason: 'MinimumReplicasAvailable',
      });
    }

    const states = deployments
      .map(summary)
      .filter((s, i, all) => i === 0 || all[i - 1] !== s);
    const progressing = (reason: string) =>
      `Available=True MinimumReplicasAvailable, Progressing=True ${reason}`;
    expect(states).toEqual([
      `gen 2, observed 1, replicas 2, updated 2, ready 2, available 2, unavailable -; ${progressing(
        'NewReplicaSetAvailable',
      )}; revision 1`,
      `gen 2, observed 1, replicas 2, updated 2, ready 2, available 2, unavailable -; ${progressing(
        'NewReplicaSetCreated',
      )}; revision 2`,
      `gen 2, observed 2, replicas 2, updated -, ready 2, available 2, unavailable 1; ${progressing(
        'NewReplicaSetCreated',
      )}; revision 2`,
      `gen 2, observed 2, replicas 3, updated 1, ready 2, available 2, unavailable 1; ${progressing(
        'ReplicaSetUpdated',
      )}; revision 2`,
      `gen 2, observed 2, replicas 3, updated 1, ready 3, available 3, unavailable -; ${progressing(
        'ReplicaSetUpdated',
      )}; revision 2`,
      `gen 2, observed 2, replicas 2, updated 1, ready 2, available 2, unavailable 1; ${progressing(
        'ReplicaSetUpdated',
      )}; revision 2`,
      `gen 2, observed 2, replicas 3, updated 2, ready 2, available 2, unavailable 1; ${progressing(
        'ReplicaSetUpdated',
      )}; revision 2`,
      `gen 2, observed 2, replicas 3, updated 2, ready 3, available 3, unavailable -; ${progressing(
        'ReplicaSetUpdated',
      )}; revision 2`,
      `gen 2, observed 2, replicas 2, updated 2, ready 2, available 2, unavailable -; ${progressing(
        'NewReplicaSetAvailable',
      )}; revision 2`,
    ]);

    // What a `kubectl rollout status` watcher prints along the way.
    const printed = deployments
      .map(rolloutStatus)
      .filter((s, i, all) => i === 0 || all[i - 1] !== s);
    expect(printed).toEqual([
      'Waiting for deployment spec update to be observed...',
      'Waiting for deployment "web" rollout to finish: 0 out of 2 new replicas have been updated...',
      'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...',
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
      'deployment "web" successfully rolled out',
    ]);
  });

  it('with maxSurge 0 and maxUnavailable 1, replaces pods one at a time without ever running more than the replicas', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'tight' },
        spec: {
          replicas: 3,
          strategy: {
            type: 'RollingUpdate',
            rollingUpdate: { maxSurge: 0, maxUnavailable: 1 },
          },
          selector: { matchLabels: { app: 'tight' } },
          template: {
            metadata: { labels: { app: 'tight' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
          },
        },
      },
    });
    const done = (d?: V1Deployment) =>
      !!d &&
      d.metadata?.generation === d.status?.observedGeneration &&
      d.status?.conditions?.some(c => c.reason === 'NewReplicaSetAvailable') &&
      d.status?.updatedReplicas === 3 &&
      d.status?.replicas === 3 &&
      d.status?.availableReplicas === 3;
    const before = await eventually(async () => {
      const d = await apps.readNamespacedDeployment({
        name: 'tight',
        namespace: ns,
      });
      return done(d) ? d : undefined;
    });
    const seen: V1Deployment[] = [];
    const replicaSets: any[] = [];
    const watch = new Watch(cluster.kc);
    const rv = before.metadata!.resourceVersion;
    const watches = await Promise.all([
      watch.watch(
        `/apis/apps/v1/namespaces/${ns}/deployments`,
        { resourceVersion: rv, fieldSelector: 'metadata.name=tight' },
        (_type, obj) => seen.push(obj),
        () => {},
      ),
      watch.watch(
        `/apis/apps/v1/namespaces/${ns}/replicasets`,
        { resourceVersion: rv, labelSelector: 'app=tight' },
        (type, obj) => replicaSets.push({ type, obj }),
        () => {},
      ),
    ]);
    try {
      await apps.patchNamespacedDeployment({
        name: 'tight',
        namespace: ns,
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: 'nginx:1.26',
          },
        ],
      });
      await eventually(
        async () =>
          seen.length > 0 &&
          seen[seen.length - 1].metadata?.generation === 2 &&
          done(seen[seen.length - 1]),
        30_000,
      );
    } finally {
      watches.forEach(w => w.abort());
    }
    // No surge: the new ReplicaSet starts empty and the total never exceeds 3.
    expect(replicaSets.find(e => e.type === 'ADDED').obj.spec.replicas).toBe(0);
    for (const { obj } of replicaSets) {
      expect(
        obj.metadata.annotations['deployment.kubernetes.io/max-replicas'],
      ).toBe('3');
    }
    for (const d of seen) {
      expect(d.status?.replicas ?? 0).toBeLessThanOrEqual(3);
      expect(d.status?.availableReplicas ?? 0).toBeGreaterThanOrEqual(2);
    }
    // One old pod goes before each new one comes: 1, then 2, then 3 updated.
    const updated = seen
      .map(d => d.status?.updatedReplicas ?? 0)
      .filter((n, i, all) => i === 0 || all[i - 1] !== n);
    expect(updated).toEqual([3, 0, 1, 2, 3]);
  });
});
