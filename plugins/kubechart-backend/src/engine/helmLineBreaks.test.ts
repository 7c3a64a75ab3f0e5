import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
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
/** A namespace the platform assigned to alice: no tenant, so the post-render gate adds no labels. */
const ASSIGNED = 'shop';

/** helm's release record: base64 of gzipped JSON, which the Secret holds base64-encoded again. */
const decodeRecord = (data: string) =>
  JSON.parse(
    gunzipSync(
      Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64'),
    ).toString('utf8'),
  );
const encodeRecord = (record: unknown) =>
  Buffer.from(
    gzipSync(Buffer.from(JSON.stringify(record))).toString('base64'),
  ).toString('base64');

type PodSpecLike =
  | {
      hostNetwork?: boolean;
      hostPID?: boolean;
      containers: Array<{ securityContext?: { privileged?: boolean } }>;
    }
  | undefined;
const runsOnHost = (spec: PodSpecLike) =>
  !!spec &&
  (!!spec.hostNetwork ||
    !!spec.hostPID ||
    spec.containers.some(c => !!c.securityContext?.privileged));

/** A pod helm would run with the host's network and privileged: what every case below hides. */
const HIDDEN_POD = [
  'apiVersion: v1',
  'kind: Pod',
  'metadata:',
  '  name: hidden',
  'spec:',
  '  hostNetwork: true',
  '  automountServiceAccountToken: false',
  '  securityContext: { runAsNonRoot: true }',
  '  containers:',
  '    - name: app',
  '      image: registry.example.com/team/web:1.0.0',
  '      imagePullPolicy: Always',
  '      securityContext:',
  '        privileged: true',
  '        allowPrivilegeEscalation: false',
  '        readOnlyRootFilesystem: true',
  '        capabilities: { drop: [ALL] }',
  '      resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { cpu: 100m, memory: 64Mi } }',
];

