import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
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

const gate = (expiresAt: Date): NewApproval => ({
  rule: 'prod',
  required: 1,
  approvers: ['group:default/sre'],
  planHash: 'h',
  planSalt: 's',
  expiresAt,
  exec: {},
});

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

// The checks made in the transactions that record a decision and start an approved run: whatever the
// engine saw before (rendering a plan takes seconds), an approval past its expiry is not acted on.
describe.each(databases.eachSupportedId())(
  'approval expiry in DatabaseRunStore on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      return DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
    }

    it('records no decision on an expired request: it ends as expired with a 409 naming the expiry', async () => {
      const store = await createStore();
      const expiresAt = new Date(Date.now() - 1000);
      const run = await store.createAwaitingRun(newRun(), gate(expiresAt), {});
      const decided = store.decideApproval(run.id, {
        by: 'user:default/sre-1',
        decision: 'approve',
        comment: 'ok',
      });
      await expect(decided).rejects.toThrow(ConflictError);
      await expect(decided).rejects.toThrow(
        `expired at ${expiresAt.toISOString()}`,
      );
      const ended = (await store.getRun(run.id))!;
      expect({
        status: ended.status,
        state: ended.approval!.state,
        decisions: ended.approval!.decisions,
        reason: ended.failureReason,
      }).toEqual({
        status: 'failed',
        state: 'expired',
        decisions: [],
        reason: `The approval request expired at ${expiresAt.toISOString()} with 0 of 1 approvals; nothing was applied`,
      });
      expect(await store.findExpiredApprovals(new Date())).toEqual([]);
    });

    it('does not start an approved run once its approval expired, and takes no lock', async () => {
      const store = await createStore();
      const expiresAt = new Date(Date.now() + 500);
      const run = await store.createAwaitingRun(newRun(), gate(expiresAt), {});
      const approved = await store.decideApproval(run.id, {
        by: 'user:default/sre-1',
        decision: 'approve',
        comment: 'ok',
      });
      expect(approved.status).toBe('approved');
      await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 100);

      const started = store.startApprovedRun(run.id, ['rel:dev/team-a/web']);
      await expect(started).rejects.toThrow(ConflictError);
      await expect(started).rejects.toThrow(
        `expired at ${expiresAt.toISOString()}`,
      );
      const ended = (await store.getRun(run.id))!;
      expect({
        status: ended.status,
        state: ended.approval!.state,
      }).toEqual({ status: 'failed', state: 'expired' });
      expect(ended.failureReason).toMatch(
        /^The approval expired at .*; nothing was applied$/,
      );
      // The lock was not taken: another run on the target starts.
      const other = await store.createRun({ ...newRun(), status: 'pending' }, [
        'rel:dev/team-a/web',
      ]);
      expect(other.status).toBe('pending');
    });
  },
);
