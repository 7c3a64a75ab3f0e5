import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { Run } from '@kubechart/plugin-kubechart-common';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

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

/**
 * `helm upgrade --install` installs anew (deleting nothing) when the last record of the release's
 * history, in the order the API server lists the Secrets (by name), is `uninstalled`; otherwise it
 * upgrades, deleting what the highest record labelled `deployed` names and the render does not, even
 * when the record of the highest revision is `uninstalled`. The records are Secrets in the tenant's
 * namespace, which its admins and workloads may write.
 */
describe.each(['helm3', 'helm4'] as const)(
  'upgrading a release whose highest record is uninstalled (%s)',
  helmBin => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    let networking: NetworkingV1Api;
    const suffix = helmBin.slice(-1);

    beforeAll(async () => {
      sim = await startSim();
      t = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
      });
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      networking = t.clusters.kubeConfig('dev').makeApiClient(NetworkingV1Api);
    });
    afterAll(() => sim?.stop());

    const tenant = (code: string) => ({
      kind: 'tenant' as const,
      cluster: 'dev',
      tenant: code,
      releases: [{ name: 'web', chart: 'webapp', values: { replicas: 1 } }],
    });
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
    const denyUid = async (namespace: string) =>
      (
        await networking.readNamespacedNetworkPolicy({
          name: 'kubechart-default-deny',
          namespace,
        })
      ).metadata?.uid;
    const recordSecrets = async (namespace: string) =>
      (
        await core.listNamespacedSecret({
          namespace,
          labelSelector: 'owner=helm,name=web',
        })
      ).items
        .map(s => s.metadata!.name!)
        .sort();
    /**
     * Writes a Secret `name` labelled as a record of release web: revision 1's record, as
     * revision `version` with `status` (its label too), edited by `edit`.
     */
    const forge = async (
      namespace: string,
      name: string,
      version: number,
      status: string,
      edit: (record: any) => void = () => {},
    ) => {
      const v1 = await core.readNamespacedSecret({
        name: 'sh.helm.release.v1.web.v1',
        namespace,
      });
      const record = decodeRecord(v1.data!.release);
      record.version = version;
      record.info.status = status;
      edit(record);
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name,
            labels: {
              owner: 'helm',
              name: 'web',
              status,
              version: String(version),
            },
          },
          type: 'helm.sh/release.v1',
          data: { release: encodeRecord(record) },
        },
      });
    };
    const withDefaultDeny = (record: any) => {
      record.manifest = `${record.manifest}\n${defaultDeny}`;
    };

    it('refuses the upgrade when a record labelled deployed below it names the namespace default-deny NetworkPolicy, and keeps the policy', async () => {
      const code = `unv${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await finish(tenant(code)))).toEqual(succeeded);
      const uid = await denyUid(namespace);
      // Listed by name, v10 comes before v9: the last record helm lists is v9, labelled deployed, so
      // helm upgrades from it, although revision 10 is uninstalled.
      await forge(
        namespace,
        'sh.helm.release.v1.web.v9',
        9,
        'deployed',
        withDefaultDeny,
      );
      await forge(namespace, 'sh.helm.release.v1.web.v10', 10, 'uninstalled');

      const refused = await finish(tenant(code));

      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('NetworkPolicy/kubechart-default-deny'),
      });
      expect(refused.failureReason).toContain('sh.helm.release.v1.web.v9');
      expect(refused.failureReason).toContain('was not upgraded');
      expect(await denyUid(namespace)).toBe(uid);
      expect(await recordSecrets(namespace)).toEqual([
        'sh.helm.release.v1.web.v1',
        'sh.helm.release.v1.web.v10',
        'sh.helm.release.v1.web.v9',
      ]);
    });

    it('refuses a record Secret that helm lists last by a name it never gives a record, and keeps the policy', async () => {
      const code = `unz${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await finish(tenant(code)))).toEqual(succeeded);
      const uid = await denyUid(namespace);
      await forge(namespace, 'sh.helm.release.v1.web.v3', 3, 'uninstalled');
      await forge(namespace, 'zzz-web', 2, 'deployed', withDefaultDeny);

      const refused = await finish(tenant(code));

      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('zzz-web'),
      });
      expect(refused.failureReason).toContain('sh.helm.release.v1.web.v2');
      expect(await denyUid(namespace)).toBe(uid);
      expect(await recordSecrets(namespace)).toEqual([
        'sh.helm.release.v1.web.v1',
        'sh.helm.release.v1.web.v3',
        'zzz-web',
      ]);
    });

    it('installs anew over a last record that is uninstalled, when the record labelled deployed below it names only its own objects', async () => {
      // As helm leaves a release whose upgrade failed and which was then uninstalled with its
      // history kept: revision 1 still labelled deployed, revision 2 uninstalled.
      const code = `uno${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await finish(tenant(code)))).toEqual(succeeded);
      const uid = await denyUid(namespace);
      await forge(namespace, 'sh.helm.release.v1.web.v2', 2, 'uninstalled');

      expect(outcome(await finish(tenant(code)))).toEqual(succeeded);

      expect(await denyUid(namespace)).toBe(uid);
      expect(await recordSecrets(namespace)).toEqual([
        'sh.helm.release.v1.web.v1',
        'sh.helm.release.v1.web.v2',
        'sh.helm.release.v1.web.v3',
      ]);
    });

    it("refuses the upgrade when a lower record names an object that is not the release's, though the highest one is a record helm cannot read", async () => {
      // helm skips a record it cannot decode (here a time that is not RFC 3339): its last record is
      // then revision 1, which it upgrades from. Every record is checked, whichever helm acts on.
      const code = `unb${suffix}`;
      const namespace = `tenant-${code}`;
      expect(outcome(await finish(tenant(code)))).toEqual(succeeded);
      const uid = await denyUid(namespace);
      await forge(namespace, 'sh.helm.release.v1.web.v3', 3, 'deployed', r => {
        r.info.last_deployed = 'not a time';
      });
      const v1 = await core.readNamespacedSecret({
        name: 'sh.helm.release.v1.web.v1',
        namespace,
      });
      const record = decodeRecord(v1.data!.release);
      withDefaultDeny(record);
      await core.replaceNamespacedSecret({
        name: 'sh.helm.release.v1.web.v1',
        namespace,
        body: { ...v1, data: { release: encodeRecord(record) } },
      });

      const refused = await finish({
        ...tenant(code),
        releases: [{ name: 'web', chart: 'webapp', values: { replicas: 2 } }],
      });

      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('NetworkPolicy/kubechart-default-deny'),
      });
      expect(refused.failureReason).toContain('sh.helm.release.v1.web.v1');
      expect(await denyUid(namespace)).toBe(uid);
    });
  },
);
