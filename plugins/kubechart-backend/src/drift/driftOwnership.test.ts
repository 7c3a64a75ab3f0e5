import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { countingReads } from '@internal/kube-sim/testUtils';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import { DriftService, DriftServiceOptions } from './DriftService';
import { ManagedFieldsEntry } from './fieldOwners';
import { fieldOwner } from '../__testUtils__/fieldOwner';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * Who changed each drifted field comes from the live object's field ownership (managedFields), which
 * anyone who may write the object makes as large as they like: a value changed under each of hundreds
 * of field manager names, over thousands of changed values. A drift pass reads each object's
 * ownership once (linear in its size, not in changed fields times managers), and an object whose
 * ownership is larger than a pass reads is recorded with its owners not known, saying so.
 */
describe.each(databases.eachSupportedId())(
  'drift of objects with a large field ownership, on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(async () => {
      await sim?.stop();
    });

    /**
     * A drift service whose client counts the reads of each live object's managedFields (by
     * object name), a namespace, and server-side apply of ConfigMap data as a field manager.
     */
    async function setup(more: Partial<DriftServiceOptions> = {}) {
      const t = await createTestEngine({ databases, databaseId, sim });
      const drift = await DatabaseDriftStore.create({
        database: mockServices.database.mock({ getClient: async () => t.knex }),
      });
      const reads = new Map<string, () => number>();
      const service = new DriftService({
        runs: t.store,
        drift,
        clusters: t.clusters,
        client: c => {
          const client = t.engine.client(c);
          return Object.assign(Object.create(client), {
            read: async (o: any) => {
              const live: any = await client.read(o);
              const managedFields = live?.metadata?.managedFields;
              if (managedFields) {
                const counted = countingReads(managedFields);
                live.metadata.managedFields = counted.value;
                reads.set(live.metadata.name, counted.reads);
              }
              return live;
            },
          });
        },
        logger: mockServices.logger.mock(),
        ...more,
      });
      const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      const namespace = `drift-owners-${randomUUID().slice(0, 8)}`;
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      const apply = (
        manager: string,
        name: string,
        data: Record<string, string>,
        force = false,
      ) =>
        core.patchNamespacedConfigMap(
          {
            name,
            namespace,
            body: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name, namespace },
              data,
            },
            fieldManager: manager,
            ...(force ? { force: true } : {}),
          },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        );
      /** A manifests run that applied `manifest` to the namespace. */
      const run = async (manifest: string) => {
        const created = await t.store.createRun(
          {
            id: randomUUID(),
            kind: 'manifests',
            status: 'pending',
            actor: 'user:default/alice',
            target: { cluster: 'dev', namespace },
            input: {},
          },
          [],
        );
        await t.store.finishRun(created.id, 'succeeded', { manifest });
        return created;
      };
      const check = async (runId: string) =>
        (await service.checkAll()).find(d => d.runId === runId)!;
      return { core, namespace, apply, run, check, reads };
    }

    const values = (keys: string[], value: string) =>
      Object.fromEntries(keys.map(k => [k, value]));
    const configMap = (name: string, data: Record<string, string>) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data,
      });

    it('reads who changed each field once per object: twice the changed fields and field managers, about twice the reads', async () => {
      const { core, namespace, apply, run, check, reads } = await setup();
      // Every value changed with one forced apply, then one value applied again under each of
      // `managers` more field manager names (each becomes a co-owner of it).
      const sizes = {
        small: { keys: 300, managers: 100 },
        large: { keys: 600, managers: 200 },
      };
      for (const [name, size] of Object.entries(sizes)) {
        const keys = Array.from({ length: size.keys }, (_, i) => `item-${i}`);
        await apply('kubechart', name, values(keys, 'blue'));
        await apply('editor', name, values(keys, 'green'), true);
        for (let i = 0; i < size.managers; i++)
          await apply(`manager-${i}`, name, { [`item-${i}`]: 'green' });
      }
      const applied = await run(
        Object.entries(sizes)
          .map(([name, size]) =>
            configMap(
              name,
              values(
                Array.from({ length: size.keys }, (_, i) => `item-${i}`),
                'blue',
              ),
            ),
          )
          .join('\n---\n'),
      );
      const record = await check(applied.id);
      expect(record.status).toBe('drifted');
      for (const name of Object.keys(sizes)) {
        const live = await core.readNamespacedConfigMap({ name, namespace });
        // As the API server sends them (times as text), as the drift service reads them.
        const managedFields: ManagedFieldsEntry[] = JSON.parse(
          JSON.stringify(live.metadata!.managedFields),
        );
        const object = record.objects.find(o => o.name === name)!;
        expect(object.fields).toHaveLength(100);
        // Each listed field names the manager that wrote it last, as a look-up of that field says.
        expect(object.fields).toEqual(
          await Promise.all(
            object.fields.map(async f => {
              const owner = await fieldOwner(managedFields, [
                { field: 'data' },
                { field: f.path.slice('data.'.length) },
              ]);
              return {
                path: f.path,
                expected: 'blue',
                actual: 'green',
                manager: owner!.manager,
                changedAt: owner!.time,
              };
            }),
          ),
        );
      }
      expect(record.message).toBe(
        'the record does not list 700 fields of the objects it lists: a drift record lists at most 100 objects, 100 changed fields per object and 64 KiB of them',
      );
      // Linear: twice the reads (and some constant). One look-up of each changed field in every
      // manager's entry: four times.
      const small = reads.get('small')!();
      const large = reads.get('large')!();
      expect(large).toBeGreaterThan(1.5 * small);
      expect(large).toBeLessThan(2.6 * small);
    });

    it('records the owners of an object whose field ownership is larger than a pass reads as not known, says why, and never calls it in sync', async () => {
      const { apply, run, check } = await setup({
        maxOwnershipFieldsPerObject: 20,
      });
      const keys = Array.from({ length: 30 }, (_, i) => `item-${i}`);
      await apply('kubechart', 'wide', values(keys, 'blue'));
      await apply('kubechart', 'tiny', { color: 'blue' });
      const applied = await run(
        [
          configMap('wide', values(keys, 'blue')),
          configMap('tiny', { color: 'blue' }),
        ].join('\n---\n'),
      );
      // What only the run's own managers wrote is not read when nothing differs: in sync.
      expect(await check(applied.id)).toMatchObject({
        status: 'in-sync',
        objects: [],
      });
      const notRead =
        'the field ownership (metadata.managedFields) of ConfigMap/wide was not read: it holds more than 20 fields, the most a drift check reads of one object; who changed its fields and when, and which fields other field managers added to it, are not known';
      // Another manager applies every value again, unchanged: what it added cannot be told.
      await apply('editor', 'wide', values(keys, 'blue'));
      expect(await check(applied.id)).toMatchObject({
        status: 'unknown',
        objects: [],
        message: notRead,
      });
      await apply('editor', 'wide', values(keys, 'green'), true);
      await apply('editor', 'tiny', { color: 'green' }, true);
      const record = await check(applied.id);
      expect(record.status).toBe('drifted');
      expect(record.message).toBe(notRead);
      const wide = record.objects.find(o => o.name === 'wide')!;
      // The changes are listed as found, by no one named.
      expect(wide.fields).toEqual(
        keys.map(k => ({
          path: `data.${k}`,
          expected: 'blue',
          actual: 'green',
        })),
      );
      const tiny = record.objects.find(o => o.name === 'tiny')!;
      expect(tiny.fields).toEqual([
        {
          path: 'data.color',
          expected: 'blue',
          actual: 'green',
          manager: 'editor',
          changedAt: expect.any(String),
        },
      ]);
    });
  },
);
