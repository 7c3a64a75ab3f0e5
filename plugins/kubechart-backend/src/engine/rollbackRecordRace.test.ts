import {
  forgeRecord,
  onNextHelmRollback,
  onNextSecretList,
  releaseRecordHarness,
} from '../__testUtils__/releaseRecords';

jest.setTimeout(300_000);

/** A tenant user of the namespace, with the built-in `edit` role there (its Secrets included). */
const TENANT_USER = { name: 'dev-carol', token: 'dev-carol-token' };
const DEFAULT_DENY = 'kubechart-default-deny';

/**
 * A rollback runs helm as the namespace's deployer, which deletes what the release's current record
 * names and the revision it returns to does not. The record is a Secret the namespace's users may
 * write: one written after the engine checked the records and before helm read them must not make
 * the rollback delete the tenant's default-deny NetworkPolicy, nor pass as a rollback done.
 */
describe.each(['helm3', 'helm4'] as const)(
  'rolling back while the release records change (%s)',
  helmBin => {
    const code = `rrace${helmBin.slice(-1)}`;
    const h = releaseRecordHarness(helmBin, { tenantUser: TENANT_USER });
    /** The namespace of the test's tenant (see `newTenant`). */
    let namespace = '';
    const { rollback, twoRevisions, helmRecords } = h;
    const defaultDenyExists = async () => {
      try {
        await h.networking().readNamespacedNetworkPolicy({
          name: DEFAULT_DENY,
          namespace,
        });
        return true;
      } catch (e: any) {
        if (e?.code === 404) return false;
        throw e;
      }
    };
    /** `record`'s manifest with the tenant's default-deny NetworkPolicy added, as a tenant user forges it. */
    const withDefaultDeny = (record: any) => ({
      ...record,
      manifest: `${record.manifest}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${DEFAULT_DENY}\n  namespace: ${namespace}\nspec:\n  podSelector: {}\n`,
    });
    /** Creates revision `version` of `release`: its revision 2 naming the default-deny policy too. */
    const forgeRevision = (release: string, version: number) =>
      forgeRecord(h.records(), {
        release,
        from: 2,
        version,
        labels: two => ({
          ...two,
          status: 'deployed',
          version: String(version),
        }),
        edit: record => {
          const forged = withDefaultDeny(record);
          forged.info.status = 'deployed';
          return forged;
        },
      });
    /**
     * Runs `act` when the engine next lists the release's records after its check, to follow what
     * helm writes (`owner=helm,name=<release>`), before that list is answered.
     */
    const onNextFollowingList = (release: string, act: () => Promise<void>) =>
      onNextSecretList(`owner=helm,name=${release}`, act);
    /** A new tenant for one test, its user allowed `edit` there: its namespace is the test's. */
    const newTenant = async (tag: string) => {
      await h.newTenant(`${code}${tag}`);
      namespace = h.namespace;
    };

    afterEach(() => jest.restoreAllMocks());

    it('refuses the rollback before helm runs when a record is created after the check, and keeps what it names', async () => {
      await newTenant('gate');
      await twoRevisions('gate');
      expect(await defaultDenyExists()).toBe(true);
      // Revision 3, naming the default-deny policy, written once the records were checked; gone
      // again once helm has read it, were helm to run.
      onNextFollowingList('gate', () => forgeRevision('gate', 3));
      const helmRollback = onNextHelmRollback(async (real, o) => {
        await real(o);
        await h.tenantCore.deleteNamespacedSecret({
          name: 'sh.helm.release.v1.gate.v3',
          namespace,
        });
      });

      const refused = await rollback('gate', 1);

      expect(helmRollback).not.toHaveBeenCalled();
      expect({
        status: refused.status,
        reason: refused.failureReason,
        helmRevision: refused.helmRevision,
      }).toEqual({
        status: 'failed',
        reason: `Release gate in ${namespace} was not rolled back: its release records changed after they were checked (a release record of gate was created), and helm would act on a record that was not checked; nothing was rolled back. Submit the run again.`,
        helmRevision: undefined,
      });
      expect(await defaultDenyExists()).toBe(true);
      expect(await helmRecords('gate')).toEqual([
        'sh.helm.release.v1.gate.v1',
        'sh.helm.release.v1.gate.v2',
        'sh.helm.release.v1.gate.v3',
      ]);
      // No marker is left behind.
      expect(
        (
          await h.tenantCore.listNamespacedSecret({
            namespace,
            labelSelector: 'owner=kubechart',
          })
        ).items,
      ).toEqual([]);
    });

    it('fails the rollback when its current record is rewritten as helm starts and put back once helm is done', async () => {
      await newTenant('late');
      await twoRevisions('late');
      expect(await defaultDenyExists()).toBe(true);
      onNextHelmRollback(async (real, o) => {
        let original: any;
        await h.rewriteRecord('late', 2, record => {
          original = record;
          return withDefaultDeny(record);
        });
        await real(o);
        // The traces are covered: revision 2 says again what was checked.
        await h.rewriteRecord('late', 2, () => ({
          ...original,
          info: { ...original.info, status: 'superseded' },
        }));
      });

      const late = await rollback('late', 1);

      // helm read the rewritten record once the engine could no longer stop it: the run says so.
      expect(await defaultDenyExists()).toBe(false);
      expect({
        status: late.status,
        reason: late.failureReason,
        helmRevision: late.helmRevision,
      }).toEqual({
        status: 'failed',
        reason: `The release records of late in ${namespace} changed after they were checked and before helm wrote its record of the rollback (a release record of late was changed): helm may have acted on a record that was not checked; the rollback is not reported as done`,
        helmRevision: 3,
      });
      const steps = (await h.t.store.getEvents(late.id))
        .filter(e => e.type === 'step')
        .map(e => `${e.step}:${e.stepStatus}`);
      expect(steps).not.toContain('wait:succeeded');
    });

    it('rolls back when the records change only as helm changes them', async () => {
      await newTenant('calm');
      await twoRevisions('calm');

      const done = await rollback('calm', 1);

      expect(done).toMatchObject({ status: 'succeeded', helmRevision: 3 });
      expect(done.failureReason).toBeUndefined();
      expect(await helmRecords('calm')).toEqual([
        'sh.helm.release.v1.calm.v1',
        'sh.helm.release.v1.calm.v2',
        'sh.helm.release.v1.calm.v3',
      ]);
      expect(
        (
          await h.tenantCore.listNamespacedSecret({
            namespace,
            labelSelector: 'name=calm,owner!=helm',
          })
        ).items,
      ).toEqual([]);
    });
  },
);
