import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  HelmCli,
  HelmPostRenderer,
  PostRenderDecision,
  startPostRenderGate,
} from '@kubechart/plugin-kubechart-node';
import { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  chartDirectory,
  createTestEngine,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';
import { writeClusterReaderChart } from '../__testUtils__/clusterReaderChart';
import {
  forgeRecord,
  secretNames,
  webappChart,
} from '../__testUtils__/releaseRecords';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
/** Alice with the permission to apply the cluster-scoped kinds the platform allows (here ClusterRoles). */
const aliceWithRbac: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: true,
  isTenantAdmin: false,
};

const clusterRole = (name: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name },
});

/**
 * Sends `manifest` to a running post-render gate as its post-renderer does (the gate's socket and
 * token are its helm 3 arguments) and returns its decision.
 */
const askGate = (gate: HelmPostRenderer, manifest: string) => {
  const [, , , socketPath, , token] = gate.helmArgs(3);
  return new Promise<PostRenderDecision>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.createConnection(socketPath, () =>
      socket.end(`${token}\n${manifest}`),
    );
    socket.on('data', c => chunks.push(c as Buffer));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      const nl = all.indexOf('\n');
      const header = JSON.parse(all.slice(0, nl));
      resolve(
        header.ok
          ? { approved: true, manifest: all.slice(nl + 1) }
          : { approved: false, reason: header.reason },
      );
    });
  });
};

/**
 * An upgrade acts on the release record helm reads when it starts, whether helm runs with the engine's
 * own identity (its release holds allowed cluster-scoped objects) or as the namespace's deployer. The
 * record is a Secret in the release's namespace, which its admins and workloads may write: one written
 * after the engine checked the records and removed before helm applies must not make helm delete what
 * it names.
 */
