import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { Run } from '@kubechart/plugin-kubechart-common';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};

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

const release = (name: string) => ({
  name,
  chart: 'webapp',
  values: { replicas: 1 },
});
const tenant = (code: string, names: string[], pruneReleases = false) => ({
  kind: 'tenant' as const,
  cluster: 'dev',
  tenant: code,
  releases: names.map(release),
  ...(pruneReleases ? { pruneReleases } : {}),
});

const defaultDeny = [
  '---',
  '# Source: webapp/templates/deny.yaml',
  'apiVersion: networking.k8s.io/v1',
  'kind: NetworkPolicy',
  'metadata:',
  '  name: kubechart-default-deny',
  'spec:',
  '  podSelector: {}',
  '',
].join('\n');
const webDeployment = [
  '---',
  '# Source: webapp/templates/other.yaml',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: web',
  '',
].join('\n');
/** A pre-delete hook that would replace the default-deny NetworkPolicy with one allowing everything. */
const allowAllHook = {
  name: 'kubechart-default-deny',
  kind: 'NetworkPolicy',
  path: 'webapp/templates/hook.yaml',
  manifest: [
    'apiVersion: networking.k8s.io/v1',
    'kind: NetworkPolicy',
    'metadata:',
    '  name: kubechart-default-deny',
    '  annotations:',
    '    helm.sh/hook: pre-delete',
    'spec:',
    '  podSelector: {}',
    '  ingress: [{}]',
    '  policyTypes: [Ingress]',
    '',
  ].join('\n'),
  events: ['pre-delete'],
  last_run: { started_at: '', completed_at: '', phase: '' },
  weight: 0,
  delete_policies: ['before-hook-creation'],
};