// helm reads manifests with go-yaml v2 (YAML 1.1), documents split by apimachinery's YAMLReader;
// the policy with js-yaml (YAML 1.2). go-yaml reads U+0085, U+2028 and U+2029 as line breaks, and
// YAMLReader starts a document at `---` followed by any Unicode space or a `#`: text that the two
// read differently is refused wherever the policy reads it, so helm never applies what the policy
// did not see. Each case below ran a privileged pod with the host's network in kube-sim while the
// run reported success and the policy report said no-privileged and no-host-namespaces passed.
describe.each(['helm3', 'helm4'] as const)(
  'text helm and the policy read differently, against real %s',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let created: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    let batch: BatchV1Api;
    let rbac: RbacAuthorizationV1Api;

    const finish = async (request: any) => {
      const run = await engine.submit(request, 'user:default/alice', alice);
      await engine.waitFor(run.id);
      return (await created.store.getRun(run.id))!;
    };
    const chart = (name: string, chartName: string) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: ASSIGNED,
      release: { name, chart: chartName, values: {} },
    });
    /** Pods and Deployments in the namespace running with a host namespace or privileged. */
    const hostWorkloads = async () => [
      ...(await core.listNamespacedPod({ namespace: ASSIGNED })).items
        .filter(p => runsOnHost(p.spec))
        .map(p => `Pod/${p.metadata?.name}`),
      ...(await apps.listNamespacedDeployment({ namespace: ASSIGNED })).items
        .filter(d => runsOnHost(d.spec?.template.spec))
        .map(d => `Deployment/${d.metadata?.name}`),
    ];
    const revisions = async (release: string) =>
      (
        await core.listNamespacedSecret({
          namespace: ASSIGNED,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items
        .map(s => s.metadata!.name!)
        .sort();
    /** Rewrites the manifest of a release record, as someone with the namespace's admin role can. */
    const forge = async (
      release: string,
      revision: number,
      edit: (manifest: string) => string,
    ) => {
      const name = `sh.helm.release.v1.${release}.v${revision}`;
      const secret = await core.readNamespacedSecret({
        name,
        namespace: ASSIGNED,
      });
      const record = decodeRecord(secret.data!.release);
      const edited = edit(record.manifest);
      expect(edited).not.toBe(record.manifest);
      record.manifest = edited;
      secret.data!.release = encodeRecord(record);
      await core.replaceNamespacedSecret({
        name,
        namespace: ASSIGNED,
        body: secret,
      });
    };
    /** Two revisions of `hostflags` installed with helm itself, both harmless. */
    const installTwice = async (release: string) => {
      const helm = new HelmCli({ binary: helmBinary(helmBin) });
      const kubeconfig = created.clusters.kubeconfigYaml('dev');
      for (const values of [{}, { unused: 'x' }]) {
        await helm.upgradeInstall({
          release,
          namespace: ASSIGNED,
          kubeconfig,
          chart: path.join(chartDirectory, 'hostflags'),
          values,
        });
      }
      expect(await revisions(release)).toEqual([
        `sh.helm.release.v1.${release}.v1`,
        `sh.helm.release.v1.${release}.v2`,
      ]);
    };
    const rollback = (release: string) =>
      finish({
        kind: 'rollback',
        cluster: 'dev',
        namespace: ASSIGNED,
        release,
        revision: 1,
      });

    beforeAll(async () => {
      sim = await startSim();
      created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
        config: testConfig(sim, {
          clusters: {
            dev: {
              namespaces: { [ASSIGNED]: { owner: 'user:default/alice' } },
            },
          },
        }),
      });
      ({ engine } = created);
      const config = created.clusters.kubeConfig('dev');
      core = config.makeApiClient(CoreV1Api);
      apps = config.makeApiClient(AppsV1Api);
      batch = config.makeApiClient(BatchV1Api);
      rbac = config.makeApiClient(RbacAuthorizationV1Api);
      await core.createNamespace({ body: { metadata: { name: ASSIGNED } } });
    });
    afterAll(() => sim?.stop());

    it('refuses a chart whose hook hides hostNetwork and privileged after U+2028 in comments, and runs no hook', async () => {
      const run = await finish(chart('breaks', 'breakhook'));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'holds U+2028 (LINE SEPARATOR) on line',
      );
      expect(run.failureReason).toContain(
        "helm's YAML reader reads it as a line break and js-yaml does not",
      );
      expect(
        (await batch.listNamespacedJob({ namespace: ASSIGNED })).items.map(
          j => j.metadata?.name,
        ),
      ).toEqual([]);
      expect(await revisions('breaks')).toEqual([]);
      expect(await hostWorkloads()).toEqual([]);
    });

    it('refuses a rollback to a forged record whose comments end in U+2028, and rolls nothing back', async () => {
      await installTwice('brk-ls');
      await forge('brk-ls', 1, manifest =>
        manifest
          .replace(
            '      hostNetwork: false\n',
            '      # pod notes\u2028      hostNetwork: true\n',
          )
          .replace(
            '            privileged: false\n',
            '            # container notes\u2028            privileged: true\n',
          ),
      );
      const run = await rollback('brk-ls');
      expect(run.status).toBe('failed');
      expect(run.failureReason).toMatch(
        /U\+2028 \(LINE SEPARATOR\) on line \d+: helm's YAML reader reads it as a line break and js-yaml does not/,
      );
      // Nothing was rolled back: helm wrote no third revision.
      expect(await revisions('brk-ls')).toHaveLength(2);
      expect(await hostWorkloads()).not.toContain('Deployment/brk-ls');
    });

    it('refuses a rollback to a forged record hiding a pod behind ---U+00A0#, and rolls nothing back', async () => {
      await installTwice('brk-sep');
      // To js-yaml the pod is a block string under the key `---\u00a0#` of a ConfigMap; helm's
      // YAMLReader starts a document at that line and creates the (indented) pod.
      await forge('brk-sep', 1, manifest =>
        [
          manifest.replace(/\n*$/, '\n'),
          '---',
          '# Source: hostflags/templates/notes.yaml',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: notes',
          '---\u00a0#: |',
          ...HIDDEN_POD.map(l => `  ${l}`),
          '',
        ].join('\n'),
      );
      const run = await rollback('brk-sep');
      expect(run.status).toBe('failed');
      expect(run.failureReason).toMatch(
        /has a line starting with --- followed by U\+00A0 on line \d+: helm's YAML reader starts a new document there and js-yaml does not/,
      );
      expect(await revisions('brk-sep')).toHaveLength(2);
      expect(
        (await core.listNamespacedPod({ namespace: ASSIGNED })).items.map(
          p => p.metadata?.name,
        ),
      ).not.toContain('hidden');
      expect(await hostWorkloads()).not.toContain('Deployment/brk-sep');
    });

    it('refuses a rollback to a forged record whose RoleBinding starts with U+FEFF, and rolls nothing back', async () => {
      await installTwice('brk-bom');
      // helm's reader drops a byte order mark at the start of each document, js-yaml only at the
      // start of the text: to js-yaml the subjects are an unknown key `\ufeffsubjects`, to helm
      // the RoleBinding's subjects, granting every authenticated user the namespace's admin role.
      await forge('brk-bom', 1, manifest =>
        [
          manifest.replace(/\n*$/, '\n'),
          '---',
          '\ufeffsubjects: [{ kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io }]',
          'apiVersion: rbac.authorization.k8s.io/v1',
          'kind: RoleBinding',
          'metadata:',
          '  name: everyone-admin',
          'roleRef: { kind: ClusterRole, name: admin, apiGroup: rbac.authorization.k8s.io }',
          '',
        ].join('\n'),
      );
      const run = await rollback('brk-bom');
      expect(run.status).toBe('failed');
      expect(run.failureReason).toMatch(
        /holds U\+FEFF \(BYTE ORDER MARK\) at the start of line \d+: helm's YAML reader drops it at the start of a document and js-yaml does not/,
      );
      expect(await revisions('brk-bom')).toHaveLength(2);
      expect(
        (
          await rbac.listNamespacedRoleBinding({ namespace: ASSIGNED })
        ).items.map(b => b.metadata?.name),
      ).not.toContain('everyone-admin');
    });

    it('refuses to upgrade over a forged record it cannot read as helm does, applying nothing', async () => {
      const first = await finish(chart('same', 'hostflags'));
      expect(first.status).toBe('succeeded');
      await forge('same', 1, manifest =>
        manifest.replace(
          '      hostNetwork: false\n',
          '      hostNetwork: false\n      # notes\u2028      hostPID: true\n',
        ),
      );
      // helm's upgrade deletes or changes what that record names: what it reads there cannot be
      // known, so the run is refused before helm runs, and the record stays for an admin to correct.
      const again = await finish(chart('same', 'hostflags'));
      expect(again.status).toBe('failed');
      expect(again.failureReason).toMatch(
        /^Release same in .+ was not upgraded: its release record \(sh\.helm\.release\.v1\.same\.v1, revision 1\) cannot be read as manifests \(.+\), so what helm would delete or change cannot be checked; nothing was applied\./,
      );
      expect(await revisions('same')).toEqual(['sh.helm.release.v1.same.v1']);
      expect(await hostWorkloads()).not.toContain('Deployment/same');
    });
  },
);