describe.each(['helm3', 'helm4'] as const)(
  'upgrading while the release records change (%s)',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
    let core: CoreV1Api;
    let objects: KubernetesObjectApi;
    let charts: string;
    const suffix = helmBin.slice(-1);
    /**
     * What the next `helm upgrade --install` meets: `before` runs right before helm starts, `atGate`
     * once helm's post-renderer has handed over the manifests, before the engine's gate answers.
     */
    let race: { before(): Promise<void>; atGate(): Promise<void> } | undefined;

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
    const secretsLabelled = (namespace: string, labelSelector: string) =>
      secretNames({ core, namespace }, labelSelector);

    beforeAll(async () => {
      sim = await startSim();
      charts = await fs.mkdtemp(path.join(os.tmpdir(), 'record-race-'));
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
        wrapHelm: helm => {
          const upgradeInstall = helm.upgradeInstall.bind(helm);
          helm.upgradeInstall = async (
            options: Parameters<HelmCli['upgradeInstall']>[0],
          ) => {
            const now = race;
            race = undefined;
            if (!now || !options.postRenderer) return upgradeInstall(options);
            await now.before();
            // helm's post-renderer reaches this gate first, which acts and then asks the engine's.
            const engineGate = options.postRenderer;
            let acted = false;
            const gate = await startPostRenderGate({
              check: async manifest => {
                if (!acted) {
                  acted = true;
                  await now.atGate();
                }
                return askGate(engineGate, manifest);
              },
            });
            try {
              return await upgradeInstall({ ...options, postRenderer: gate });
            } finally {
              await gate.close();
            }
          };
          return helm;
        },
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

    it('refuses the upgrade when a forged record is written after the check and removed before the gate, and keeps the objects it names', async () => {
      const code = `race${suffix}`;
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
      const forged = 'sh.helm.release.v1.probe.v2';
      race = {
        // Revision 2: revision 1's record naming the victims too, as the namespace's users may write it.
        before: () =>
          forgeRecord(
            { core, namespace },
            {
              release: 'probe',
              from: 1,
              version: 2,
              labels: {
                owner: 'helm',
                name: 'probe',
                status: 'deployed',
                version: '2',
              },
              edit: record => {
                record.info.status = 'deployed';
                record.manifest = [
                  record.manifest,
                  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: victim-${code}\n  namespace: default\ndata: { keep: me }`,
                  `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: victim-role-${code}`,
                ].join('\n---\n');
              },
            },
          ),
        // helm has read it; gone again, the records look as they did when they were checked.
        atGate: async () => {
          await core.deleteNamespacedSecret({ name: forged, namespace });
        },
      };

      const refused = await install(code, `${code}-writer`);

      expect(race).toBeUndefined();
      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(forged),
      });
      expect(refused.failureReason).toContain(
        `changed after it was checked and before helm applied the release (Secret ${forged} was created)`,
      );
      expect(refused.failureReason).toContain('nothing was applied');
      expect(
        await exists({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `victim-${code}`, namespace: 'default' },
        }),
      ).toBe(true);
      expect(await exists(clusterRole(`victim-role-${code}`))).toBe(true);
      expect(await secretsLabelled(namespace, 'owner=helm,name=probe')).toEqual(
        ['sh.helm.release.v1.probe.v1'],
      );
      expect(await secretsLabelled(namespace, 'owner=kubechart')).toEqual([]);
    });

    const webapp = (code: string, tag: string) =>
      finish(webappChart(`tenant-${code}`, 'web', tag));
    const defaultDeny = (namespace: string) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'kubechart-default-deny', namespace },
    });

    it("refuses an upgrade helm runs as the namespace's deployer when a forged record is written after the check and removed before the gate", async () => {
      const code = `deployer${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await webapp(code, '1.0.0'))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      const forged = 'sh.helm.release.v1.web.v2';
      race = {
        // Revision 2: revision 1's record naming the tenant's default-deny policy too.
        before: () =>
          forgeRecord(
            { core, namespace },
            {
              release: 'web',
              from: 1,
              version: 2,
              labels: {
                owner: 'helm',
                name: 'web',
                status: 'deployed',
                version: '2',
              },
              edit: record => {
                record.info.status = 'deployed';
                record.manifest = `${record.manifest}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: kubechart-default-deny\n  namespace: ${namespace}\nspec:\n  podSelector: {}\n`;
              },
            },
          ),
        atGate: async () => {
          await core.deleteNamespacedSecret({ name: forged, namespace });
        },
      };

      const refused = await webapp(code, '1.1.0');

      expect(race).toBeUndefined();
      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `changed after it was checked and before helm applied the release (Secret ${forged} was created)`,
        ),
      });
      expect(refused.failureReason).toContain('nothing was applied');
      expect(await exists(defaultDeny(namespace))).toBe(true);
      expect(await secretsLabelled(namespace, 'owner=helm,name=web')).toEqual([
        'sh.helm.release.v1.web.v1',
      ]);
      expect(await secretsLabelled(namespace, 'owner=kubechart')).toEqual([]);
    });

    it("refuses an upgrade helm runs as the namespace's deployer when the watch of the records ends before the gate", async () => {
      const code = `expired${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await webapp(code, '1.0.0'))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      race = {
        // The cluster compacts its watch cache: every open watch ends (410), the records' too.
        before: async () => sim.faults.expireWatches(),
        atGate: async () => {},
      };

      const refused = await webapp(code, '1.1.0');

      expect(race).toBeUndefined();
      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          'changed after it was checked and before helm applied the release (whether a record was written cannot be told: the watch of its release records failed',
        ),
      });
      expect(refused.failureReason).toContain('nothing was applied');
      expect(await secretsLabelled(namespace, 'owner=helm,name=web')).toEqual([
        'sh.helm.release.v1.web.v1',
      ]);
      expect(await secretsLabelled(namespace, 'owner=kubechart')).toEqual([]);
    });

    it('upgrades with the engine identity when the records do not change, and leaves no marker behind', async () => {
      const code = `calm${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await tenant(code))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(outcome(await install(code, `${code}-reader`))).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      let atGate = false;
      race = {
        before: async () => {},
        atGate: async () => {
          atGate = true;
        },
      };

      const upgraded = await install(code, `${code}-writer`);

      expect(atGate).toBe(true);
      expect(outcome(upgraded)).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(await exists(clusterRole(`${code}-writer`))).toBe(true);
      expect(await exists(clusterRole(`${code}-reader`))).toBe(false);
      expect(
        (await secretsLabelled(namespace, 'owner=helm,name=probe')).sort(),
      ).toEqual(['sh.helm.release.v1.probe.v1', 'sh.helm.release.v1.probe.v2']);
      expect(await secretsLabelled(namespace, 'name=probe')).toHaveLength(2);
    });
  },
);
