import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
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

// A run whose release is deployed with the same chart and values upgrades nothing. What it then
// records as applied comes from helm's release record, a Secret in the tenant's namespace that its
// admins (and workloads) may write: it is kept only when it is what the run's own render checked.
describe.each(['helm3', 'helm4'] as const)(
  'a release deployed with the same chart and values (%s)',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let created: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    const tenant = `rec${helmBin.slice(-1)}`;
    const namespace = `tenant-${tenant}`;
    const request = {
      kind: 'tenant' as const,
      cluster: 'dev',
      tenant,
      releases: [
        {
          name: 'web',
          chart: 'webapp',
          values: { database: { password: 'record-test-password' } },
        },
      ],
    };

    const finish = async () => {
      const run = await engine.submit(request, 'user:default/alice', alice);
      await engine.waitFor(run.id);
      return (await created.store.getRun(run.id))!;
    };
    const releaseStep = async (runId: string) =>
      (await created.store.getEvents(runId))
        .filter(
          e =>
            e.step === 'release:web' &&
            e.stepStatus &&
            e.stepStatus !== 'started',
        )
        .map(e => e.stepStatus);
    const revisions = async () =>
      (
        await core.listNamespacedSecret({
          namespace,
          labelSelector: 'owner=helm,name=web',
        })
      ).items
        .map(s => s.metadata!.name!)
        .sort();

    /** Rewrites the manifest of a release record, as someone with the namespace's admin role can. */
    const forge = async (name: string, edit: (manifest: string) => string) => {
      const secret = await core.readNamespacedSecret({ name, namespace });
      const record = decodeRecord(secret.data!.release);
      record.manifest = edit(record.manifest);
      secret.data!.release = encodeRecord(record);
      await core.replaceNamespacedSecret({ name, namespace, body: secret });
    };

    beforeAll(async () => {
      sim = await startSim();
      created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
      });
      ({ engine } = created);
      core = created.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    });
    afterAll(() => sim?.stop());

    it('is skipped while its record is what the chart renders, and upgraded when the record was forged', async () => {
      const first = await finish();
      expect({ status: first.status, reason: first.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(await revisions()).toEqual(['sh.helm.release.v1.web.v1']);

      // A genuine record: nothing to do, and the run records what revision 1 applied.
      const unchanged = await finish();
      expect(unchanged.status).toBe('succeeded');
      expect(await releaseStep(unchanged.id)).toEqual(['skipped']);
      expect(await revisions()).toEqual(['sh.helm.release.v1.web.v1']);
      expect(unchanged.manifest).toContain('kind: Deployment');

      // Someone with the namespace's admin role rewrites the record: an object KubeChart never
      // applied nor checked, as if revision 1 had applied it.
      await forge('sh.helm.release.v1.web.v1', manifest =>
        [
          manifest,
          '---',
          '# Source: webapp/templates/extra.yaml',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: forged-extra',
          'data:',
          '  note: never-applied',
          '',
        ].join('\n'),
      );

      const after = await finish();
      expect({ status: after.status, reason: after.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // Not skipped: upgraded through the post-render gate, and the run records what it applied.
      expect(await releaseStep(after.id)).toEqual(['succeeded']);
      expect(await revisions()).toEqual([
        'sh.helm.release.v1.web.v1',
        'sh.helm.release.v1.web.v2',
      ]);
      expect(after.manifest).toContain('kind: Deployment');
      expect(after.manifest).not.toContain('forged-extra');
      expect(
        (await created.store.getEvents(after.id))
          .map(e => e.message)
          .filter(m => m.includes('release record')),
      ).toEqual([
        expect.stringContaining(
          "the release record's manifest differs from the chart's render (ConfigMap forged-extra is not in the render); upgrading",
        ),
        "[web] helm upgrade --install (the release record's manifest differs from the chart's render)",
      ]);
      // The forged object was never in the cluster.
      expect(
        (await core.listNamespacedConfigMap({ namespace })).items.map(
          c => c.metadata?.name,
        ),
      ).not.toContain('forged-extra');

      // The upgrade wrote a genuine record again: the next run upgrades nothing.
      const settled = await finish();
      expect(settled.status).toBe('succeeded');
      expect(await releaseStep(settled.id)).toEqual(['skipped']);
      expect(await revisions()).toEqual([
        'sh.helm.release.v1.web.v1',
        'sh.helm.release.v1.web.v2',
      ]);
      expect(settled.manifest).not.toContain('forged-extra');

      // An object of the render, changed in the record: upgraded again, and recorded as applied.
      await forge('sh.helm.release.v1.web.v2', manifest => {
        const changed = manifest.replace(
          /image: .*/,
          'image: registry.example.com/forged/web:6.6.6',
        );
        expect(changed).not.toBe(manifest);
        return changed;
      });
      const changed = await finish();
      expect(changed.status).toBe('succeeded');
      expect(await releaseStep(changed.id)).toEqual(['succeeded']);
      expect(
        (await created.store.getEvents(changed.id))
          .map(e => e.message)
          .filter(m => m.includes('(Deployment web differs)')),
      ).toHaveLength(1);
      expect((await revisions()).pop()).toBe('sh.helm.release.v1.web.v3');
      expect(changed.manifest).toContain('kind: Deployment');
      expect(changed.manifest).not.toContain('forged/web');
    });
  },
);