// helm uninstalls what the release record it finds names. The record is a Secret in the tenant's
// namespace, which its admins and workloads may write: a release is uninstalled (pruned, or with its
// tenant) only when its record names this release's objects alone, whichever identity helm acts as.
describe.each(databases.eachSupportedId())(
  "uninstalling a tenant's release as its namespace's deployer on %p",
  databaseId => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    let networking: NetworkingV1Api;

    beforeAll(async () => {
      sim = await startSim();
      t = await createTestEngine({ databases, databaseId, sim });
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      networking = t.clusters.kubeConfig('dev').makeApiClient(NetworkingV1Api);
    });
    afterAll(() => sim?.stop());

    const finish = async (request: any): Promise<Run> => {
      const run = await t.engine.submit(request, 'user:default/alice', alice);
      await t.engine.waitFor(run.id);
      return (await t.store.getRun(run.id))!;
    };
    const outcome = (run: Run) => ({
      status: run.status,
      reason: run.failureReason,
    });
    const succeeded = { status: 'succeeded', reason: undefined };
    const helmReleases = async (namespace: string) =>
      [
        ...new Set(
          (
            await core.listNamespacedSecret({
              namespace,
              labelSelector: 'owner=helm',
            })
          ).items.map(s => s.metadata?.labels?.name),
        ),
      ].sort();
    const denyUid = async (namespace: string) =>
      (
        await networking.readNamespacedNetworkPolicy({
          name: 'kubechart-default-deny',
          namespace,
        })
      ).metadata?.uid;
    const deployments = async (namespace: string) =>
      (
        await t.clusters
          .kubeConfig('dev')
          .makeApiClient(AppsV1Api)
          .listNamespacedDeployment({ namespace })
      ).items
        .map(d => d.metadata?.name)
        .sort();
    /** Rewrites a release record, as someone with Secret write in the namespace can. */
    const forge = async (
      namespace: string,
      name: string,
      edit: (record: any) => void,
    ) => {
      const secret = await core.readNamespacedSecret({ name, namespace });
      const record = decodeRecord(secret.data!.release);
      edit(record);
      secret.data!.release = encodeRecord(record);
      await core.replaceNamespacedSecret({ name, namespace, body: secret });
    };

    it("refuses to prune a release whose record names the tenant's default-deny NetworkPolicy or another release's Deployment, and prunes it once the record is its own", async () => {
      const namespace = 'tenant-unpa';
      expect(outcome(await finish(tenant('unpa', ['web', 'api'])))).toEqual(
        succeeded,
      );
      const uid = await denyUid(namespace);
      let genuine = '';
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        genuine = record.manifest;
        record.manifest = `${record.manifest}\n${defaultDeny}${webDeployment}`;
      });

      const refused = await finish(tenant('unpa', ['web'], true));
      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('NetworkPolicy/kubechart-default-deny'),
      });
      expect(refused.failureReason).toContain('Deployment/web');
      expect(refused.failureReason).toContain('release api');
      // Names the objects, not whose they are.
      expect(refused.failureReason).not.toContain('release web');
      expect(refused.failureReason).not.toContain('tenant unpa');
      // Nothing was uninstalled: the policy, web and api are all still there.
      expect(await denyUid(namespace)).toBe(uid);
      expect(await deployments(namespace)).toEqual(['api', 'web']);
      expect(await helmReleases(namespace)).toEqual(['api', 'web']);
      expect(
        (await t.store.getTenants('unpa')).find(x => x.cluster === 'dev')
          ?.releases,
      ).toEqual(expect.arrayContaining(['web', 'api']));

      // The record as helm wrote it: api is pruned, web and the policy stay.
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        record.manifest = genuine;
      });
      expect(outcome(await finish(tenant('unpa', ['web'], true)))).toEqual(
        succeeded,
      );
      expect(await helmReleases(namespace)).toEqual(['web']);
      expect(await deployments(namespace)).toEqual(['web']);
      expect(await denyUid(namespace)).toBe(uid);
    });

    it('refuses to prune a release whose record has a delete hook that would replace the default-deny NetworkPolicy', async () => {
      const namespace = 'tenant-unpb';
      expect(outcome(await finish(tenant('unpb', ['web', 'api'])))).toEqual(
        succeeded,
      );
      const uid = await denyUid(namespace);
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        record.hooks = [allowAllHook];
      });
      const refused = await finish(tenant('unpb', ['web'], true));
      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('NetworkPolicy/kubechart-default-deny'),
      });
      expect(refused.failureReason).toContain('a delete hook');
      expect(await denyUid(namespace)).toBe(uid);
      expect(await helmReleases(namespace)).toEqual(['api', 'web']);

      // A delete hook whose object is left from an earlier run of it (a hook too) runs as before.
      const cleanup = {
        ...allowAllHook,
        name: 'api-cleanup',
        kind: 'ConfigMap',
        manifest: [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: api-cleanup',
          '  annotations:',
          '    helm.sh/hook: pre-delete',
          'data:',
          '  run: again',
          '',
        ].join('\n'),
      };
      await core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: {
            name: 'api-cleanup',
            annotations: { 'helm.sh/hook': 'pre-delete' },
          },
          data: { run: 'before' },
        },
      });
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        record.hooks = [cleanup];
      });
      expect(outcome(await finish(tenant('unpb', ['web'], true)))).toEqual(
        succeeded,
      );
      expect(await helmReleases(namespace)).toEqual(['web']);
      expect(
        (
          await core.readNamespacedConfigMap({
            name: 'api-cleanup',
            namespace,
          })
        ).data,
      ).toEqual({ run: 'again' });
      expect(await denyUid(namespace)).toBe(uid);
    });

    it('refuses to prune a release whose record has a delete hook that grants RBAC rights or runs as the deployer, creating nothing', async () => {
      const namespace = 'tenant-unph';
      expect(outcome(await finish(tenant('unph', ['web', 'api'])))).toEqual(
        succeeded,
      );
      const bindingHook = {
        ...allowAllHook,
        name: 'carol-admin',
        kind: 'RoleBinding',
        manifest: [
          'apiVersion: rbac.authorization.k8s.io/v1',
          'kind: RoleBinding',
          'metadata:',
          '  name: carol-admin',
          '  annotations:',
          '    helm.sh/hook: pre-delete',
          'roleRef:',
          '  apiGroup: rbac.authorization.k8s.io',
          '  kind: ClusterRole',
          '  name: admin',
          'subjects:',
          '  - apiGroup: rbac.authorization.k8s.io',
          '    kind: User',
          '    name: carol',
          '',
        ].join('\n'),
      };
      const deployerJob = {
        ...allowAllHook,
        name: 'api-cleanup',
        kind: 'Job',
        manifest: [
          'apiVersion: batch/v1',
          'kind: Job',
          'metadata:',
          '  name: api-cleanup',
          '  annotations:',
          '    helm.sh/hook: post-delete',
          'spec:',
          '  template:',
          '    spec:',
          '      serviceAccountName: kubechart-deployer',
          '      restartPolicy: Never',
          '      containers:',
          '        - name: run',
          '          image: busybox:1.36',
          '',
        ].join('\n'),
        events: ['post-delete'],
      };
      const rbac = t.clusters
        .kubeConfig('dev')
        .makeApiClient(RbacAuthorizationV1Api);
      const batch = t.clusters.kubeConfig('dev').makeApiClient(BatchV1Api);
      const created = async () => ({
        bindings: (await rbac.listNamespacedRoleBinding({ namespace })).items
          .map(b => b.metadata?.name)
          .filter(n => n === 'carol-admin'),
        jobs: (await batch.listNamespacedJob({ namespace })).items.map(
          j => j.metadata?.name,
        ),
      });
      for (const [hook, rule] of [
        [bindingHook, 'RoleBinding/carol-admin'],
        [deployerJob, 'kubechart-deployer'],
      ] as const) {
        await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
          record.hooks = [hook];
        });
        const refused = await finish(tenant('unph', ['web'], true));
        expect(outcome(refused)).toEqual({
          status: 'failed',
          reason: expect.stringContaining(`${hook.kind}/${hook.name}`),
        });
        expect(refused.failureReason).toContain('a delete hook');
        expect(refused.failureReason).toContain(rule);
        expect(await helmReleases(namespace)).toEqual(['api', 'web']);
        expect(await created()).toEqual({ bindings: [], jobs: [] });
      }
    });

    it("refuses to delete a tenant while a release record in its namespace names the tenant's objects, and deletes it once that record is gone", async () => {
      const namespace = 'tenant-unpc';
      expect(outcome(await finish(tenant('unpc', ['web'])))).toEqual(succeeded);
      const uid = await denyUid(namespace);
      // A record of a release KubeChart never installed, naming the tenant's own objects.
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name: 'sh.helm.release.v1.forged.v1',
            labels: {
              owner: 'helm',
              name: 'forged',
              status: 'deployed',
              version: '1',
            },
          },
          type: 'helm.sh/release.v1',
          data: {
            release: encodeRecord({
              name: 'forged',
              namespace,
              version: 1,
              info: { status: 'deployed' },
              chart: { metadata: { name: 'forged', version: '0.1.0' } },
              config: {},
              manifest: defaultDeny,
            }),
          },
        },
      });
      const refused = await finish({
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'unpc',
      });
      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('NetworkPolicy/kubechart-default-deny'),
      });
      expect(refused.failureReason).toContain('release forged');
      expect(await denyUid(namespace)).toBe(uid);
      expect(
        (await core.listNamespace()).items.map(n => n.metadata?.name),
      ).toContain(namespace);

      await core.deleteNamespacedSecret({
        name: 'sh.helm.release.v1.forged.v1',
        namespace,
      });
      expect(
        outcome(
          await finish({
            kind: 'tenant-delete',
            cluster: 'dev',
            tenant: 'unpc',
          }),
        ),
      ).toEqual(succeeded);
      expect(
        (await core.listNamespace()).items.map(n => n.metadata?.name),
      ).not.toContain(namespace);
    });

    it('keeps the objects a release record marks helm.sh/resource-policy: keep when it prunes the release, as helm does', async () => {
      const namespace = 'tenant-unpk';
      expect(outcome(await finish(tenant('unpk', ['web', 'api'])))).toEqual(
        succeeded,
      );
      const service = await core.readNamespacedService({
        name: 'api',
        namespace,
      });
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        const marked = record.manifest.replace(
          'kind: Service\nmetadata:\n  name: api\n',
          'kind: Service\nmetadata:\n  name: api\n  annotations:\n    helm.sh/resource-policy: keep\n',
        );
        expect(marked).not.toBe(record.manifest);
        record.manifest = marked;
      });
      const pruned = await finish(tenant('unpk', ['web'], true));
      expect(outcome(pruned)).toEqual(succeeded);
      expect(await helmReleases(namespace)).toEqual(['web']);
      expect(await deployments(namespace)).toEqual(['web']);
      expect(
        (await core.readNamespacedService({ name: 'api', namespace })).metadata
          ?.uid,
      ).toBe(service.metadata?.uid);
      expect(
        (await t.store.getEvents(pruned.id, { limit: 5000 })).map(
          e => e.message,
        ),
      ).toContain(
        `[api] deleted 2 object(s) of release record sh.helm.release.v1.api.v1: Deployment/api, PodDisruptionBudget/api; kept as the record marks them (helm.sh/resource-policy or helm.sh/hook): Service/api`,
      );
    });

    it('says a release record a finalizer holds is still being deleted, not that it was written after the check', async () => {
      const namespace = 'tenant-unpf';
      expect(outcome(await finish(tenant('unpf', ['web', 'api'])))).toEqual(
        succeeded,
      );
      const name = 'sh.helm.release.v1.api.v1';
      const held = await core.readNamespacedSecret({ name, namespace });
      held.metadata!.finalizers = ['example.com/hold'];
      await core.replaceNamespacedSecret({ name, namespace, body: held });

      const pruned = await finish(tenant('unpf', ['web'], true));

      expect(outcome(pruned)).toEqual(succeeded);
      expect(await deployments(namespace)).toEqual(['web']);
      const left = await core.readNamespacedSecret({ name, namespace });
      expect(left.metadata?.deletionTimestamp).toBeDefined();
      expect(
        (await t.store.getEvents(pruned.id, { limit: 5000 })).map(
          e => e.message,
        ),
      ).toContain(
        `[api] release record ${name} is still being deleted: the finalizer example.com/hold holds it; it goes once that finalizer is removed`,
      );
      left.metadata!.finalizers = [];
      await core.replaceNamespacedSecret({ name, namespace, body: left });
    });

    it('names the objects a record at uninstalled still names when it prunes the release, which helm does not delete either', async () => {
      const namespace = 'tenant-unpu';
      expect(outcome(await finish(tenant('unpu', ['web', 'api'])))).toEqual(
        succeeded,
      );
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        record.info.status = 'uninstalled';
      });
      const marked = await core.readNamespacedSecret({
        name: 'sh.helm.release.v1.api.v1',
        namespace,
      });
      marked.metadata!.labels!.status = 'uninstalled';
      await core.replaceNamespacedSecret({
        name: 'sh.helm.release.v1.api.v1',
        namespace,
        body: marked,
      });

      const pruned = await finish(tenant('unpu', ['web'], true));

      expect(outcome(pruned)).toEqual(succeeded);
      expect(await helmReleases(namespace)).toEqual(['web']);
      expect(await deployments(namespace)).toEqual(['api', 'web']);
      const warning = (
        await t.store.getEvents(pruned.id, { limit: 5000 })
      ).find(e => /at uninstalled/.test(e.message));
      expect(warning).toMatchObject({
        level: 'warn',
        message: `[api] release record sh.helm.release.v1.api.v1 is at uninstalled (helm's --keep-history): only the release records were deleted, as helm deletes nothing more; the objects it names were not deleted: PodDisruptionBudget/api, Service/api, Deployment/api`,
      });
    });
  },
);
