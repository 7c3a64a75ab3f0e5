import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
/** A tenant user of the namespace, with the built-in `edit` role there (its Secrets included). */
const TENANT_USER = { name: 'dev-bob', token: 'dev-bob-token' };

/** Decodes a `helm.sh/release.v1` Secret's release: base64 (Secret data) of base64 of gzipped JSON. */
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
 * A rollback applies what the chart policy judged. The revision it returns to is a Secret in the
 * release's namespace, which the namespace's users may write: one rewritten after the check and
 * before helm reads it must not be applied and recorded as a successful rollback of the judged one.
 */
describe.each(['helm3', 'helm4'] as const)(
  'a rollback whose revision is rewritten after its check (%s)',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let apps: AppsV1Api;
    /** The tenant user's client: edit rights on the namespace, nothing more. */
    let tenantCore: CoreV1Api;
    const code = `swap${helmBin.slice(-1)}`;
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
    const helmRevisions = async (release: string) =>
      (
        await tenantCore.listNamespacedSecret({
          namespace,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items
        .map(s => Number(s.metadata?.labels?.version))
        .sort((a, b) => a - b);

    const TRUSTED = 'registry.example.com/team/web';
    const UNTRUSTED = 'miner.example.org/team/web';
    /** Rewrites the stored manifest of one revision, as the tenant user (helm's own format). */
    const rewriteRevision = async (
      release: string,
      revision: number,
      from = TRUSTED,
      to = UNTRUSTED,
    ) => {
      const name = `sh.helm.release.v1.${release}.v${revision}`;
      const secret = await tenantCore.readNamespacedSecret({ name, namespace });
      const record = decode(secret.data!.release);
      const manifest = String(record.manifest);
      expect(manifest).toContain(from);
      record.manifest = manifest.replace(from, to);
      await tenantCore.replaceNamespacedSecret({
        name,
        namespace,
        body: { ...secret, data: { ...secret.data, release: encode(record) } },
      });
    };
    /** Installs the chart twice (revisions 1 and 2), the starting point of every rollback below. */
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
    /** The next `helm rollback` runs `around`, which is given the real one to call. */
    const onNextHelmRollback = (
      around: (
        helmRollback: (o: Parameters<HelmCli['rollback']>[0]) => Promise<void>,
        o: Parameters<HelmCli['rollback']>[0],
      ) => Promise<void>,
    ) => {
      const helmRollback = HelmCli.prototype.rollback;
      jest
        .spyOn(HelmCli.prototype, 'rollback')
        .mockImplementationOnce(async function wrapped(this: HelmCli, o) {
          return around(options => helmRollback.call(this, options), o);
        });
    };
    /** helm applies the rollback, then fails (a hook, a timeout). */
    const helmFailsAfterApplying = () =>
      onNextHelmRollback(async (helmRollback, o) => {
        await helmRollback(o);
        throw new Error(
          'helm rollback failed: Error: timed out waiting for the condition',
        );
      });

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
      const tenant = await run({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [],
      });
      if (tenant.status !== 'succeeded')
        throw new Error(`tenant failed: ${tenant.failureReason}`);
      // The tenant's people may edit their namespace (its Secrets included), as a platform lets them.
      await admin
        .makeApiClient(RbacAuthorizationV1Api)
        .createNamespacedRoleBinding({
          namespace,
          body: {
            metadata: { name: 'bob-edit' },
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
    afterAll(async () => {
      jest.restoreAllMocks();
      await sim?.stop();
    });

    it('fails with the reason, records the manifest helm applied, and a later rollback to it is refused', async () => {
      await twoRevisions('web');
      // Between the check of revision 1 and helm reading it, the tenant user rewrites it.
      onNextHelmRollback(async (helmRollback, o) => {
        await rewriteRevision(o.release, o.revision);
        return helmRollback(o);
      });

      const swapped = await rollback('web', 1);

      expect(HelmCli.prototype.rollback).toHaveBeenCalledTimes(1);
      // helm applied the rewritten record (revision 3), which the policy never judged.
      expect(await image('web')).toBe('miner.example.org/team/web:1.0.0');
      expect(await helmRevisions('web')).toEqual([1, 2, 3]);
      expect({
        status: swapped.status,
        reason: swapped.failureReason,
        helmRevision: swapped.helmRevision,
      }).toEqual({
        status: 'failed',
        reason:
          'Revision 1 of release web changed after it was checked: helm applied a manifest the chart policy did not judge (revision 3); the rollback is not reported as done',
        helmRevision: 3,
      });
      // The history shows what was applied, not the judged copy.
      expect(swapped.manifest).toMatch(
        /image: miner\.example\.org\/team\/web:1\.0\.0\n/,
      );
      expect(swapped.manifest).not.toMatch(/registry\.example\.com/);
      const steps = (await t.store.getEvents(swapped.id))
        .filter(e => e.type === 'step')
        .map(e => `${e.step}:${e.stepStatus}`);
      expect(steps).not.toContain('wait:succeeded');

      // Judged again, the rewritten revision is refused, and nothing is rolled back.
      const again = await rollback('web', 1);
      expect(again.status).toBe('failed');
      expect(again.failureReason).toMatch(/trusted-registry/);
      expect(await helmRevisions('web')).toEqual([1, 2, 3]);

      // A rollback to an untouched revision succeeds and applies what it judged.
      const restored = await rollback('web', 2);
      expect(restored).toMatchObject({ status: 'succeeded', helmRevision: 4 });
      expect(restored.manifest).toMatch(/web:1\.1\.0/);
      expect(await image('web')).toBe('registry.example.com/team/web:1.1.0');
    });

    it('fails also when the new revision is rewritten back to the judged manifest once helm is done', async () => {
      await twoRevisions('cover');
      onNextHelmRollback(async (helmRollback, o) => {
        await rewriteRevision(o.release, o.revision);
        await helmRollback(o);
        // The traces are covered: both records say what the policy judged.
        await rewriteRevision(o.release, 3, UNTRUSTED, TRUSTED);
        await rewriteRevision(o.release, o.revision, UNTRUSTED, TRUSTED);
      });

      const covered = await rollback('cover', 1);

      expect(await image('cover')).toBe(`${UNTRUSTED}:1.0.0`);
      expect({
        status: covered.status,
        reason: covered.failureReason,
        helmRevision: covered.helmRevision,
      }).toEqual({
        status: 'failed',
        reason:
          'Revision 1 of release cover changed after it was checked: helm applied a manifest the chart policy did not judge (revision 3); the rollback is not reported as done',
        helmRevision: 3,
      });
      expect(covered.manifest).toContain(`image: ${UNTRUSTED}:1.0.0\n`);
    });

    it('fails when another record of the release is created meanwhile, as a newer revision in the judged form', async () => {
      await twoRevisions('decoy');
      onNextHelmRollback(async (helmRollback, o) => {
        await rewriteRevision(o.release, o.revision);
        await helmRollback(o);
        // Revision 4, a copy of 3 in the judged form: the latest one helm shows.
        const name = `sh.helm.release.v1.${o.release}.v3`;
        const three = await tenantCore.readNamespacedSecret({
          name,
          namespace,
        });
        const record = decode(three.data!.release);
        record.version = 4;
        record.manifest = String(record.manifest).replace(UNTRUSTED, TRUSTED);
        await tenantCore.createNamespacedSecret({
          namespace,
          body: {
            metadata: {
              name: `sh.helm.release.v1.${o.release}.v4`,
              labels: { ...three.metadata?.labels, version: '4' },
            },
            type: three.type,
            data: { release: encode(record) },
          },
        });
      });

      const decoyed = await rollback('decoy', 1);

      expect(await image('decoy')).toBe(`${UNTRUSTED}:1.0.0`);
      expect({
        status: decoyed.status,
        reason: decoyed.failureReason,
      }).toEqual({
        status: 'failed',
        reason:
          'What helm applied for the rollback of decoy to revision 1 cannot be confirmed to be the revision the chart policy judged: 2 release records of decoy were created while it ran, not only sh.helm.release.v1.decoy.v4; the rollback is not reported as done',
      });
    });

    it('records what helm applied and says the revision changed when helm fails after applying part of it', async () => {
      await twoRevisions('part');
      // Rewritten with an untrusted image and, last, a ClusterRole the deployer may not create: helm
      // applies the Deployment, then fails.
      onNextHelmRollback(async (helmRollback, o) => {
        const name = `sh.helm.release.v1.${o.release}.v${o.revision}`;
        const secret = await tenantCore.readNamespacedSecret({
          name,
          namespace,
        });
        const record = decode(secret.data!.release);
        record.manifest = `${String(record.manifest).replace(
          TRUSTED,
          UNTRUSTED,
        )}\n---\n# Source: webapp/templates/extra.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: part-extra\nrules: []\n`;
        await tenantCore.replaceNamespacedSecret({
          name,
          namespace,
          body: {
            ...secret,
            data: { ...secret.data, release: encode(record) },
          },
        });
        return helmRollback(o);
      });

      const failed = await rollback('part', 1);

      expect(await image('part')).toBe(`${UNTRUSTED}:1.0.0`);
      expect(await helmRevisions('part')).toEqual([1, 2, 3]);
      expect(failed.status).toBe('failed');
      expect(failed.failureReason).toMatch(
        /^helm rollback failed: .*clusterroles.*; Revision 1 of release part changed after it was checked: helm applied a manifest the chart policy did not judge \(revision 3\); the rollback is not reported as done$/s,
      );
      expect(failed.helmRevision).toBe(3);
      // The history shows what was applied, not the judged copy.
      expect(failed.manifest).toContain(`image: ${UNTRUSTED}:1.0.0\n`);
      expect(failed.manifest).toContain('kind: ClusterRole');
    });

    it("reports helm's error first when, after helm failed, its new revision cannot be read", async () => {
      await twoRevisions('unread');
      // helm creates and applies revision 3, then fails (a hook, a timeout); once helm has told its
      // status, reading the release records answers 500.
      helmFailsAfterApplying();
      const helmStatus = HelmCli.prototype.status;
      jest
        .spyOn(HelmCli.prototype, 'status')
        .mockImplementationOnce(async function unread(this: HelmCli, o) {
          const status = await helmStatus.call(this, o);
          sim.faults.failVerb({
            verb: 'get',
            resource: 'secrets',
            namespace,
            status: 500,
          });
          return status;
        });

      let failed;
      try {
        failed = await rollback('unread', 1);
      } finally {
        sim.faults.clear();
      }

      expect(await helmRevisions('unread')).toEqual([1, 2, 3]);
      expect(failed.status).toBe('failed');
      expect(failed.failureReason).toMatch(
        /^helm rollback failed: Error: timed out waiting for the condition; What helm applied for the rollback of unread to revision 1 cannot be confirmed to be the revision the chart policy judged: .+; the rollback is not reported as done$/s,
      );
      expect(failed.helmRevision).toBe(3);
    });

    it("reports helm's error first when, after helm failed, what it applied cannot be recorded", async () => {
      await twoRevisions('unsaved');
      helmFailsAfterApplying();
      const updateRun = t.store.updateRun.bind(t.store);
      const spy = jest
        .spyOn(t.store, 'updateRun')
        .mockImplementation(async (...args) => {
          if ('helmRevision' in args[1]) throw new Error('database is locked');
          return updateRun(...args);
        });

      let failed;
      try {
        failed = await rollback('unsaved', 1);
      } finally {
        spy.mockRestore();
      }

      expect(failed.status).toBe('failed');
      expect(failed.failureReason).toBe(
        'helm rollback failed: Error: timed out waiting for the condition; database is locked',
      );
    });

    it('succeeds for a rollback to the revision deployed now (which helm marks superseded)', async () => {
      expect(await chart('same', '1.0.0')).toMatchObject({
        status: 'succeeded',
        helmRevision: 1,
      });
      const again = await rollback('same', 1);
      expect(again).toMatchObject({ status: 'succeeded', helmRevision: 2 });
      expect(again.failureReason).toBeUndefined();
      expect(await image('same')).toBe('registry.example.com/team/web:1.0.0');
    });
  },
);

/**
 * What helm applies for a rollback, and which records helm acts on in an upgrade, are known only from
 * the watch of the release's records: a deployer that may not watch them (a ClusterRole without
 * `watch`) rolls nothing back and upgrades nothing.
 */
describe('a rollback whose release records the deployer may not watch', () => {
  const VERBS_BUT_WATCH = [
    'get',
    'list',
    'create',
    'update',
    'patch',
    'delete',
    'deletecollection',
  ];
  let sim: KubeSim;
  let engine: RunEngine;
  let t: Awaited<ReturnType<typeof createTestEngine>>;
  const namespace = 'tenant-nowatch';

  const run = async (request: any) => {
    const r = await engine.submit(request, ALICE, plainCaller(ALICE));
    await engine.waitFor(r.id);
    return (await t.store.getRun(r.id))!;
  };
  const chart = (tag: string) =>
    run({
      kind: 'chart',
      cluster: 'dev',
      namespace,
      release: {
        name: 'web',
        chart: 'webapp',
        values: { replicas: 1, pdb: false, image: { tag } },
      },
    });

  beforeAll(async () => {
    sim = await startSim();
    t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      helm: 'helm3',
      config: testConfig(sim, {
        tenant: { deployer: { clusterRole: 'deployer-nowatch' } },
      }),
    });
    ({ engine } = t);
    // The deployer's ClusterRole may watch until the release has two revisions (taken away below).
    await t.clusters
      .kubeConfig('dev')
      .makeApiClient(RbacAuthorizationV1Api)
      .createClusterRole({
        body: {
          metadata: { name: 'deployer-nowatch' },
          rules: [
            {
              apiGroups: ['*'],
              resources: ['*'],
              verbs: [...VERBS_BUT_WATCH, 'watch'],
            },
          ],
        },
      });
    const tenant = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'nowatch',
      releases: [],
    });
    if (tenant.status !== 'succeeded')
      throw new Error(`tenant failed: ${tenant.failureReason}`);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await sim?.stop();
  });

  it('fails a rollback and an upgrade before helm runs, naming the missing permission', async () => {
    expect(await chart('1.0.0')).toMatchObject({
      status: 'succeeded',
      helmRevision: 1,
    });
    expect(await chart('1.1.0')).toMatchObject({
      status: 'succeeded',
      helmRevision: 2,
    });
    await t.clusters
      .kubeConfig('dev')
      .makeApiClient(RbacAuthorizationV1Api)
      .replaceClusterRole({
        name: 'deployer-nowatch',
        body: {
          metadata: { name: 'deployer-nowatch' },
          rules: [
            { apiGroups: ['*'], resources: ['*'], verbs: VERBS_BUT_WATCH },
          ],
        },
      });
    const rollback = jest.spyOn(HelmCli.prototype, 'rollback');
    const upgrade = jest.spyOn(HelmCli.prototype, 'upgradeInstall');

    const refused = await run({
      kind: 'rollback',
      cluster: 'dev',
      namespace,
      release: 'web',
      revision: 1,
    });

    expect(rollback).not.toHaveBeenCalled();
    expect(refused.status).toBe('failed');
    expect(refused.failureReason).toMatch(
      /^What helm applies for a rollback of web cannot be compared with the revision the chart policy judged: the watch of its release records ended: .*Forbidden.*; the deployer may not watch Secrets in tenant-nowatch \(its ClusterRole, kubechart\.tenant\.deployer\.clusterRole, needs the `watch` verb on Secrets there\); nothing was rolled back$/,
    );
    expect(refused.helmRevision).toBeUndefined();
    const image = (
      await t.clusters
        .kubeConfig('dev')
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name: 'web', namespace })
    ).spec?.template.spec?.containers[0].image;
    expect(image).toBe('registry.example.com/team/web:1.1.0');

    const upgraded = await chart('1.2.0');

    expect(upgrade).not.toHaveBeenCalled();
    expect(upgraded.status).toBe('failed');
    expect(upgraded.failureReason).toMatch(
      /^The release records of web in tenant-nowatch cannot be followed while helm upgrades it as the namespace's deployer: the watch of its release records ended: .*Forbidden.*; the deployer may not watch Secrets in tenant-nowatch \(its ClusterRole, kubechart\.tenant\.deployer\.clusterRole, needs the `watch` verb on Secrets there\); nothing was applied\.$/,
    );
  });
});
