import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
/** A tenant user of the namespace, with the built-in `edit` role there (its Secrets included). */
const TENANT_USER = { name: 'dev-carol', token: 'dev-carol-token' };
const DEFAULT_DENY = 'kubechart-default-deny';

/** A `helm.sh/release.v1` Secret's release: base64 (Secret data) of base64 of gzipped JSON. */
const decode = (data: string) =>
  JSON.parse(
    gunzipSync(
      Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64'),
    ).toString('utf8'),
  );
const encode = (record: unknown) =>
  Buffer.from(
    gzipSync(Buffer.from(JSON.stringify(record))).toString('base64'),
  ).toString('base64');

/**
 * A rollback runs helm as the namespace's deployer, which deletes what the release's current record
 * names and the revision it returns to does not. The record is a Secret the namespace's users may
 * write: one written after the engine checked the records and before helm read them must not make
 * the rollback delete the tenant's default-deny NetworkPolicy, nor pass as a rollback done.
 */
describe.each(['helm3', 'helm4'] as const)(
  'rolling back while the release records change (%s)',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let networking: NetworkingV1Api;
    /** The tenant user's client: edit rights on the namespace, nothing more. */
    let tenantCore: CoreV1Api;
    const code = `rrace${helmBin.slice(-1)}`;
    /** The namespace of the test's tenant (see `newTenant`). */
    let namespace = '';

    const run = async (request: any) => {
      const r = await engine.submit(request, ALICE, plainCaller(ALICE));
      await engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    const chart = (name: string, tag: string) =>
      run({
        kind: 'chart',
        cluster: 'dev',
        namespace,
        release: {
          name,
          chart: 'webapp',
          values: { replicas: 1, pdb: false, image: { tag } },
        },
      });
    const rollback = (release: string, revision: number) =>
      run({ kind: 'rollback', cluster: 'dev', namespace, release, revision });
    const twoRevisions = async (name: string) => {
      expect(await chart(name, '1.0.0')).toMatchObject({
        status: 'succeeded',
        helmRevision: 1,
      });
      expect(await chart(name, '1.1.0')).toMatchObject({
        status: 'succeeded',
        helmRevision: 2,
      });
    };
    const helmRecords = async (release: string) =>
      (
        await tenantCore.listNamespacedSecret({
          namespace,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items
        .map(s => s.metadata!.name!)
        .sort();
    const defaultDenyExists = async () => {
      try {
        await networking.readNamespacedNetworkPolicy({
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
    const forgeRevision = async (release: string, version: number) => {
      const two = await tenantCore.readNamespacedSecret({
        name: `sh.helm.release.v1.${release}.v2`,
        namespace,
      });
      const record = withDefaultDeny(decode(two.data!.release));
      record.version = version;
      record.info.status = 'deployed';
      await tenantCore.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name: `sh.helm.release.v1.${release}.v${version}`,
            labels: {
              ...two.metadata?.labels,
              status: 'deployed',
              version: String(version),
            },
          },
          type: two.type,
          data: { release: encode(record) },
        },
      });
    };
    /**
     * Runs `act` when the engine next lists the release's records after its check, to follow what
     * helm writes (`owner=helm,name=<release>`), before that list is answered.
     */
    const onNextFollowingList = (release: string, act: () => Promise<void>) => {
      const list = CoreV1Api.prototype.listNamespacedSecret;
      const spy = jest
        .spyOn(CoreV1Api.prototype, 'listNamespacedSecret')
        .mockImplementation(async function listing(
          this: CoreV1Api,
          ...args: Parameters<CoreV1Api['listNamespacedSecret']>
        ) {
          if (args[0].labelSelector === `owner=helm,name=${release}`) {
            spy.mockRestore();
            await act();
          }
          return list.apply(this, args);
        });
      return spy;
    };
    /** The next `helm rollback` runs `around`, which is given the real one to call. */
    const onNextHelmRollback = (
      around: (
        helmRollback: (o: Parameters<HelmCli['rollback']>[0]) => Promise<void>,
        o: Parameters<HelmCli['rollback']>[0],
      ) => Promise<void>,
    ) => {
      const helmRollback = HelmCli.prototype.rollback;
      return jest
        .spyOn(HelmCli.prototype, 'rollback')
        .mockImplementationOnce(async function wrapped(this: HelmCli, o) {
          return around(options => helmRollback.call(this, options), o);
        });
    };

    /** A new tenant for one test, its user allowed `edit` there: its namespace is the test's. */
    const newTenant = async (tag: string) => {
      const tenant = await run({
        kind: 'tenant',
        cluster: 'dev',
        tenant: `${code}${tag}`,
        releases: [],
      });
      if (tenant.status !== 'succeeded')
        throw new Error(`tenant failed: ${tenant.failureReason}`);
      namespace = `tenant-${code}${tag}`;
      // The tenant's people may edit their namespace (its Secrets included), as a platform lets them.
      await t.clusters
        .kubeConfig('dev')
        .makeApiClient(RbacAuthorizationV1Api)
        .createNamespacedRoleBinding({
          namespace,
          body: {
            metadata: { name: 'carol-edit' },
            roleRef: {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'ClusterRole',
              name: 'edit',
            },
            subjects: [
              {
                kind: 'User',
                name: TENANT_USER.name,
                apiGroup: 'rbac.authorization.k8s.io',
              },
            ],
          },
        });
    };

    beforeAll(async () => {
      sim = await startSim({ users: [TENANT_USER] });
      t = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
      });
      ({ engine } = t);
      networking = t.clusters.kubeConfig('dev').makeApiClient(NetworkingV1Api);
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfigFor(TENANT_USER.token));
      tenantCore = kc.makeApiClient(CoreV1Api);
    });
    afterEach(() => jest.restoreAllMocks());
    afterAll(async () => {
      await sim?.stop();
    });

    it('refuses the rollback before helm runs when a record is created after the check, and keeps what it names', async () => {
      await newTenant('gate');
      await twoRevisions('gate');
      expect(await defaultDenyExists()).toBe(true);
      // Revision 3, naming the default-deny policy, written once the records were checked; gone
      // again once helm has read it, were helm to run.
      onNextFollowingList('gate', () => forgeRevision('gate', 3));
      const helmRollback = onNextHelmRollback(async (real, o) => {
        await real(o);
        await tenantCore.deleteNamespacedSecret({
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
          await tenantCore.listNamespacedSecret({
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
      const name = 'sh.helm.release.v1.late.v2';
      onNextHelmRollback(async (real, o) => {
        const two = await tenantCore.readNamespacedSecret({ name, namespace });
        const original = two.data!.release;
        await tenantCore.replaceNamespacedSecret({
          name,
          namespace,
          body: {
            ...two,
            data: {
              ...two.data,
              release: encode(withDefaultDeny(decode(original))),
            },
          },
        });
        await real(o);
        // The traces are covered: revision 2 says again what was checked.
        const after = await tenantCore.readNamespacedSecret({
          name,
          namespace,
        });
        const restored = decode(original);
        restored.info.status = 'superseded';
        await tenantCore.replaceNamespacedSecret({
          name,
          namespace,
          body: {
            ...after,
            data: { ...after.data, release: encode(restored) },
          },
        });
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
      const steps = (await t.store.getEvents(late.id))
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
          await tenantCore.listNamespacedSecret({
            namespace,
            labelSelector: 'name=calm,owner!=helm',
          })
        ).items,
      ).toEqual([]);
    });
  },
);
