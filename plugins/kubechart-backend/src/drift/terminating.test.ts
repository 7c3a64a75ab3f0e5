import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import { KubeClient } from '../lib/KubeClient';
import { DriftService } from './DriftService';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/** `metadata.deletionTimestamp` of the object being deleted. */
const DELETED_AT = '2026-12-02T15:51:52Z';

/**
 * An object deleted from the cluster but held by a finalizer (a PVC a pod still mounts, any object
 * with a controller's finalizer) is what `kubectl delete` leaves: the API server still answers it,
 * with `metadata.deletionTimestamp` set, until its finalizers are removed, and then it is gone
 * (../shared/reference/kube-api/delete/07-configmap-with-finalizer-get-right-after.json). kube-sim
 * has no finalizers, so the API server's answer is reproduced by adding those fields to what the
 * drift service reads.
 */
describe('drift of an object being deleted', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('reports an object being deleted (Terminating, held by a finalizer) as drifted, saying when and by what it is held, then missing once it is gone', async () => {
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
    });
    const drift = await DatabaseDriftStore.create({
      database: mockServices.database.mock({ getClient: async () => t.knex }),
    });
    let terminating: { name: string; finalizers: string[] } | undefined;
    /** The engine's client, but `read` answers as the API server does after a delete held by a finalizer. */
    const deleting = (client: KubeClient): KubeClient =>
      new Proxy(client, {
        get(target, prop, receiver) {
          if (prop === 'read') {
            return async (obj: any) => {
              const live: any = await target.read(obj);
              const held = terminating;
              if (live && held && live.metadata?.name === held.name) {
                live.metadata = {
                  ...live.metadata,
                  deletionTimestamp: DELETED_AT,
                  deletionGracePeriodSeconds: 0,
                  finalizers: held.finalizers,
                };
              }
              return live;
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    const service = new DriftService({
      runs: t.store,
      drift,
      clusters: t.clusters,
      client: c => deleting(t.engine.client(c)),
      logger: mockServices.logger.mock(),
    });
    const submit = async (request: any) => {
      const r = await t.engine.submit(request, 'user:default/alice');
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    expect(
      (
        await submit({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'driftdel',
          releases: [],
        })
      ).status,
    ).toBe('succeeded');
    const applied = await submit({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-driftdel',
      manifests: [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: settings }',
        'data: { color: blue }',
      ].join('\n'),
    });
    expect(applied.status).toBe('succeeded');
    const recordOf = async () =>
      (await service.checkAll()).find(d => d.runId === applied.id)!;
    expect((await recordOf()).status).toBe('in-sync');

    // `kubectl delete configmap settings`: the API server marks it for deletion and keeps it until
    // its finalizer is removed.
    terminating = { name: 'settings', finalizers: ['example.com/hold'] };
    const record = await recordOf();
    expect({
      status: record.status,
      objects: record.objects,
      message: record.message,
    }).toEqual({
      status: 'drifted',
      objects: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: 'tenant-driftdel',
          name: 'settings',
          state: 'deleting',
          fields: [],
          deletion: {
            timestamp: DELETED_AT,
            finalizers: ['example.com/hold'],
          },
        },
      ],
      message: `ConfigMap/settings is being deleted (marked for deletion at ${DELETED_AT}, held by finalizer example.com/hold): it is gone once its finalizers are removed`,
    });
    // Drifted since it was marked, not since the run.
    const since = record.since;

    // In its grace period, with no finalizer (a pod being deleted gracefully): being deleted too.
    terminating = { name: 'settings', finalizers: [] };
    const graceful = await recordOf();
    expect({
      status: graceful.status,
      objects: graceful.objects,
      message: graceful.message,
      since: graceful.since,
    }).toEqual({
      status: 'drifted',
      objects: [
        expect.objectContaining({
          name: 'settings',
          state: 'deleting',
          deletion: { timestamp: DELETED_AT, finalizers: [] },
        }),
      ],
      message: `ConfigMap/settings is being deleted (marked for deletion at ${DELETED_AT}): it is gone once its grace period ends`,
      since,
    });

    // The finalizer removed, the object is gone.
    terminating = undefined;
    await t.clusters
      .kubeConfig('dev')
      .makeApiClient(CoreV1Api)
      .deleteNamespacedConfigMap({
        name: 'settings',
        namespace: 'tenant-driftdel',
      });
    const gone = await recordOf();
    expect({ status: gone.status, objects: gone.objects }).toEqual({
      status: 'drifted',
      objects: [
        expect.objectContaining({
          kind: 'ConfigMap',
          name: 'settings',
          state: 'missing',
        }),
      ],
    });
  });
});
