import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import {
  deploymentImage,
  finishRun,
  forgeRecord,
  onNextHelmRollback,
  recordRevisions,
  releaseRecordHarness,
  webappChart,
} from '../__testUtils__/releaseRecords';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
/** A tenant user of the namespace, with the built-in `edit` role there (its Secrets included). */
const TENANT_USER = { name: 'dev-bob', token: 'dev-bob-token' };

/**
 * A rollback applies what the chart policy judged. The revision it returns to is a Secret in the
 * release's namespace, which the namespace's users may write: one rewritten after the check and
 * before helm reads it must not be applied and recorded as a successful rollback of the judged one.
 */
describe.each(['helm3', 'helm4'] as const)(
  'a rollback whose revision is rewritten after its check (%s)',
  helmBin => {
    const code = `swap${helmBin.slice(-1)}`;
    const namespace = `tenant-${code}`;
    const h = releaseRecordHarness(helmBin, {
      tenantUser: TENANT_USER,
      tenant: code,
    });
    const { chart, rollback, image, twoRevisions } = h;
    const helmRevisions = (release: string) =>
      recordRevisions(h.records(), release);

    const TRUSTED = 'registry.example.com/team/web';
    const UNTRUSTED = 'miner.example.org/team/web';
    /** Rewrites the stored manifest of one revision, as the tenant user (helm's own format). */
    const rewriteRevision = (
      release: string,
      revision: number,
      from = TRUSTED,
      to = UNTRUSTED,
    ) =>
      h.rewriteRecord(release, revision, record => {
        const manifest = String(record.manifest);
        expect(manifest).toContain(from);
        record.manifest = manifest.replace(from, to);
      });
    /** helm applies the rollback, then fails (a hook, a timeout). */
    const helmFailsAfterApplying = () =>
      onNextHelmRollback(async (helmRollback, o) => {
        await helmRollback(o);
        throw new Error(
          'helm rollback failed: Error: timed out waiting for the condition',
        );
      });

    afterAll(() => jest.restoreAllMocks());

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
      const steps = (await h.t.store.getEvents(swapped.id))
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
        await forgeRecord(h.records(), {
          release: o.release,
          from: 3,
          version: 4,
          labels: three => ({ ...three, version: '4' }),
          edit: record => {
            record.manifest = String(record.manifest).replace(
              UNTRUSTED,
              TRUSTED,
            );
          },
        });
      });

      const decoyed = await rollback('decoy', 1);

      expect(await image('decoy')).toBe(`${UNTRUSTED}:1.0.0`);
      // helm's own record (revision 3) tells what it applied; the newer one is not taken for it.
      expect({
        status: decoyed.status,
        reason: decoyed.failureReason,
        helmRevision: decoyed.helmRevision,
      }).toEqual({
        status: 'failed',
        reason:
          'Revision 1 of release decoy changed after it was checked: helm applied a manifest the chart policy did not judge (revision 3); the rollback is not reported as done',
        helmRevision: 3,
      });
      expect(decoyed.manifest).toContain(`image: ${UNTRUSTED}:1.0.0\n`);
    });

    it('records what helm applied and says the revision changed when helm fails after applying part of it', async () => {
      await twoRevisions('part');
      // Rewritten with an untrusted image and, last, a ClusterRole the deployer may not create: helm
      // applies the Deployment, then fails.
      onNextHelmRollback(async (helmRollback, o) => {
        await h.rewriteRecord(o.release, o.revision, record => {
          record.manifest = `${String(record.manifest).replace(
            TRUSTED,
            UNTRUSTED,
          )}\n---\n# Source: webapp/templates/extra.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: part-extra\nrules: []\n`;
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

    it("reports helm's error first when, after helm failed, its release records cannot be read", async () => {
      await twoRevisions('unread');
      // helm creates and applies revision 3, then fails (a hook, a timeout); once helm has told its
      // status, reading the release records answers 500.
      helmFailsAfterApplying();
      const helmStatus = HelmCli.prototype.status;
      jest
        .spyOn(HelmCli.prototype, 'status')
        .mockImplementationOnce(async function unread(this: HelmCli, o) {
          const status = await helmStatus.call(this, o);
          h.sim.faults.failVerb({
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
        h.sim.faults.clear();
      }

      expect(await helmRevisions('unread')).toEqual([1, 2, 3]);
      expect(failed.status).toBe('failed');
      expect(failed.failureReason).toMatch(
        /^helm rollback failed: Error: timed out waiting for the condition; The release records of unread in tenant-swap\d changed after they were checked and before helm wrote its record of the rollback \(whether a release record of unread was written cannot be told: .+\): helm may have acted on a record that was not checked; the rollback is not reported as done$/s,
      );
      expect(failed.helmRevision).toBe(3);
    });

    it("reports helm's error first when, after helm failed, what it applied cannot be recorded", async () => {
      await twoRevisions('unsaved');
      helmFailsAfterApplying();
      const updateRun = h.t.store.updateRun.bind(h.t.store);
      const spy = jest
        .spyOn(h.t.store, 'updateRun')
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
  let t: Awaited<ReturnType<typeof createTestEngine>>;
  const namespace = 'tenant-nowatch';

  const run = (request: any) => finishRun(t, request);
  const chart = (tag: string) => run(webappChart(namespace, 'web', tag));

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
    const image = await deploymentImage(
      t.clusters.kubeConfig('dev').makeApiClient(AppsV1Api),
      namespace,
      'web',
    );
    expect(image).toBe('registry.example.com/team/web:1.1.0');

    const upgraded = await chart('1.2.0');

    expect(upgrade).not.toHaveBeenCalled();
    expect(upgraded.status).toBe('failed');
    expect(upgraded.failureReason).toMatch(
      /^The release records of web in tenant-nowatch cannot be followed while helm upgrades it as the namespace's deployer: the watch of its release records ended: .*Forbidden.*; the deployer may not watch Secrets in tenant-nowatch \(its ClusterRole, kubechart\.tenant\.deployer\.clusterRole, needs the `watch` verb on Secrets there\); nothing was applied\.$/,
    );
  });
});
