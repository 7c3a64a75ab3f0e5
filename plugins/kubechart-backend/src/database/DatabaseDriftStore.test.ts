import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import type { RunKind } from '@kubechart/plugin-kubechart-common';
import { DatabaseDriftStore } from './DatabaseDriftStore';
import { DatabaseRunStore } from './DatabaseRunStore';
import { DriftRecord } from './DriftStore';
import type { RunPatch } from './RunStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'DatabaseDriftStore on %p',
  databaseId => {
    async function createStores() {
      const knex = await databases.init(databaseId);
      const database = mockServices.database.mock({
        getClient: async () => knex,
      });
      const runs = await DatabaseRunStore.create({ database });
      const drift = await DatabaseDriftStore.create({ database });
      let clock = 1_000;
      /**
       * A finished run (`pending`: one not started yet) created `clock` ms after the epoch, one ms
       * after the previous one, its end recorded with `patch`.
       */
      const finished = async (
        kind: RunKind,
        target: { namespace: string; release?: string },
        status: 'succeeded' | 'failed' | 'pending' = 'succeeded',
        action?: string,
        patch: RunPatch = {},
      ) => {
        const id = randomUUID();
        await runs.createRun(
          {
            id,
            kind,
            status: 'pending',
            actor: 'user:default/alice',
            ...(action ? { action } : {}),
            target: { cluster: 'dev', ...target },
            input: {},
          },
          [],
        );
        if (status !== 'pending') await runs.finishRun(id, status, patch);
        await knex('kubechart_runs')
          .where({ id })
          .update({ created_at: (clock += 1) });
        return id;
      };
      return { knex, runs, drift, finished };
    }

    const record = (
      runId: string,
      over: Partial<DriftRecord> = {},
    ): DriftRecord => ({
      runId,
      target: { cluster: 'dev', namespace: 'shop', release: 'web' },
      entityRef: 'component:default/shop',
      actor: 'user:default/alice',
      status: 'drifted',
      since: '2026-12-03T09:00:00.000Z',
      checkedAt: '2026-12-03T09:05:00.000Z',
      objects: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: 'shop',
          name: 'web',
          state: 'changed',
          fields: [
            {
              path: 'spec.replicas',
              expected: 2,
              actual: 5,
              manager: 'kubectl',
            },
          ],
        },
      ],
      ...over,
    });

    it('finds the latest succeeded run per release, per tenant namespace and per manifests namespace', async () => {
      const { drift, finished } = await createStores();
      await finished('chart', { namespace: 'shop', release: 'web' });
      const rollback = await finished('rollback', {
        namespace: 'shop',
        release: 'web',
      });
      await finished('chart', { namespace: 'shop', release: 'web' }, 'failed');
      const api = await finished('chart', {
        namespace: 'shop',
        release: 'api',
      });
      await finished('tenant', { namespace: 'tenant-a' });
      const tenantDelete = await finished('tenant-delete', {
        namespace: 'tenant-a',
      });
      const manifests = await finished('manifests', { namespace: 'shop' });
      await finished('custom', { namespace: 'shop' });
      const latest = await drift.latestAppliedRuns();
      expect(latest.map(r => r.id).sort()).toEqual(
        [rollback, api, tenantDelete, manifests].sort(),
      );
      expect(latest.find(r => r.id === rollback)).toMatchObject({
        kind: 'rollback',
        cluster: 'dev',
        namespace: 'shop',
        release: 'web',
      });
    });

    it('takes as latest the run that started last, not the one requested last (approved runs start in any order)', async () => {
      const { knex, drift, finished } = await createStores();
      // Requested first, approved and started last: what it applied is what the target holds.
      const requestedFirst = await finished('manifests', { namespace: 'shop' });
      const requestedLast = await finished('manifests', { namespace: 'shop' });
      const chartFirst = await finished('chart', {
        namespace: 'shop',
        release: 'web',
      });
      const chartLast = await finished('chart', {
        namespace: 'shop',
        release: 'web',
      });
      const started = async (id: string, at: number) =>
        knex('kubechart_runs').where({ id }).update({ started_at: at });
      await started(requestedLast, 5_000);
      await started(requestedFirst, 6_000);
      await started(chartLast, 5_000);
      await started(chartFirst, 6_000);
      expect((await drift.latestAppliedRuns()).map(r => r.id).sort()).toEqual(
        [requestedFirst, chartFirst].sort(),
      );
      expect((await drift.latestAppliedRuns()).map(r => r.appliedAt)).toEqual([
        6_000, 6_000,
      ]);
    });

    it('counts a failed tenant-delete that recorded its namespace gone as the tenant’s end, whatever the tenant record says later', async () => {
      const { runs, drift, finished } = await createStores();
      const tenant = async (code: string, lastRunId: string, status: any) =>
        runs.upsertTenant({
          cluster: 'dev',
          code,
          namespace: `tenant-${code}`,
          status,
          lastRunId,
          releases: [],
        });
      /** A tenant-delete ended as failed, its namespace found gone or not (by the stale-run check). */
      const failedDelete = (namespace: string, gone: boolean) =>
        finished(
          'tenant-delete',
          { namespace },
          'failed',
          undefined,
          gone ? { namespaceGoneAt: new Date(5_000).toISOString() } : {},
        );
      await finished('tenant', { namespace: 'tenant-gone' });
      const gone = await failedDelete('tenant-gone', true);
      await tenant('gone', gone, 'deleted');
      const kept = await finished('tenant', { namespace: 'tenant-kept' });
      const failed = await failedDelete('tenant-kept', false);
      await tenant('kept', failed, 'failed');
      const ids = async () =>
        (await drift.latestAppliedRuns()).map(r => r.id).sort();
      expect(await ids()).toEqual([gone, kept].sort());
      expect((await runs.getRun(gone))?.status).toBe('failed');

      // Submitted again: the new run claims the tenant while it waits, runs, and after it failed.
      const again = await finished(
        'tenant',
        { namespace: 'tenant-gone' },
        'pending',
      );
      await tenant('gone', again, 'provisioning');
      expect(await ids()).toEqual([gone, kept].sort());
      await runs.finishRun(again, 'failed');
      await tenant('gone', again, 'failed');
      expect(await ids()).toEqual([gone, kept].sort());
    });

    it('keeps the latest run kubechart executed on a target beside, never behind, a newer run an action recorded there', async () => {
      const { drift, finished } = await createStores();
      const chart = await finished('chart', {
        namespace: 'shop',
        release: 'web',
      });
      const manifests = await finished('manifests', { namespace: 'shop' });
      await finished(
        'chart',
        { namespace: 'shop', release: 'web' },
        'succeeded',
        'acme:old',
      );
      const recordedChart = await finished(
        'chart',
        { namespace: 'shop', release: 'web' },
        'succeeded',
        'acme:noop',
      );
      const recordedManifests = await finished(
        'manifests',
        { namespace: 'shop' },
        'succeeded',
        'acme:noop',
      );
      const latest = await drift.latestAppliedRuns();
      expect(
        latest
          .map(r => ({ id: r.id, action: r.action }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      ).toEqual(
        [
          { id: chart, action: undefined },
          { id: manifests, action: undefined },
          { id: recordedChart, action: 'acme:noop' },
          { id: recordedManifests, action: 'acme:noop' },
        ].sort((a, b) => a.id.localeCompare(b.id)),
      );
    });

    it('stores what a record says it did not compare, and which action reported the manifest compared', async () => {
      const { drift, finished } = await createStores();
      const id = await finished(
        'manifests',
        { namespace: 'shop' },
        'succeeded',
        'acme:noop',
      );
      const stored = record(id, {
        target: { cluster: 'dev', namespace: 'shop' },
        status: 'in-sync',
        objects: [],
        notCompared: [
          {
            apiVersion: 'v1',
            kind: 'Secret',
            namespace: 'shop',
            name: 'db',
            count: 1,
            fields: ['data.password'],
          },
        ],
        reportedByAction: 'acme:noop',
        message:
          'in sync except 1 field that holds a secret, which drift cannot compare (history stores it redacted): Secret/db data.password',
      });
      await drift.replaceAll([stored]);
      expect(await drift.get(id)).toEqual(stored);
      expect(await drift.list({ cluster: 'dev', namespace: 'shop' })).toEqual([
        stored,
      ]);
    });

    it('stores, updates, lists and prunes drift records', async () => {
      const { drift, finished } = await createStores();
      const a = await finished('chart', { namespace: 'shop', release: 'web' });
      const b = await finished('manifests', { namespace: 'other' });
      await drift.put(record(a));
      await drift.put(
        record(b, {
          target: { cluster: 'dev', namespace: 'other' },
          entityRef: undefined,
          status: 'unknown',
          objects: [],
          message: 'cluster unreachable',
        }),
      );
      expect(await drift.get(a)).toEqual(record(a));
      await drift.put(
        record(a, {
          status: 'in-sync',
          objects: [],
          since: '2026-12-03T09:10:00.000Z',
          checkedAt: '2026-12-03T09:10:00.000Z',
        }),
      );
      expect((await drift.get(a))!.status).toBe('in-sync');
      expect(
        (await drift.list({ entityRef: 'component:default/shop' })).map(
          r => r.runId,
        ),
      ).toEqual([a]);
      expect(
        (await drift.list({ cluster: 'dev', namespace: 'other' }))[0],
      ).toMatchObject({
        runId: b,
        status: 'unknown',
        message: 'cluster unreachable',
      });
      const [pruned, kept] = [(await drift.get(a))!, (await drift.get(b))!];
      expect(await drift.replaceAll([kept])).toEqual([pruned]);
      expect(await drift.get(a)).toBeUndefined();
      expect(await drift.get(b)).toEqual(kept);
    });

    it('lists only the records a reader may read, reading who may read each before any record whole', async () => {
      const { drift, finished } = await createStores();
      const mine = await finished('chart', {
        namespace: 'shop',
        release: 'web',
      });
      const theirs = await finished('chart', {
        namespace: 'shop',
        release: 'api',
      });
      const unowned = await finished('manifests', { namespace: 'shop' });
      const records = [
        record(mine),
        record(theirs, {
          target: { cluster: 'dev', namespace: 'shop', release: 'api' },
          entityRef: 'component:default/payroll',
          actor: 'user:default/bob',
          checkedAt: '2026-12-03T09:04:00.000Z',
        }),
        record(unowned, {
          target: { cluster: 'dev', namespace: 'shop' },
          entityRef: undefined,
          checkedAt: '2026-12-03T09:03:00.000Z',
        }),
      ];
      await drift.replaceAll(records);
      const asked: unknown[] = [];
      const listed = await drift.list({ cluster: 'dev' }, async heads => {
        asked.push(...heads);
        return heads.filter(h => h.actor === 'user:default/alice');
      });
      expect(listed).toEqual([records[0], records[2]]);
      // Asked with who may read each record, newest first, and nothing of what the records hold.
      expect(asked).toEqual([
        {
          runId: mine,
          entityRef: 'component:default/shop',
          actor: 'user:default/alice',
        },
        {
          runId: theirs,
          entityRef: 'component:default/payroll',
          actor: 'user:default/bob',
        },
        { runId: unowned, actor: 'user:default/alice' },
      ]);
      expect(await drift.list({ cluster: 'dev' }, async () => [])).toEqual([]);
    });

    // A drift pass that cannot store its records (PostgreSQL refuses U+0000 in text) stores none of
    // them: every entity page would keep showing the previous pass.
    it('stores records whose message and target hold a NUL or a lone surrogate, as the run store writes text (U+FFFD)', async () => {
      const { drift, finished } = await createStores();
      const a = await finished('manifests', { namespace: 'shop' });
      const b = await finished('chart', { namespace: 'other', release: 'api' });
      const hostile = (over: Partial<DriftRecord>, runId: string) =>
        record(runId, {
          status: 'unknown',
          objects: [],
          message:
            'the live objects could not be read: configmaps "a\u0000b" \ud800 is forbidden',
          ...over,
        });
      const stored =
        'the live objects could not be read: configmaps "a\ufffdb" \ufffd is forbidden';
      await drift.put(
        hostile(
          {
            target: { cluster: 'dev', namespace: 'shop\u0000x' },
            entityRef: 'component:default/shop\u0000x',
            actor: 'user:default/a\u0000b',
          },
          a,
        ),
      );
      expect(await drift.get(a)).toMatchObject({
        target: { cluster: 'dev', namespace: 'shop\ufffdx' },
        entityRef: 'component:default/shop\ufffdx',
        actor: 'user:default/a\ufffdb',
        message: stored,
      });
      expect(
        await drift.replaceAll([
          hostile(
            {
              target: {
                cluster: 'dev',
                namespace: 'other',
                release: 'a\u0000',
              },
            },
            b,
          ),
        ]),
      ).toHaveLength(1);
      expect(await drift.get(b)).toMatchObject({
        target: { cluster: 'dev', namespace: 'other', release: 'a\ufffd' },
        message: stored,
      });
    });

    it("replaces a pass's records at once: a reader sees the previous records or the new ones, never both", async () => {
      const { drift, finished } = await createStores();
      const ids = async (n: number) => {
        const out: string[] = [];
        for (let i = 0; i < n; i++)
          out.push(
            await finished('chart', { namespace: 'shop', release: `web-${i}` }),
          );
        return out;
      };
      const before = await ids(150);
      const after = await ids(150);
      const records = (runIds: string[]) =>
        runIds.map((id, i) =>
          record(id, {
            target: { cluster: 'dev', namespace: 'shop', release: `web-${i}` },
          }),
        );
      expect(await drift.replaceAll(records(before))).toEqual([]);
      const listed = async () =>
        (await drift.list({ cluster: 'dev' })).map(r => r.runId).sort();
      expect(await listed()).toEqual([...before].sort());

      const seen: string[][] = [];
      let done = false;
      const replacing = drift.replaceAll(records(after)).finally(() => {
        done = true;
      });
      while (!done) seen.push(await listed());
      const removed = await replacing;
      expect(removed.map(r => r.runId).sort()).toEqual([...before].sort());
      expect(await listed()).toEqual([...after].sort());
      for (const snapshot of seen)
        expect([before, after].map(set => [...set].sort())).toContainEqual(
          snapshot,
        );
    });

    it('migrates the drift table down and up', async () => {
      const { knex } = await createStores();
      const directory = `${__dirname}/../../migrations`;
      await knex.migrate.down({
        directory,
        name: '20261215000000_run_target_owner.js',
      });
      expect(
        await knex.schema.hasColumn('kubechart_runs', 'target_owner'),
      ).toBe(false);
      await knex.migrate.down({
        directory,
        name: '20261214000000_run_namespace_gone.js',
      });
      expect(
        await knex.schema.hasColumn('kubechart_runs', 'namespace_gone_at'),
      ).toBe(false);
      await knex.migrate.down({
        directory,
        name: '20261212000000_drift_not_compared.js',
      });
      expect(
        await knex.schema.hasColumn('kubechart_drift', 'not_compared'),
      ).toBe(false);
      await knex.migrate.down({ directory, name: '20261204000000_drift.js' });
      expect(await knex.schema.hasTable('kubechart_drift')).toBe(false);
      await knex.migrate.latest({ directory });
      expect(await knex.schema.hasTable('kubechart_drift')).toBe(true);
      expect(
        await knex.schema.hasColumn('kubechart_drift', 'reported_by_action'),
      ).toBe(true);
      expect(
        await knex.schema.hasColumn('kubechart_runs', 'namespace_gone_at'),
      ).toBe(true);
      expect(
        await knex.schema.hasColumn('kubechart_runs', 'target_owner'),
      ).toBe(true);
    });
  },
);
