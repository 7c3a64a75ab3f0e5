import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { TenantRecord } from '../database/RunStore';
import { RunCaller } from './scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const BOB = 'user:default/bob';
const RIVAL = 'group:default/rival-team';

/**
 * A tenant run whose tenant another run created between the run's checks and the transaction that
 * records it: the refusal names the tenant's new owner only to a requester who may read that
 * tenant, and what it may name is asked once that transaction (and its tenant claim) is over.
 */
describe.each(databases.eachSupportedId())(
  'a tenant run whose tenant was created by another run as it was recorded, on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());

    /** The engine; its store records `code` as rival-team's tenant just before recording the run. */
    async function racing(code: string) {
      const t = await createTestEngine({ databases, databaseId, sim });
      const store = t.store;
      const createRun = store.createRun.bind(store);
      const progress = { recording: false };
      store.createRun = async (run, lockKeys, options) => {
        if (options?.tenant?.code === code)
          await store.upsertTenant({
            cluster: 'dev',
            code,
            namespace: `tenant-${code}`,
            owner: RIVAL,
            status: 'active',
            releases: [],
          });
        progress.recording = true;
        try {
          return await createRun(run, lockKeys, options);
        } finally {
          progress.recording = false;
        }
      };
      return { ...t, progress };
    }

    const request = (code: string) => ({
      kind: 'tenant' as const,
      cluster: 'dev',
      tenant: code,
      releases: [],
    });
    const refusal = async (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        e => e,
      );

    it('does not name the new owner to a requester who may not read the tenant', async () => {
      const { engine, store, progress } = await racing('race-a');
      const asked: Array<{ code: string; recording: boolean }> = [];
      const bob: RunCaller = {
        ownershipRefs: [BOB],
        mayApplyClusterScoped: false,
        isTenantAdmin: false,
        mayReadTenant: async (t: TenantRecord) => {
          asked.push({ code: t.code, recording: progress.recording });
          return false;
        },
        mayReadEveryTenant: async () => false,
      };
      const e = await refusal(engine.submit(request('race-a'), BOB, bob));
      expect(e).toBeInstanceOf(ConflictError);
      expect(e.message).toBe(
        'Tenant race-a on cluster dev changed after this run was requested: it did not exist then, and now exists, owned by another owner; nothing was recorded or applied. Submit the run again.',
      );
      expect(asked).toEqual([{ code: 'race-a', recording: false }]);
      expect(
        (await store.listRuns({ tenant: 'race-a' }, { limit: 10 })).items,
      ).toEqual([]);
    });

    it('names the new owner to a requester who may read the tenant', async () => {
      const { engine } = await racing('race-b');
      const reader: RunCaller = {
        ownershipRefs: [BOB],
        mayApplyClusterScoped: false,
        isTenantAdmin: false,
        mayReadTenant: async t => t.code === 'race-b',
      };
      const e = await refusal(engine.submit(request('race-b'), BOB, reader));
      expect(e?.message).toBe(
        `Tenant race-b on cluster dev changed after this run was requested: it did not exist then, and now exists, owned by ${RIVAL}; nothing was recorded or applied. Submit the run again.`,
      );
    });
  },
);
