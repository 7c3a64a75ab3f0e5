import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
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
const TENANT_USER = { name: 'dev-erin', token: 'dev-erin-token' };
const DEFAULT_DENY = 'kubechart-default-deny';
const TRUSTED = 'registry.example.com/team/web';
const UNTRUSTED = 'miner.example.org/team/web';

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
 * The revision a rollback returns to is a Secret the namespace's users may write. It is judged as
 * it is in the list of the release's records the engine checks and watches from, and as helm reads
 * it: not read apart before that list, nor read otherwise than helm splits its manifest.
 */
describe.each(['helm3', 'helm4'] as const)(
  'the revision a rollback returns to (%s)',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let apps: AppsV1Api;
    let networking: NetworkingV1Api;
    let tenantCore: CoreV1Api;
    const code = `target${helmBin.slice(-1)}`;
    const namespace = `tenant-${code}`;

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
    const image = async (name: string) =>
      (await apps.readNamespacedDeployment({ name, namespace })).spec?.template
        .spec?.containers[0].image;
    const helmRecords = async (release: string) =>
      (
        await tenantCore.listNamespacedSecret({
          namespace,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items
        .map(s => s.metadata!.name!)
        .sort();
    const denyUid = async () =>
      (
        await networking.readNamespacedNetworkPolicy({
          name: DEFAULT_DENY,
          namespace,
        })
      ).metadata?.uid;
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
    /** Rewrites the record of revision 1 of `release` as the tenant user. */
    const rewriteRevision1 = async (
      release: string,
      edit: (record: any) => void,
    ) => {
      const name = `sh.helm.release.v1.${release}.v1`;
      const secret = await tenantCore.readNamespacedSecret({ name, namespace });
      const record = decode(secret.data!.release);
      edit(record);
      await tenantCore.replaceNamespacedSecret({
        name,
        namespace,
        body: { ...secret, data: { ...secret.data, release: encode(record) } },
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
      const admin = t.clusters.kubeConfig('dev');
      apps = admin.makeApiClient(AppsV1Api);
      networking = admin.makeApiClient(NetworkingV1Api);
      const tenant = await run({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [],
      });
      if (tenant.status !== 'succeeded')
        throw new Error(`tenant failed: ${tenant.failureReason}`);
      await admin
        .makeApiClient(RbacAuthorizationV1Api)
        .createNamespacedRoleBinding({
          namespace,
          body: {
            metadata: { name: 'erin-edit' },
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
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfigFor(TENANT_USER.token));
      tenantCore = kc.makeApiClient(CoreV1Api);
    });
    afterEach(() => jest.restoreAllMocks());
    afterAll(async () => {
      await sim?.stop();
    });

    it('judges the revision as the list of records the engine checks holds it: one rewritten before that list is refused, helm not run', async () => {
      await twoRevisions('listed');
      // Revision 1 is rewritten with an untrusted image as the engine first lists the release's
      // records for the rollback, before the list is answered.
      const list = CoreV1Api.prototype.listNamespacedSecret;
      const spy = jest
        .spyOn(CoreV1Api.prototype, 'listNamespacedSecret')
        .mockImplementation(async function listing(
          this: CoreV1Api,
          ...args: Parameters<CoreV1Api['listNamespacedSecret']>
        ) {
          if (args[0].labelSelector === 'name=listed,owner=helm') {
            spy.mockRestore();
            await rewriteRevision1('listed', record => {
              record.manifest = String(record.manifest).replace(
                TRUSTED,
                UNTRUSTED,
              );
            });
          }
          return list.apply(this, args);
        });
      const helmRollback = jest.spyOn(HelmCli.prototype, 'rollback');

      const refused = await rollback('listed', 1);

      expect(helmRollback).not.toHaveBeenCalled();
      expect(refused.status).toBe('failed');
      expect(refused.failureReason).toMatch(/trusted-registry/);
      expect(refused.helmRevision).toBeUndefined();
      // The policy report and the manifest recorded are those of the record as listed.
      expect(refused.manifest).toContain(`image: ${UNTRUSTED}:1.0.0`);
      expect(await image('listed')).toBe(`${TRUSTED}:1.1.0`);
      expect(await helmRecords('listed')).toEqual([
        'sh.helm.release.v1.listed.v1',
        'sh.helm.release.v1.listed.v2',
      ]);
    });

    it('refuses a revision whose manifest helm splits otherwise, before helm runs and before it is judged, and changes nothing', async () => {
      await twoRevisions('split');
      const uid = await denyUid();
      // js-yaml reads a string where helm reads the tenant's default-deny NetworkPolicy.
      await rewriteRevision1('split', record => {
        record.manifest = `${
          record.manifest
        }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\ndata: {note: 'see\n---${JSON.stringify(
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name: DEFAULT_DENY },
            spec: { podSelector: {} },
          },
        )} #'}\n`;
      });
      const helmRollback = jest.spyOn(HelmCli.prototype, 'rollback');

      const refused = await rollback('split', 1);

      expect(helmRollback).not.toHaveBeenCalled();
      expect({
        status: refused.status,
        reason: refused.failureReason,
        helmRevision: refused.helmRevision,
        manifest: refused.manifest,
      }).toEqual({
        status: 'failed',
        reason: expect.stringMatching(
          new RegExp(
            `^Release split in namespace ${namespace}: release record sh\\.helm\\.release\\.v1\\.split\\.v1 cannot be read the same way helm reads it: .*; nothing was uninstalled or changed\\. `,
          ),
        ),
        helmRevision: undefined,
        // Nothing of the forged record is recorded as the rollback's manifest.
        manifest: undefined,
      });
      expect(await denyUid()).toBe(uid);
      expect(await image('split')).toBe(`${TRUSTED}:1.1.0`);
      expect(await helmRecords('split')).toEqual([
        'sh.helm.release.v1.split.v1',
        'sh.helm.release.v1.split.v2',
      ]);
    });
  },
);
