import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { rawTarGz } from '../__testUtils__/rawTar';
import {
  chartDirectory,
  createTestEngine,
  helmBinary,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** Alice with the permission to apply the cluster-scoped kinds the platform allows (here CRDs). */
const aliceWithCrds: RunCaller = { ...alice, mayApplyClusterScoped: true };

const privilegedPod = [
  'apiVersion: v1',
  'kind: Pod',
  'metadata: { name: dup-escape }',
  'spec:',
  '  hostPID: true',
  '  containers:',
  '    - name: shell',
  '      image: registry.example.com/busybox:1',
  '      securityContext: { privileged: true }',
  '',
].join('\n');

describe.each(['helm3', 'helm4'] as const)(
  "a chart's crds/ as helm reads them, with real %s against kube-sim",
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
    let core: CoreV1Api;
    let packages: string;
    const code = `crds${helmBin.slice(-1)}`;
    const ns = `tenant-${code}`;

    let clusters: Awaited<ReturnType<typeof createTestEngine>>['clusters'];
    const finish = async (
      release: { name: string; chart: string },
      caller = alice,
    ) => {
      const run = await engine.submit(
        { kind: 'chart', cluster: 'dev', namespace: ns, release },
        'user:default/alice',
        caller,
      );
      await engine.waitFor(run.id);
      return (await store.getRun(run.id))!;
    };
    /** What is in the cluster for a release: pods anywhere, its ConfigMaps, its helm release records. */
    const inCluster = async (release: string) => ({
      pods: (await core.listPodForAllNamespaces()).items.map(
        p => `${p.metadata?.namespace}/${p.metadata?.name}`,
      ),
      configMaps: (await core.listNamespacedConfigMap({ namespace: ns })).items
        .map(c => c.metadata?.name)
        .filter(n => n?.startsWith(release)),
      releases: (
        await core.listNamespacedSecret({
          namespace: ns,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items.length,
    });

    beforeAll(async () => {
      sim = await startSim();
      packages = await fs.mkdtemp(path.join(os.tmpdir(), 'crd-packages-'));
      // A package whose crds/x.yaml appears twice: a privileged Pod, then a comment.
      await fs.writeFile(
        path.join(packages, 'dupc.tgz'),
        rawTarGz([
          {
            path: 'dupc/Chart.yaml',
            content: 'apiVersion: v2\nname: dupc\nversion: 0.1.0\n',
          },
          {
            path: 'dupc/templates/cm.yaml',
            content:
              'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }}-cfg }\n',
          },
          { path: 'dupc/crds/x.yaml', content: privilegedPod },
          { path: 'dupc/crds/x.yaml', content: '# nothing here\n' },
        ]),
      );
      const config = testConfig(sim, {
        clusters: {
          dev: {
            allowedClusterScopedKinds: [
              'apiextensions.k8s.io/CustomResourceDefinition',
            ],
          },
        },
      });
      config.kubechart.helm.chartDirectories = [chartDirectory, packages];
      const created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
        config,
      });
      ({ engine, store, clusters } = created);
      core = created.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      const tenant = await engine.submit(
        { kind: 'tenant', cluster: 'dev', tenant: code, releases: [] },
        'user:default/alice',
        alice,
      );
      await engine.waitFor(tenant.id);
    });
    afterAll(async () => {
      await sim?.stop();
      await fs.rm(packages, { recursive: true, force: true });
    });

    it('refuses a chart whose crds/ file with an upper-case extension holds a Pod; nothing is applied and the run says why', async () => {
      const run = await finish({ name: 'up', chart: 'crdupper' });
      expect({
        status: run.status,
        reason: run.failureReason,
      }).toEqual({
        status: 'failed',
        reason: expect.stringContaining('crds/evil.YAML holds a Pod'),
      });
      expect(run.failureReason).toContain(
        'only CustomResourceDefinitions are accepted in crds/',
      );
      expect(await inCluster('up')).toEqual({
        pods: [],
        configMaps: [],
        releases: 0,
      });
      // A dry run refuses it the same way.
      await expect(
        engine.preview({
          kind: 'chart',
          cluster: 'dev',
          namespace: ns,
          release: { name: 'up', chart: 'crdupper' },
        }),
      ).rejects.toThrow('crds/evil.YAML holds a Pod');
    });

    it('refuses a package that holds the same path twice, before helm sees it', async () => {
      const run = await finish({ name: 'dup', chart: 'dupc' });
      expect(run.status).toBe('failed');
      expect(run.failureReason).toBe(
        'Chart refused: the chart package holds dupc/crds/x.yaml more than once',
      );
      expect(await inCluster('dup')).toEqual({
        pods: [],
        configMaps: [],
        releases: 0,
      });
    });

    it("installs a chart's CRDs itself, checked, where helm would (over an uninstalled release's history too), and records them", async () => {
      const objects = KubernetesObjectApi.makeApiClient(
        clusters.kubeConfig('dev'),
      );
      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'gadgets.example.com' },
      };
      const first = await finish(
        { name: 'gad', chart: 'crdgadget' },
        aliceWithCrds,
      );
      expect(first.status).toBe('succeeded');
      expect(first.manifest).toContain('kind: CustomResourceDefinition');
      // Uninstalled with its history kept, and its CRD removed: the next install is a first install again.
      const kubeconfig = path.join(packages, 'kubeconfig');
      await fs.writeFile(kubeconfig, clusters.kubeconfigYaml('dev'));
      // kube-sim runs in this process: helm is run without blocking it.
      await promisify(execFile)(helmBinary(helmBin), [
        'uninstall',
        'gad',
        '--keep-history',
        '--namespace',
        ns,
        '--kubeconfig',
        kubeconfig,
      ]);
      await objects.delete(crd);
      const again = await finish(
        { name: 'gad', chart: 'crdgadget' },
        aliceWithCrds,
      );
      expect({ status: again.status, reason: again.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // The engine installed the checked CRD, and the run records it as sent.
      expect(await objects.read(crd)).toBeTruthy();
      expect(again.manifest).toContain('kind: CustomResourceDefinition');
      expect((await store.getEvents(again.id)).map(e => e.message)).toContain(
        "[gad] CustomResourceDefinition/gadgets.example.com from the chart's crds/: created",
      );
    });
  },
);
