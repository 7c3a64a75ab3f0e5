import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import { DatabaseRunStore } from './DatabaseRunStore';
import { NewApproval, NewRun } from './RunStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const newRun = (): NewRun => ({
  id: randomUUID(),
  kind: 'chart',
  status: 'awaiting-approval',
  actor: 'user:default/alice',
  entityRef: 'component:default/shop',
  target: { cluster: 'dev', namespace: 'team-a', release: 'web' },
  input: { release: { name: 'web' } },
});

const gate: NewApproval = {
  rule: 'prod',
  required: 1,
  approvers: ['group:default/sre'],
  planHash: 'h',
  planSalt: 's',
  expiresAt: new Date(Date.now() + 3_600_000),
  exec: {},
};

// How an approval ends once its approved run ran: the approvals list and the audit trail read it.
describe.each(databases.eachSupportedId())(
  'the approval of an approved run that ended, in DatabaseRunStore on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      const store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
      return { store, knex };
    }

    /** An approved run, started (its gate `executed`); claimed by an executor unless `claimed` is false. */
    async function startedRun(store: DatabaseRunStore, claimed = true) {
      const run = await store.createAwaitingRun(newRun(), gate, {});
      await store.decideApproval(run.id, {
        by: 'user:default/sre-1',
        decision: 'approve',
        comment: 'ok',
      });
      await store.startApprovedRun(run.id, [`rel:dev/team-a/web/${run.id}`]);
      const lease = claimed ? await store.claimRun(run.id, 'i1') : undefined;
      expect((await store.getRun(run.id))!.approval!.state).toBe('executed');
      return { id: run.id, lease };
    }

    const ended = async (store: DatabaseRunStore, id: string) => {
      const run = (await store.getRun(id))!;
      return {
        status: run.status,
        state: run.approval!.state,
        reason: run.failureReason,
      };
    };

    it('ends as refused when the run failed having changed nothing, its reason on the run', async () => {
      const { store } = await createStore();
      const { id, lease } = await startedRun(store);
      const reason =
        'Release web was not installed: the chart rendered differently at install than in the approved plan (ConfigMap web-cfg differs); nothing was applied.';
      await store.finishRun(
        id,
        'failed',
        { failureReason: reason, applied: [] },
        { lease },
      );
      expect(await ended(store, id)).toEqual({
        status: 'failed',
        state: 'refused',
        reason,
      });
    });

    it('stays executed when the run failed after changing the cluster, or succeeded', async () => {
      const { store } = await createStore();
      const failed = await startedRun(store);
      await store.finishRun(
        failed.id,
        'failed',
        {
          failureReason: 'release web is not ready after 300s',
          applied: ['installed release web revision 2 in team-a'],
        },
        { lease: failed.lease },
      );
      expect(await ended(store, failed.id)).toEqual({
        status: 'failed',
        state: 'executed',
        reason: 'release web is not ready after 300s',
      });

      const succeeded = await startedRun(store);
      await store.finishRun(
        succeeded.id,
        'succeeded',
        { applied: [] },
        { lease: succeeded.lease },
      );
      expect((await ended(store, succeeded.id)).state).toBe('executed');
    });

    it('stays executed when what the failed run changed is not known, until its executor records nothing', async () => {
      const { store } = await createStore();
      const { id } = await startedRun(store);
      // Reconciled by another instance: what the run changed is not known there.
      await store.finishRun(
        id,
        'failed',
        { failureReason: 'its backend stopped reporting' },
        { fence: true },
      );
      expect((await ended(store, id)).state).toBe('executed');
      // The executor that lost its lease knew: it changed nothing.
      await store.recordApplied(id, []);
      expect(await ended(store, id)).toEqual({
        status: 'failed',
        state: 'refused',
        reason: 'its backend stopped reporting',
      });
    });

    it('ends as refused when the run was never claimed by an executor', async () => {
      const { store } = await createStore();
      const { id } = await startedRun(store, false);
      await store.finishRun(
        id,
        'failed',
        { failureReason: 'its backend stopped before it ran' },
        { fence: true },
      );
      expect((await ended(store, id)).state).toBe('refused');
    });

    it('keeps the digest of a run release record for the engine, not in the run', async () => {
      const { store, knex } = await createStore();
      const run = await store.createRun({ ...newRun(), status: 'pending' }, [
        'rel:dev/team-a/web',
      ]);
      expect(await store.getReleaseRecordDigest(run.id)).toBeUndefined();
      expect((await store.getRun(run.id))!.rollbackBound).toBe(false);
      const digest = `sha256:${'0a'.repeat(32)}`;
      await store.updateRun(run.id, {
        helmRevision: 2,
        releaseRecordDigest: digest,
      });
      expect(await store.getReleaseRecordDigest(run.id)).toBe(digest);
      expect(JSON.stringify(await store.getRun(run.id))).not.toContain(digest);
      // The run says only that a rollback from it is bound to the record it installed.
      expect((await store.getRun(run.id))!.rollbackBound).toBe(true);
      // A page of runs does not carry it.
      const { items } = await store.listRuns({}, { limit: 10 });
      expect(items.find(i => i.id === run.id)).not.toHaveProperty(
        'rollbackBound',
      );

      const directory = `${__dirname}/../../migrations`;
      await knex.migrate.down({
        directory,
        name: '20261216000000_run_release_record.js',
      });
      expect(
        await knex.schema.hasColumn('kubechart_runs', 'release_record_digest'),
      ).toBe(false);
      await knex.migrate.latest({ directory });
      expect(await store.getReleaseRecordDigest(run.id)).toBeUndefined();
      // A run recorded before the digest was: a rollback from it is not bound to its record.
      expect((await store.getRun(run.id))!.rollbackBound).toBe(false);
    });
  },
);
