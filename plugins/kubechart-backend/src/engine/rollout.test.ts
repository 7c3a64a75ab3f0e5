import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, V1Pod, Watch } from '@kubernetes/client-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const isReady = (p: V1Pod) =>
  p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') ??
  false;
const imageOf = (p: V1Pod) => p.spec?.containers?.[0]?.image ?? '';

describe.each(databases.eachSupportedId())('rollout wait on %p', databaseId => {
  let sim: KubeSim;
  beforeAll(async () => {
    // Pods take 3 s to become Ready, longer than the engine's poll interval, so finishing early shows.
    sim = await startSim({ podReadyDelayMs: 3000 });
  });
  afterAll(() => sim.stop());

  it('finishes a Deployment upgrade only after the last new pod is Ready and no old pod is left', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const chart = (tag: string) => ({
      kind: 'tenant' as const,
      cluster: 'dev',
      tenant: 'rollout',
      releases: [
        {
          name: 'shop',
          chart: 'webapp',
          values: { replicas: 2, image: { tag } },
        },
      ],
    });
    const first = await engine.submit(chart('1.0.0'), 'user:default/alice');
    await engine.waitFor(first.id);
    expect((await store.getRun(first.id))!.status).toBe('succeeded');

    // Watch the pods (millisecond clock of this process) while the upgrade runs.
    const newReadyAt = new Map<string, number>();
    const oldGoneAt = new Map<string, number>();
    const watch = await new Watch(clusters.kubeConfig('dev')).watch(
      '/api/v1/namespaces/tenant-rollout/pods',
      {},
      (type: string, pod: V1Pod) => {
        const name = pod.metadata!.name!;
        if (imageOf(pod).endsWith(':1.1.0')) {
          if (isReady(pod) && !newReadyAt.has(name))
            newReadyAt.set(name, Date.now());
        } else if (type === 'DELETED' || pod.metadata?.deletionTimestamp) {
          if (!oldGoneAt.has(name) || type === 'DELETED')
            oldGoneAt.set(name, Date.now());
        }
      },
      () => undefined,
    );
    try {
      const upgrade = await engine.submit(chart('1.1.0'), 'user:default/alice');
      await engine.waitFor(upgrade.id);
      const done = (await store.getRun(upgrade.id))!;
      expect({ status: done.status, reason: done.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      const finishedAt = Date.parse(done.finishedAt!);

      expect(newReadyAt.size).toBe(2);
      expect(oldGoneAt.size).toBe(2);
      // Finishing a few ms after the watch reported the event is expected; before it, not.
      const tolerance = 100;
      expect(finishedAt).toBeGreaterThanOrEqual(
        Math.max(...newReadyAt.values()) - tolerance,
      );
      expect(finishedAt).toBeGreaterThanOrEqual(
        Math.max(...oldGoneAt.values()) - tolerance,
      );

      const d = await clusters
        .kubeConfig('dev')
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({
          name: 'shop',
          namespace: 'tenant-rollout',
        });
      expect(d.status).toMatchObject({
        replicas: 2,
        updatedReplicas: 2,
        availableReplicas: 2,
      });
      const waiting = (await store.getEvents(upgrade.id))
        .filter(e => e.step === 'wait' && e.type === 'log')
        .map(e => e.message);
      expect(waiting).toContainEqual(
        expect.stringMatching(/Deployment shop \d\/2 \(waiting for /),
      );
    } finally {
      watch.abort();
    }
  });
  // Checks the StatefulSet rule against the status a controller really writes (revisions, observedGeneration):
  // the run neither hangs nor finishes with an old replica left.
  it('finishes a StatefulSet upgrade only when every replica runs the new revision and is Ready', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const tenant = (tag: string) => ({
      kind: 'tenant' as const,
      cluster: 'dev',
      tenant: 'ordered',
      releases: [
        { name: 'db', chart: 'statefulapp', values: { image: { tag } } },
      ],
    });
    const first = await engine.submit(tenant('1.0.0'), 'user:default/alice');
    await engine.waitFor(first.id);
    expect((await store.getRun(first.id))!.status).toBe('succeeded');

    const newReadyAt = new Map<string, number>();
    const watch = await new Watch(clusters.kubeConfig('dev')).watch(
      '/api/v1/namespaces/tenant-ordered/pods',
      {},
      (_type: string, pod: V1Pod) => {
        const name = pod.metadata!.name!;
        if (
          imageOf(pod).endsWith(':1.1.0') &&
          isReady(pod) &&
          !newReadyAt.has(name)
        ) {
          newReadyAt.set(name, Date.now());
        }
      },
      () => undefined,
    );
    try {
      const upgrade = await engine.submit(
        tenant('1.1.0'),
        'user:default/alice',
      );
      await engine.waitFor(upgrade.id);
      const done = (await store.getRun(upgrade.id))!;
      expect({ status: done.status, reason: done.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // Replicas are replaced one at a time (highest ordinal first): both must be new and Ready.
      expect([...newReadyAt.keys()].sort()).toEqual(['db-0', 'db-1']);
      expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(
        Math.max(...newReadyAt.values()) - 100,
      );
      const sts = await clusters
        .kubeConfig('dev')
        .makeApiClient(AppsV1Api)
        .readNamespacedStatefulSet({ name: 'db', namespace: 'tenant-ordered' });
      expect(sts.status?.currentRevision).toBe(sts.status?.updateRevision);
      expect(sts.status).toMatchObject({
        replicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
      });
      const waiting = (await store.getEvents(upgrade.id))
        .filter(e => e.step === 'wait' && e.type === 'log')
        .map(e => e.message);
      expect(waiting).toContainEqual(
        expect.stringMatching(/StatefulSet db \d\/2 \(waiting for /),
      );
    } finally {
      watch.abort();
    }
  });
});
