import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  PolicyV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  chartDirectory,
  createTestEngine,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { writeClusterReaderChart } from '../__testUtils__/clusterReaderChart';
import { KubeClient } from '../lib/KubeClient';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
const alice: RunCaller = {
  ownershipRefs: [ALICE],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** Alice with the permission to apply the cluster-scoped kinds the platform allows (here ClusterRoles). */
const aliceWithRbac: RunCaller = { ...alice, mayApplyClusterScoped: true };
/** A tenant user of a namespace, with the built-in `edit` role there (its Secrets included). */
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

const webapp = (name: string) => ({
  name,
  chart: 'webapp',
  values: { replicas: 1, database: { password: `${name}-pw-1234` } },
});

/**
 * A release is uninstalled (pruned, or with its tenant) only after its records were checked against
 * the live cluster. The records are Secrets in the release's namespace, which its users may write:
 * one rewritten after the check must not make the uninstall delete what it names now, whichever
 * identity the uninstall acts as, and the run must fail naming it.
 */
describe.each(['helm3', 'helm4'] as const)(
  'uninstalling while the release records change (%s)',
  helmBin => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    let objects: KubernetesObjectApi;
    /** The tenant user's client: edit rights on the namespaces it is bound in, nothing more. */
    let tenantCore: CoreV1Api;
    let helm: HelmCli;
    let charts: string;
    const suffix = helmBin.slice(-1);

    const run = async (request: any, caller = alice) => {
      const r = await t.engine.submit(request, ALICE, caller);
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    const outcome = (r: { status: string; failureReason?: string }) => ({
      status: r.status,
      reason: r.failureReason,
    });
    const succeeded = { status: 'succeeded', reason: undefined };
    const tenant = (code: string, releases: any[], pruneReleases = false) =>
      run({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases,
        ...(pruneReleases ? { pruneReleases } : {}),
      });
    /** Lets the tenant user edit the namespace (its Secrets included), as a platform lets its tenants. */
    const letTenantUserEdit = (namespace: string) =>
      t.clusters
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
    /** Rewrites a release record as the tenant user. */
    const forge = async (
      namespace: string,
      name: string,
      edit: (record: any) => void,
    ) => {
      const secret = await tenantCore.readNamespacedSecret({ name, namespace });
      const record = decode(secret.data!.release);
      edit(record);
      secret.data!.release = encode(record);
      await tenantCore.replaceNamespacedSecret({
        name,
        namespace,
        body: secret,
      });
    };
    /**
     * Runs `act` once the engine has read the records of `release` in `namespace` to check them,
     * before that read is answered to it: what it checks is the record as it was, anything after
     * the check meets the record as `act` left it.
     */
    const afterNextRecordRead = (
      namespace: string,
      release: string,
      act: () => Promise<void>,
    ) => {
      const list = CoreV1Api.prototype.listNamespacedSecret;
      const spy = jest
        .spyOn(CoreV1Api.prototype, 'listNamespacedSecret')
        .mockImplementation(async function listing(
          this: CoreV1Api,
          ...args: Parameters<CoreV1Api['listNamespacedSecret']>
        ) {
          const read = await list.apply(this, args);
          if (
            args[0].namespace === namespace &&
            args[0].labelSelector === `name=${release},owner=helm`
          ) {
            spy.mockRestore();
            await act();
          }
          return read;
        });
      return spy;
    };
    const exists = async (obj: any) => {
      try {
        return (await objects.read(obj)).metadata?.uid;
      } catch (e: any) {
        if (e?.code === 404) return undefined;
        throw e;
      }
    };
    /** The namespace's objects of the kinds the releases here hold, `Kind/name` to uid. */
    const inNamespace = async (namespace: string) => {
      const kc = t.clusters.kubeConfig('dev');
      const named = (kind: string, items: any[]) =>
        items.map(o => [`${kind}/${o.metadata.name}`, o.metadata.uid]);
      return Object.fromEntries([
        ...named(
          'Deployment',
          (
            await kc
              .makeApiClient(AppsV1Api)
              .listNamespacedDeployment({ namespace })
          ).items,
        ),
        ...named(
          'Service',
          (await core.listNamespacedService({ namespace })).items,
        ),
        ...named(
          'Secret',
          (await core.listNamespacedSecret({ namespace })).items,
        ),
        ...named(
          'ConfigMap',
          (await core.listNamespacedConfigMap({ namespace })).items,
        ),
        ...named(
          'PodDisruptionBudget',
          (
            await kc
              .makeApiClient(PolicyV1Api)
              .listNamespacedPodDisruptionBudget({ namespace })
          ).items,
        ),
        ...named(
          'NetworkPolicy',
          (
            await kc
              .makeApiClient(NetworkingV1Api)
              .listNamespacedNetworkPolicy({ namespace })
          ).items,
        ),
      ]);
    };
    const without = (all: Record<string, string>, gone: string[]) =>
      Object.fromEntries(
        Object.entries(all).filter(([k]) => !gone.includes(k)),
      );
    const helmStatus = (namespace: string, release: string) =>
      helm.status({
        release,
        namespace,
        kubeconfig: t.clusters.kubeconfigYaml('dev'),
      });

    beforeAll(async () => {
      sim = await startSim({ users: [TENANT_USER] });
      charts = await fs.mkdtemp(path.join(os.tmpdir(), 'uninstall-race-'));
      await writeClusterReaderChart(charts);
      const config = testConfig(sim, {
        clusters: {
          dev: {
            allowedClusterScopedKinds: [
              'rbac.authorization.k8s.io/ClusterRole',
            ],
          },
        },
      });
      config.kubechart.helm.chartDirectories = [chartDirectory, charts];
      t = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        config,
        helm: helmBin,
      });
      helm = HelmCli.fromConfig(t.config);
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      objects = KubernetesObjectApi.makeApiClient(t.clusters.kubeConfig('dev'));
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfigFor(TENANT_USER.token));
      tenantCore = kc.makeApiClient(CoreV1Api);
    });
    afterEach(() => jest.restoreAllMocks());
    afterAll(async () => {
      await sim?.stop();
      await fs.rm(charts, { recursive: true, force: true });
    });

    it("keeps the tenant's default-deny NetworkPolicy and another release's Deployment that a record rewritten after the check names, and fails the prune naming the record", async () => {
      const code = `unra${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(await tenant(code, [webapp('web'), webapp('api')])),
      ).toEqual(succeeded);
      await letTenantUserEdit(namespace);
      const before = await inNamespace(namespace);
      expect(before[`NetworkPolicy/${DEFAULT_DENY}`]).toBeDefined();
      expect(before['Deployment/web']).toBeDefined();

      // Checked as helm wrote it; then, before anything is deleted, it names the policy and web too.
      afterNextRecordRead(namespace, 'api', () =>
        forge(namespace, 'sh.helm.release.v1.api.v1', record => {
          record.manifest = `${record.manifest}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${DEFAULT_DENY}\nspec:\n  podSelector: {}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n`;
        }),
      );
      const pruned = await tenant(code, [webapp('web')], true);

      // What the record names now, and web's objects, are as they were.
      const after = await inNamespace(namespace);
      expect(after[`NetworkPolicy/${DEFAULT_DENY}`]).toBe(
        before[`NetworkPolicy/${DEFAULT_DENY}`],
      );
      expect(after['Deployment/web']).toBe(before['Deployment/web']);
      expect(after['Service/web']).toBe(before['Service/web']);
      expect(outcome(pruned)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `Release api in ${namespace} was not uninstalled completely: its release record sh.helm.release.v1.api.v1 changed after it was checked`,
        ),
      });
      // Only the objects of api's record as it was checked were deleted; the rewritten record stays.
      expect(after).toEqual(
        without(before, [
          'Deployment/api',
          'Service/api',
          'Secret/api-db',
          'PodDisruptionBudget/api',
        ]),
      );
      // The tenant still records api: the next prune checks the record again.
      expect(
        (await t.store.getTenants(code)).find(x => x.cluster === 'dev')
          ?.releases,
      ).toEqual(expect.arrayContaining(['web', 'api']));
      const again = await tenant(code, [webapp('web')], true);
      expect(outcome(again)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `NetworkPolicy/${DEFAULT_DENY}: it is not release api's`,
        ),
      });
      expect(
        (await inNamespace(namespace))[`NetworkPolicy/${DEFAULT_DENY}`],
      ).toBe(before[`NetworkPolicy/${DEFAULT_DENY}`]);
    });

    it('keeps an object of the release that was replaced after the check, and fails the prune naming it', async () => {
      const code = `unre${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(await tenant(code, [webapp('web'), webapp('api')])),
      ).toEqual(succeeded);
      await letTenantUserEdit(namespace);
      let replaced: string | undefined;
      // Once the check read api's Service as api's, it is deleted and one of the same name is made.
      const readObject = KubernetesObjectApi.prototype.read;
      let serviceChecked = false;
      jest
        .spyOn(KubernetesObjectApi.prototype, 'read')
        .mockImplementation(async function reading(
          this: KubernetesObjectApi,
          ...args: any[]
        ) {
          const answer = await (readObject as any).apply(this, args);
          const o = args[0];
          if (
            !serviceChecked &&
            o?.kind === 'Service' &&
            o?.metadata?.name === 'api' &&
            o?.metadata?.namespace === namespace
          ) {
            serviceChecked = true;
            await tenantCore.deleteNamespacedService({
              name: 'api',
              namespace,
            });
            replaced = (
              await tenantCore.createNamespacedService({
                namespace,
                body: {
                  metadata: { name: 'api' },
                  spec: { ports: [{ port: 80 }] },
                },
              })
            ).metadata?.uid;
          }
          return answer;
        });

      const pruned = await tenant(code, [webapp('web')], true);

      expect(serviceChecked).toBe(true);
      expect((await inNamespace(namespace))['Service/api']).toBe(replaced);
      expect(outcome(pruned)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `Release api in ${namespace} was not uninstalled: Service/api is no longer the object its release record named when the record was checked`,
        ),
      });
      expect(
        (
          await core.listNamespacedSecret({
            namespace,
            labelSelector: 'owner=helm,name=api',
          })
        ).items.map(x => x.metadata?.name),
      ).toEqual(['sh.helm.release.v1.api.v1']);
    });

    it('fails the prune naming a record written after the check, which is kept with what it names', async () => {
      const code = `unrf${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(await tenant(code, [webapp('web'), webapp('api')])),
      ).toEqual(succeeded);
      await letTenantUserEdit(namespace);
      const before = await inNamespace(namespace);
      // Revision 2 of api, naming the default-deny policy, written once the records were read.
      afterNextRecordRead(namespace, 'api', async () => {
        const one = await tenantCore.readNamespacedSecret({
          name: 'sh.helm.release.v1.api.v1',
          namespace,
        });
        const record = decode(one.data!.release);
        record.version = 2;
        record.manifest = `${record.manifest}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${DEFAULT_DENY}\nspec:\n  podSelector: {}\n`;
        await tenantCore.createNamespacedSecret({
          namespace,
          body: {
            metadata: {
              name: 'sh.helm.release.v1.api.v2',
              labels: { ...one.metadata?.labels, version: '2' },
            },
            type: one.type,
            data: { release: encode(record) },
          },
        });
      });

      const pruned = await tenant(code, [webapp('web')], true);

      expect(
        (await inNamespace(namespace))[`NetworkPolicy/${DEFAULT_DENY}`],
      ).toBe(before[`NetworkPolicy/${DEFAULT_DENY}`]);
      expect(outcome(pruned)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `Release api in ${namespace} was not uninstalled completely: release record sh.helm.release.v1.api.v2 was written after its records were checked, so it was kept`,
        ),
      });
    });

    it("prunes exactly the release's objects, in helm's uninstall order, and its records, so helm finds no release", async () => {
      const code = `unrb${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(await tenant(code, [webapp('web'), webapp('api')])),
      ).toEqual(succeeded);
      // A second revision: every record of the release goes.
      expect(
        outcome(
          await tenant(code, [
            webapp('web'),
            {
              ...webapp('api'),
              values: { ...webapp('api').values, replicas: 2 },
            },
          ]),
        ),
      ).toEqual(succeeded);
      const before = await inNamespace(namespace);
      expect(before['Secret/sh.helm.release.v1.api.v2']).toBeDefined();
      expect(await helmStatus(namespace, 'api')).toMatchObject({
        name: 'api',
        version: 2,
      });

      const pruned = await tenant(code, [webapp('web')], true);

      expect(outcome(pruned)).toEqual(succeeded);
      expect(await inNamespace(namespace)).toEqual(
        without(before, [
          'Deployment/api',
          'Service/api',
          'Secret/api-db',
          'PodDisruptionBudget/api',
          'Secret/sh.helm.release.v1.api.v1',
          'Secret/sh.helm.release.v1.api.v2',
        ]),
      );
      expect(await helmStatus(namespace, 'api')).toBeUndefined();
      expect(await helmStatus(namespace, 'web')).toMatchObject({
        name: 'web',
      });
      // helm's uninstall order (Service before Deployment before Secret before PodDisruptionBudget),
      // then the records.
      expect(pruned.applied?.filter(c => /\bapi\b/.test(c))).toEqual([
        `deleted Service/api in ${namespace}`,
        `deleted Deployment/api in ${namespace}`,
        `deleted Secret/api-db in ${namespace}`,
        `deleted PodDisruptionBudget/api in ${namespace}`,
        `deleted Secret/sh.helm.release.v1.api.v1 in ${namespace}`,
        `deleted Secret/sh.helm.release.v1.api.v2 in ${namespace}`,
        `uninstalled release api in ${namespace}`,
      ]);
      expect(
        (await t.store.getEvents(pruned.id, { limit: 5000 })).map(
          e => e.message,
        ),
      ).toContain('release api: uninstalled (pruneReleases)');
      expect(
        (await t.store.getTenants(code)).find(x => x.cluster === 'dev')
          ?.releases,
      ).toEqual(['web']);
    });

    it("keeps another tenant's Namespace that a record rewritten after the check names, and fails the tenant delete (as the engine's identity) naming the record", async () => {
      const code = `unrc${suffix}`;
      const victim = `unrv${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await tenant(victim, []))).toEqual(succeeded);
      expect(outcome(await tenant(code, []))).toEqual(succeeded);
      expect(
        outcome(
          await run(
            {
              kind: 'chart',
              cluster: 'dev',
              namespace,
              release: {
                name: 'probe',
                chart: 'clusterreader',
                values: { roleName: `${code}-reader` },
              },
            },
            aliceWithRbac,
          ),
        ),
      ).toEqual(succeeded);
      await letTenantUserEdit(namespace);
      const victimUid = (await core.readNamespace({ name: `tenant-${victim}` }))
        .metadata?.uid;

      afterNextRecordRead(namespace, 'probe', () =>
        forge(namespace, 'sh.helm.release.v1.probe.v1', record => {
          record.manifest = `${record.manifest}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-${victim}\n`;
        }),
      );
      const deleted = await run({
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: code,
      });

      const left = await exists({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: `tenant-${victim}` },
      }).then(async uid => {
        if (!uid) return 'gone';
        const ns = await core.readNamespace({ name: `tenant-${victim}` });
        return {
          uid,
          deleting: ns.metadata?.deletionTimestamp,
          phase: ns.status?.phase,
        };
      });
      expect(left).toEqual({
        uid: victimUid,
        deleting: undefined,
        phase: 'Active',
      });
      expect(outcome(deleted)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `Release probe in ${namespace} was not uninstalled completely: its release record sh.helm.release.v1.probe.v1 changed after it was checked`,
        ),
      });
      // The rewritten record and the tenant's namespace stay.
      expect(
        (
          await core.listNamespacedSecret({
            namespace,
            labelSelector: 'owner=helm,name=probe',
          })
        ).items.map(s => s.metadata?.name),
      ).toEqual(['sh.helm.release.v1.probe.v1']);
      expect(
        (await core.readNamespace({ name: namespace })).metadata
          ?.deletionTimestamp,
      ).toBeUndefined();
    });

    it("deletes exactly the release's objects and records as the engine's identity when its tenant is deleted, so helm finds no release before the namespace goes", async () => {
      const code = `unrd${suffix}`;
      const namespace = `tenant-${code}`;
      const role = `${code}-reader`;
      expect(outcome(await tenant(code, []))).toEqual(succeeded);
      expect(
        outcome(
          await run(
            {
              kind: 'chart',
              cluster: 'dev',
              namespace,
              release: {
                name: 'probe',
                chart: 'clusterreader',
                values: { roleName: role },
              },
            },
            aliceWithRbac,
          ),
        ),
      ).toEqual(succeeded);
      const clusterRole = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: role },
      };
      // Another ClusterRole, of no release: it stays.
      await objects.create({
        ...clusterRole,
        metadata: { name: `${code}-other` },
      } as any);
      const before = await inNamespace(namespace);
      // What the cluster shows once the release is uninstalled, when the namespace is deleted.
      let atNamespaceDelete:
        | { objects: Record<string, string>; status: unknown }
        | undefined;
      const deleteNamespace = KubeClient.prototype.deleteNamespace;
      jest
        .spyOn(KubeClient.prototype, 'deleteNamespace')
        .mockImplementationOnce(async function deleting(
          this: KubeClient,
          name: string,
        ) {
          atNamespaceDelete = {
            objects: await inNamespace(namespace),
            status: await helmStatus(namespace, 'probe'),
          };
          return deleteNamespace.call(this, name);
        });

      const deleted = await run({
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: code,
      });

      expect(outcome(deleted)).toEqual(succeeded);
      expect(atNamespaceDelete).toEqual({
        objects: without(before, [
          'ConfigMap/probe-cfg',
          'Secret/sh.helm.release.v1.probe.v1',
        ]),
        status: undefined,
      });
      expect(await exists(clusterRole)).toBeUndefined();
      expect(
        await exists({ ...clusterRole, metadata: { name: `${code}-other` } }),
      ).toBeDefined();
      expect(deleted.applied?.filter(c => /probe|-reader/.test(c))).toEqual([
        `deleted ClusterRole/${role}`,
        `deleted ConfigMap/probe-cfg in ${namespace}`,
        `deleted Secret/sh.helm.release.v1.probe.v1 in ${namespace}`,
        `uninstalled release probe in ${namespace}`,
      ]);
    });
  },
);
