import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';

/**
 * A tenant run that failed before it changed anything in the cluster leaves its tenant as it found it:
 * a tenant it was to create is not live (nobody owns its code, it counts against no budget, no catalog
 * entity stands for it), and a live tenant keeps the record it had. The same rule as for a run whose
 * end is settled by the outcome pass.
 */
describe.each(databases.eachSupportedId())(
  'a tenant run that failed having applied nothing, on %p',
  databaseId => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;

    beforeAll(async () => {
      sim = await startSim();
      t = await createTestEngine({ databases, databaseId, sim });
    });
    afterEach(() => sim.faults.clear());
    afterAll(() => sim?.stop());

    const runToEnd = async (actor: string, tenant: string) => {
      const r = await t.engine.submit(
        { kind: 'tenant', cluster: 'dev', tenant, releases: [] },
        actor,
        plainCaller(actor),
      );
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    const tenantOf = async (code: string) =>
      (await t.store.getTenants(code)).find(x => x.cluster === 'dev');

    it('leaves a new tenant not live: another user may take its code, and it counts against nobody', async () => {
      const code = `nf-${databaseId === 'SQLITE_3' ? 's' : 'p'}`;
      sim.faults.failVerb({
        verb: 'create',
        resource: 'namespaces',
        status: 403,
      });
      const failed = await runToEnd(ALICE, code);
      expect(failed.status).toBe('failed');
      expect(failed.applied).toEqual([]);
      expect(await tenantOf(code)).toMatchObject({ status: 'deleted' });
      expect(await t.store.countActiveTenants({ owner: ALICE })).toBe(0);
      sim.faults.clear();

      const taken = await runToEnd(BOB, code);
      expect(taken.status).toBe('succeeded');
      expect(await tenantOf(code)).toMatchObject({
        status: 'active',
        owner: BOB,
        lastRunId: taken.id,
      });
    });

    it('gives a live tenant back the record it had', async () => {
      const code = `kept-${databaseId === 'SQLITE_3' ? 's' : 'p'}`;
      const first = await runToEnd(ALICE, code);
      expect(first.status).toBe('succeeded');
      const before = (await tenantOf(code))!;
      expect(before).toMatchObject({ status: 'active', owner: ALICE });

      // Refused before the run changes anything: the namespace is read, never written.
      sim.faults.failVerb({
        verb: 'get',
        resource: 'serviceaccounts',
        namespace: `tenant-${code}`,
        status: 403,
      });
      const failed = await runToEnd(ALICE, code);
      expect(failed.status).toBe('failed');
      expect(failed.applied).toEqual([]);
      const { updatedAt: _u, ...after } = (await tenantOf(code))!;
      const { updatedAt: _b, ...kept } = before;
      expect(after).toEqual(kept);
    });
  },
);
