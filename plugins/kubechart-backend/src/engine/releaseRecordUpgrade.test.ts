import { TestDatabases } from '@backstage/backend-test-utils';
import { KUBECHART_TENANT_LABEL } from '@kubechart/plugin-kubechart-common';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
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
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';
import { writeClusterReaderChart } from '../__testUtils__/clusterReaderChart';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
/** Alice with the permission to apply the cluster-scoped kinds the platform allows (here ClusterRoles). */
const aliceWithRbac: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: true,
  isTenantAdmin: false,
};

/** A `helm.sh/release.v1` Secret's release: base64 (Secret data) of base64 of gzipped JSON. */
const decode = (data: string) =>
  JSON.parse(
    gunzipSync(
      Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64'),
    ).toString('utf8'),
  );
const encode = (record: unknown, text = JSON.stringify(record)) =>
  Buffer.from(gzipSync(Buffer.from(text)).toString('base64')).toString(
    'base64',
  );

const clusterRole = (name: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name },
});

/**
 * helm's upgrade deletes what the current release record names and the new render does not, and
 * updates what both name without asking whose it is. The record is a Secret in the release's
 * namespace, which the namespace's admins and workloads may write: an upgrade (run by the engine's
 * own identity when the release holds allowed cluster-scoped objects) must not act on objects a
 * rewritten record names that are not the release's.
 */
