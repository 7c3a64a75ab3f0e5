import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
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

const tenant = (code: string, names: string[], pruneReleases = false) => ({
  kind: 'tenant' as const,
  cluster: 'dev',
  tenant: code,
  releases: names.map(name => ({
    name,
    chart: 'webapp',
    values: { replicas: 1 },
  })),
  ...(pruneReleases ? { pruneReleases } : {}),
});

/**
 * Added to a record's manifest: js-yaml reads two ConfigMaps that do not exist (the second holding a
 * string), helm's uninstall splits the manifest at every line starting with `---` and reads only the
 * first document of each piece, so it reads note-a and the tenant's default-deny NetworkPolicy.
 */
const hiddenDefaultDeny = [
  '---',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: note-a',
  '...',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: note-b',
  "data: {note: 'see",
  `---${JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'kubechart-default-deny' },
    spec: { podSelector: {} },
  })} #'}`,
  '',
].join('\n');

// helm's uninstall splits a release record's manifest with its own pattern, not as a YAML stream: a
// record whose manifest reads otherwise so is refused, whatever it names.
describe.each(databases.eachSupportedId())(
  'uninstalling a release whose record helm splits otherwise on %p',
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

    it("refuses to prune a release whose record hides the tenant's default-deny NetworkPolicy from js-yaml, and prunes it once the record is as helm wrote it", async () => {
      const namespace = 'tenant-unsa';
      const installed = await finish(tenant('unsa', ['web', 'api']));
      expect(installed.status).toBe('succeeded');
      const uid = await denyUid(namespace);
      let genuine = '';
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        genuine = record.manifest;
        record.manifest = `${record.manifest}\n${hiddenDefaultDeny}`;
      });

      const refused = await finish(tenant('unsa', ['web'], true));
      expect({
        status: refused.status,
        reason: refused.failureReason,
      }).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          'release record sh.helm.release.v1.api.v1 cannot be read the same way helm reads it',
        ),
      });
      expect(await denyUid(namespace)).toBe(uid);
      expect(await helmReleases(namespace)).toEqual(['api', 'web']);

      // The record as helm wrote it: api is pruned, the policy stays.
      await forge(namespace, 'sh.helm.release.v1.api.v1', record => {
        record.manifest = genuine;
      });
      expect((await finish(tenant('unsa', ['web'], true))).status).toBe(
        'succeeded',
      );
      expect(await helmReleases(namespace)).toEqual(['web']);
      expect(await denyUid(namespace)).toBe(uid);
    });
  },
);
