import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
const namespace = 'tenant-marks';

/**
 * An upgrade or rollback asks the watch of the release's records whether they changed by writing a
 * marker Secret (`kubechart-records-<random>`, labelled `name=<release>,owner=kubechart`) and
 * deleting it once seen. A backend that stopped in between left its marker behind: the next check of
 * the release's records deletes the markers older than the wait for one, and says so; a marker of a
 * check going on at the same time, and any other Secret, stays.
 */
describe('markers left behind by an earlier check of the release records', () => {
  let sim: KubeSim;
  let engine: RunEngine;
  let t: Awaited<ReturnType<typeof createTestEngine>>;
  let core: CoreV1Api;

  const run = async (request: any) => {
    const r = await engine.submit(request, ALICE, plainCaller(ALICE));
    await engine.waitFor(r.id);
    return (await t.store.getRun(r.id))!;
  };
  const chart = (tag: string) =>
    run({
      kind: 'chart',
      cluster: 'dev',
      namespace,
      release: {
        name: 'web',
        chart: 'webapp',
        values: { replicas: 1, pdb: false, image: { tag } },
      },
    });
  const secret = (
    name: string,
    labels: Record<string, string>,
    data?: Record<string, string>,
  ): V1Secret => ({
    metadata: { name, labels },
    type: 'Opaque',
    ...(data ? { data } : {}),
  });
  /** Creates `body` as the cluster sees it created `ageMs` ago (its `creationTimestamp`). */
  const createdAgo = async (ageMs: number, body: V1Secret) => {
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
      now: Date.now() - ageMs,
    });
    try {
      return await core.createNamespacedSecret({ namespace, body });
    } finally {
      jest.useRealTimers();
    }
  };
  const names = async (labelSelector: string) =>
    (await core.listNamespacedSecret({ namespace, labelSelector })).items
      .map(s => s.metadata!.name!)
      .sort();

  beforeAll(async () => {
    sim = await startSim();
    t = await createTestEngine({ databases, databaseId: 'SQLITE_3', sim });
    ({ engine } = t);
    core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const tenant = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'marks',
      releases: [],
    });
    if (tenant.status !== 'succeeded')
      throw new Error(`tenant failed: ${tenant.failureReason}`);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('deletes the stale markers of the release when its records are checked again, and only those', async () => {
    expect(await chart('1.0.0')).toMatchObject({ status: 'succeeded' });
    const marker = { name: 'web', owner: 'kubechart' };
    // Left behind by a backend that stopped while it waited for its marker, two minutes ago.
    const stale = await createdAgo(
      120_000,
      secret('kubechart-records-0123456789abcdef', marker),
    );
    // Not a marker the engine writes, though as old: named otherwise, holding data, another release's.
    await createdAgo(120_000, secret('kubechart-records-notes', marker));
    await createdAgo(
      120_000,
      secret('kubechart-records-fedcba9876543210', marker, { note: 'eA==' }),
    );
    await createdAgo(
      120_000,
      secret('kubechart-records-00000000000000aa', {
        name: 'api',
        owner: 'kubechart',
      }),
    );
    // The marker of a check of the same release going on now, on another backend.
    await core.createNamespacedSecret({
      namespace,
      body: secret('kubechart-records-aaaaaaaaaaaaaaaa', marker),
    });

    const upgraded = await chart('1.1.0');

    expect(upgraded).toMatchObject({ status: 'succeeded', helmRevision: 2 });
    expect(await names('owner=kubechart')).toEqual([
      'kubechart-records-00000000000000aa',
      'kubechart-records-aaaaaaaaaaaaaaaa',
      'kubechart-records-fedcba9876543210',
      'kubechart-records-notes',
    ]);
    const logged = (await t.store.getEvents(upgraded.id))
      .filter(e => e.type === 'log')
      .map(e => e.message)
      .filter(m => m.includes('kubechart-records-'));
    expect(logged).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\[web\\] deleted the marker Secret kubechart-records-0123456789abcdef in ${namespace}, created at ${stale.metadata!.creationTimestamp!.toISOString()} by an earlier check of release web's records that did not delete it \\(it is more than 30s older than this check's marker\\)$`,
        ),
      ),
    ]);
  });
});