describe.each(['helm3', 'helm4'] as const)(
  'upgrading a release whose record names objects that are not its own (%s)',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
    let core: CoreV1Api;
    let objects: KubernetesObjectApi;
    let charts: string;
    const suffix = helmBin.slice(-1);

    const finish = async (request: any, caller = aliceWithRbac) => {
      const run = await engine.submit(request, 'user:default/alice', caller);
      await engine.waitFor(run.id);
      return (await store.getRun(run.id))!;
    };
    const outcome = (run: { status: string; failureReason?: string }) => ({
      status: run.status,
      reason: run.failureReason,
    });
    const exists = async (obj: any) => {
      try {
        await objects.read(obj);
        return true;
      } catch (e: any) {
        if (e?.code === 404) return false;
        throw e;
      }
    };
    const tenant = (code: string) =>
      finish({ kind: 'tenant', cluster: 'dev', tenant: code, releases: [] });
    const install = (code: string, role: string) =>
      finish({
        kind: 'chart',
        cluster: 'dev',
        namespace: `tenant-${code}`,
        release: {
          name: 'probe',
          chart: 'clusterreader',
          values: { roleName: role },
        },
      });
    const revisions = async (namespace: string, release = 'probe') =>
      (
        await core.listNamespacedSecret({
          namespace,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items
        .map(s => Number(s.metadata?.labels?.version))
        .sort((a, b) => a - b);
    /**
     * Writes revision 2 of `release`: revision 1's record with `extra` added to its manifest, written
     * as JSON by `text` (default: the record as it is).
     */
    const forgeRecord = async (
      namespace: string,
      extra: string,
      release = 'probe',
      text?: (record: any, forgedManifest: string) => string,
    ) => {
      const v1 = await core.readNamespacedSecret({
        name: `sh.helm.release.v1.${release}.v1`,
        namespace,
      });
      const record = decode(v1.data!.release);
      record.version = 2;
      record.info.status = 'deployed';
      const forgedManifest = `${record.manifest}\n---\n${extra}`;
      if (!text) record.manifest = forgedManifest;
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name: `sh.helm.release.v1.${release}.v2`,
            labels: {
              owner: 'helm',
              name: release,
              status: 'deployed',
              version: '2',
            },
          },
          type: 'helm.sh/release.v1',
          data: {
            release: encode(record, text?.(record, forgedManifest)),
          },
        },
      });
    };

    beforeAll(async () => {
      sim = await startSim();
      charts = await fs.mkdtemp(path.join(os.tmpdir(), 'record-upgrade-'));
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
      const created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        config,
        helm: helmBin,
      });
      ({ engine, store } = created);
      core = created.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      objects = KubernetesObjectApi.makeApiClient(
        created.clusters.kubeConfig('dev'),
      );
    });
    afterAll(async () => {
      await sim?.stop();
      await fs.rm(charts, { recursive: true, force: true });
    });

    it("refuses the upgrade and keeps the objects a forged record adds, another namespace's, a Namespace and another ClusterRole", async () => {
      const code = `zeta${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await install(code, `${code}-reader`))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // Objects that are not the release's, outside its namespace and tenant.
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: `victim${suffix}` }, data: { keep: 'me' } },
      });
      await core.createNamespace({
        body: { metadata: { name: `victim-ns${suffix}` } },
      });
      await objects.create(clusterRole(`victim-role${suffix}`) as any);
      await forgeRecord(
        namespace,
        [
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: victim${suffix}\n  namespace: default\ndata: { keep: me }`,
          `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: victim-ns${suffix}`,
          `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: victim-role${suffix}`,
        ].join('\n---\n'),
      );

      const refused = await install(code, `${code}-reader`);

      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(`ConfigMap/victim${suffix}`),
      });
      expect(refused.failureReason).toContain(`Namespace/victim-ns${suffix}`);
      expect(refused.failureReason).toContain(
        `ClusterRole/victim-role${suffix}`,
      );
      expect(refused.failureReason).toContain('nothing was applied');
      expect(
        await exists({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `victim${suffix}`, namespace: 'default' },
        }),
      ).toBe(true);
      expect(
        await exists({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: `victim-ns${suffix}` },
        }),
      ).toBe(true);
      expect(await exists(clusterRole(`victim-role${suffix}`))).toBe(true);
      // helm never ran: no revision was added to the forged one.
      expect(await revisions(namespace)).toEqual([1, 2]);
    });

    // helm reads the record with Go's encoding/json: a key matches a field whatever its case (with
    // Unicode folding: ſ is s), and of two keys for one field the last wins.
    it.each([
      [
        'a second manifest key spelled Manifest',
        (record: any, forged: string) =>
          `${JSON.stringify(record).slice(0, -1)},"Manifest":${JSON.stringify(
            forged,
          )}}`,
        '"Manifest"',
        'kappa',
      ],
      [
        'its manifest under the key manifeſt',
        (record: any, forged: string) =>
          JSON.stringify({ ...record, manifest: undefined }).replace(
            /^\{/,
            `{"manifeſt":${JSON.stringify(forged)},`,
          ),
        '"manifeſt"',
        'mu',
      ],
    ])(
      'refuses the upgrade when a forged record holds %s, and keeps the objects it adds',
      async (_, text, key, name) => {
        const code = `${name}${suffix}`;
        const namespace = `tenant-${code}`;
        expect(outcome(await tenant(code))).toEqual({
          status: 'succeeded',
          reason: undefined,
        });
        expect(outcome(await install(code, `${code}-reader`))).toEqual({
          status: 'succeeded',
          reason: undefined,
        });
        await core.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { name: `victim-${code}` }, data: { keep: 'me' } },
        });
        await objects.create(clusterRole(`victim-role-${code}`) as any);
        await forgeRecord(
          namespace,
          [
            `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: victim-${code}\n  namespace: default\ndata: { keep: me }`,
            `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: victim-role-${code}`,
          ].join('\n---\n'),
          'probe',
          text,
        );

        const refused = await install(code, `${code}-reader`);

        expect(outcome(refused)).toEqual({
          status: 'failed',
          reason: expect.stringContaining('sh.helm.release.v1.probe.v2'),
        });
        expect(refused.failureReason).toContain(key);
        expect(
          await exists({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `victim-${code}`, namespace: 'default' },
          }),
        ).toBe(true);
        expect(await exists(clusterRole(`victim-role-${code}`))).toBe(true);
        expect(await revisions(namespace)).toEqual([1, 2]);
      },
    );

    it("refuses a forged record's objects without naming their owner, and a missing Namespace as an existing one", async () => {
      const code = `nu${suffix}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await install(code, `${code}-reader`))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // Another tenant's objects, whose owner the engine reads with its own identity.
      await objects.create({
        ...clusterRole(`private-role${suffix}`),
        metadata: {
          name: `private-role${suffix}`,
          labels: { [KUBECHART_TENANT_LABEL]: `secretive${suffix}` },
          annotations: {
            'meta.helm.sh/release-name': `hidden${suffix}`,
            'meta.helm.sh/release-namespace': `tenant-secretive${suffix}`,
          },
        },
      } as any);
      await core.createNamespace({
        body: { metadata: { name: `tenant-present${suffix}` } },
      });
      await forgeRecord(
        `tenant-${code}`,
        [
          `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: private-role${suffix}`,
          `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-present${suffix}`,
          `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-absent${suffix}`,
        ].join('\n---\n'),
      );

      const refused = await install(code, `${code}-reader`);

      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(`ClusterRole/private-role${suffix}`),
      });
      expect(refused.failureReason).not.toContain('secretive');
      expect(refused.failureReason).not.toContain(`hidden${suffix}`);
      const line = (name: string) =>
        refused
          .failureReason!.split('; ')
          .find(l => l.startsWith(name))
          ?.slice(name.length);
      expect(line(`Namespace/tenant-present${suffix}`)).toBeDefined();
      expect(line(`Namespace/tenant-absent${suffix}`)).toBe(
        line(`Namespace/tenant-present${suffix}`),
      );
      expect(await revisions(`tenant-${code}`)).toEqual([1, 2]);
    });

    it("refuses the upgrade when a forged record names an object of the namespace that is not the release's", async () => {
      const code = `eta${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await install(code, `${code}-reader`))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // The tenant's default-deny policy, which only tenant runs change.
      await forgeRecord(
        namespace,
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: kubechart-default-deny`,
      );

      const refused = await install(code, `${code}-reader`);

      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('NetworkPolicy/kubechart-default-deny'),
      });
      expect(
        await exists({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'kubechart-default-deny', namespace },
        }),
      ).toBe(true);
      expect(await revisions(namespace)).toEqual([1, 2]);
    });

    it("refuses a rollback whose current record names an object of the namespace that is not the release's", async () => {
      const code = `iota${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(
        outcome(
          await finish({
            kind: 'chart',
            cluster: 'dev',
            namespace,
            release: {
              name: 'web',
              chart: 'webapp',
              values: { replicas: 1, pdb: false },
            },
          }),
        ),
      ).toEqual({ status: 'succeeded', reason: undefined });
      await forgeRecord(
        namespace,
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: kubechart-default-deny`,
        'web',
      );

      const refused = await finish({
        kind: 'rollback',
        cluster: 'dev',
        namespace,
        release: 'web',
        revision: 1,
      });

      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('NetworkPolicy/kubechart-default-deny'),
      });
      expect(refused.failureReason).toContain('was not rolled back');
      expect(
        await exists({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'kubechart-default-deny', namespace },
        }),
      ).toBe(true);
      expect(await revisions(namespace, 'web')).toEqual([1, 2]);
    });

    it("upgrades to the chart's defaults when the run gives no values, not to the values of the release's record", async () => {
      const code = `lambda${suffix}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await install(code, `${code}-custom`))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });

      const upgraded = await finish({
        kind: 'chart',
        cluster: 'dev',
        namespace: `tenant-${code}`,
        release: { name: 'probe', chart: 'clusterreader', values: {} },
      });

      expect(outcome(upgraded)).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(await exists(clusterRole('reader'))).toBe(true);
      expect(await exists(clusterRole(`${code}-custom`))).toBe(false);
    });

    it('upgrades a release whose record holds only its own objects, deleting the ClusterRole it no longer renders', async () => {
      const code = `theta${suffix}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await install(code, `${code}-old`))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await install(code, `${code}-new`))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(await exists(clusterRole(`${code}-old`))).toBe(false);
      expect(await exists(clusterRole(`${code}-new`))).toBe(true);
    });
  },
);
