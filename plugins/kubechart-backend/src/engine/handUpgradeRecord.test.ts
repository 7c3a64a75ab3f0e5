import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  chartDirectory,
  createTestEngine,
  helmBinary,
  startSim,
} from '../__testUtils__/setup';
import { readRecord, rewriteRecord } from '../__testUtils__/releaseRecords';
import { approvedRevisionOf } from '../approvals/approvedRevision';
import { helmReleaseOfSecret } from '../lib/helmRelease';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const exec = promisify(execFile);

/**
 * A chart run records as its own the revision its helm wrote, as helm first wrote it: not the
 * release's latest record once helm has exited, which a person running `helm upgrade` by hand (or
 * rewriting the record Secret) right as the run's helm finishes may have written. A later revision
 * written meanwhile is named, and the run is not reported as done.
 */
describe.each(['helm3', 'helm4'] as const)(
  'history of a chart run when the release is written by hand meanwhile (%s)',
  helmBin => {
    let sim: KubeSim;
    let dir: string;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    /** Set while the engine's `helm upgrade --install` runs. */
    let upgrading = false;
    /** Runs once, after the engine's helm has exited and before anything reads its record. */
    let afterHelm: (() => Promise<void>) | undefined;

    const handUpgrade = (namespace: string) =>
      exec(
        helmBinary(helmBin),
        [
          'upgrade',
          'web',
          join(chartDirectory, 'webapp'),
          '--namespace',
          namespace,
          '--reuse-values',
          '--set',
          'image.tag=6.6.6-by-hand',
          '--kubeconfig',
          join(dir, 'kubeconfig'),
        ],
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: dir,
            HELM_CACHE_HOME: join(dir, 'cache'),
            HELM_CONFIG_HOME: join(dir, 'config'),
            HELM_DATA_HOME: join(dir, 'data'),
          },
          timeout: 60_000,
        },
      );
    const finish = async (request: any) => {
      const r = await t.engine.submit(request, 'user:default/alice');
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    const tenant = async (code: string) =>
      expect(
        (
          await finish({
            kind: 'tenant',
            cluster: 'dev',
            tenant: code,
            releases: [],
          })
        ).status,
      ).toBe('succeeded');
    const install = (namespace: string) =>
      finish({
        kind: 'chart',
        cluster: 'dev',
        namespace,
        release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
      });
    /** The digest of revision 1's record now (a status change aside, as `approvedRevisionOf` reads it). */
    const digestOfRevision1 = async (namespace: string) =>
      approvedRevisionOf(
        await helmReleaseOfSecret(
          (
            await readRecord({ core, namespace }, 'web', 1)
          ).secret,
          namespace,
          'web',
        ),
      );

    beforeAll(async () => {
      sim = await startSim();
      dir = mkdtempSync(join(tmpdir(), 'hand-upgrade-'));
      writeFileSync(join(dir, 'kubeconfig'), sim.kubeconfig, { mode: 0o600 });
      t = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
        wrapHelm: (helm: HelmCli) => {
          const upgradeInstall = helm.upgradeInstall.bind(helm);
          const status = helm.status.bind(helm);
          helm.upgradeInstall = async options => {
            upgrading = true;
            try {
              return await upgradeInstall(options);
            } finally {
              upgrading = false;
            }
          };
          // `upgradeInstall` asks `helm status` once helm has exited: the earliest moment to act.
          helm.status = async options => {
            const act = upgrading ? afterHelm : undefined;
            if (act) {
              afterHelm = undefined;
              await act();
            }
            return status(options);
          };
          return helm;
        },
      });
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    });
    afterAll(async () => {
      await sim?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('records the revision and manifest its own helm call created, and names a later hand-made revision', async () => {
      const namespace = 'tenant-hand';
      await tenant('hand');
      let helmWrote: string | undefined;
      afterHelm = async () => {
        helmWrote = await digestOfRevision1(namespace);
        await handUpgrade(namespace);
      };

      const run = await install(namespace);

      expect(afterHelm).toBeUndefined(); // the hand upgrade ran
      // The run's helm made revision 1 (a first install); revision 2 is the hand-made one.
      expect({
        status: run.status,
        helmRevision: run.helmRevision,
        recordsHandMadeImage: (run.manifest ?? '').includes('6.6.6-by-hand'),
        recordsItsImage: (run.manifest ?? '').includes('image:'),
      }).toEqual({
        status: 'failed',
        helmRevision: 1,
        recordsHandMadeImage: false,
        recordsItsImage: true,
      });
      expect(run.failureReason).toContain('helm installed revision 1');
      expect(run.failureReason).toContain(
        'revision 2 (Secret sh.helm.release.v1.web.v2)',
      );
      expect(run.failureReason).toContain('not reported as done');
      // "Roll back to this run" returns to the record its helm wrote, not the hand-made one.
      expect(await t.store.getReleaseRecordDigest(run.id)).toBe(helmWrote);
      expect(await digestOfRevision1(namespace)).toBe(helmWrote);
    });

    it("records its helm's record as first written when that record is rewritten right after helm exits", async () => {
      const namespace = 'tenant-rewrite';
      await tenant('rewrite');
      let helmWrote: string | undefined;
      afterHelm = async () => {
        helmWrote = await digestOfRevision1(namespace);
        await rewriteRecord({ core, namespace }, 'web', 1, record => {
          record.manifest = String(record.manifest).replace(
            /image: .*/g,
            'image: registry.example.com/webapp:6.6.6-rewritten',
          );
        });
      };

      const run = await install(namespace);

      expect(afterHelm).toBeUndefined(); // the record was rewritten
      expect({
        status: run.status,
        helmRevision: run.helmRevision,
        recordsRewrittenImage: (run.manifest ?? '').includes('6.6.6-rewritten'),
        recordsItsImage: (run.manifest ?? '').includes('image:'),
      }).toEqual({
        status: 'succeeded',
        helmRevision: 1,
        recordsRewrittenImage: false,
        recordsItsImage: true,
      });
      // Bound to the record as helm wrote it: a rollback from this run refuses the rewritten one.
      expect(await t.store.getReleaseRecordDigest(run.id)).toBe(helmWrote);
      expect(await digestOfRevision1(namespace)).not.toBe(helmWrote);
    });
  },
);
