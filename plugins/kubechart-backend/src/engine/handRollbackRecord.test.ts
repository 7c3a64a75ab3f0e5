import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chartDirectory, helmBinary } from '../__testUtils__/setup';
import {
  onNextHelmRollback,
  readRecord,
  releaseRecordHarness,
} from '../__testUtils__/releaseRecords';
import { approvedRevisionOf } from '../approvals/approvedRevision';
import { helmReleaseOfSecret } from '../lib/helmRelease';

jest.setTimeout(300_000);

const exec = promisify(execFile);
/** A tenant user of the namespace, with the built-in `edit` role there (its Secrets included). */
const TENANT_USER = { name: 'dev-dora', token: 'dev-dora-token' };

/**
 * A rollback records as its own the revision its helm wrote, as helm first wrote it: not the
 * release's latest record once helm has exited, which a person running `helm upgrade` by hand right
 * as the rollback's helm finishes (or right before it starts) may have written. A revision someone
 * else wrote is named, never recorded as the rollback's, and the run is not reported as done.
 */
describe.each(['helm3', 'helm4'] as const)(
  'history of a rollback when the release is upgraded by hand meanwhile (%s)',
  helmBin => {
    const code = `handrb${helmBin.slice(-1)}`;
    const h = releaseRecordHarness(helmBin, {
      tenantUser: TENANT_USER,
      tenant: code,
    });
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'hand-rollback-'));
      writeFileSync(join(dir, 'kubeconfig'), h.sim.kubeconfig, {
        mode: 0o600,
      });
    });
    afterAll(() => {
      jest.restoreAllMocks();
      rmSync(dir, { recursive: true, force: true });
    });

    /** `helm upgrade` of `release` by hand, with the cluster's admin credentials and a new image tag. */
    const handUpgrade = (release: string) =>
      exec(
        helmBinary(helmBin),
        [
          'upgrade',
          release,
          join(chartDirectory, 'webapp'),
          '--namespace',
          h.namespace,
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
    /** The digest of a revision's record now (a status change aside, as `approvedRevisionOf` reads it). */
    const digestOf = async (release: string, revision: number) =>
      approvedRevisionOf(
        await helmReleaseOfSecret(
          (
            await readRecord(h.records(), release, revision)
          ).secret,
          h.namespace,
          release,
        ),
      );

    it('records the revision its own helm wrote, not a hand-made one written right after, and names that one', async () => {
      await h.twoRevisions('after');
      let helmWrote: string | undefined;
      onNextHelmRollback(async (helmRollback, o) => {
        await helmRollback(o);
        helmWrote = await digestOf(o.release, 3);
        await handUpgrade(o.release);
      });

      const run = await h.rollback('after', 1);

      expect(helmWrote).toBeDefined(); // the hand upgrade ran
      expect(await h.helmRecords('after')).toEqual([
        'sh.helm.release.v1.after.v1',
        'sh.helm.release.v1.after.v2',
        'sh.helm.release.v1.after.v3',
        'sh.helm.release.v1.after.v4',
      ]);
      // The rollback's helm made revision 3 (revision 1 again); revision 4 is the hand-made one.
      expect({
        status: run.status,
        helmRevision: run.helmRevision,
        recordsHandMadeImage: (run.manifest ?? '').includes('6.6.6-by-hand'),
        recordsItsImage: (run.manifest ?? '').includes(
          'image: registry.example.com/team/web:1.0.0\n',
        ),
        handMadeValues: JSON.stringify(run.values ?? {}).includes('6.6.6'),
      }).toEqual({
        status: 'failed',
        helmRevision: 3,
        recordsHandMadeImage: false,
        recordsItsImage: true,
        handMadeValues: false,
      });
      expect(run.failureReason).toContain(
        'revision 4 (Secret sh.helm.release.v1.after.v4)',
      );
      expect(run.failureReason).toContain('not reported as done');
      // "Roll back to this run" returns to the record its helm wrote, not the hand-made one.
      expect(await h.t.store.getReleaseRecordDigest(run.id)).toBe(helmWrote);
      const steps = (await h.t.store.getEvents(run.id))
        .filter(e => e.type === 'step')
        .map(e => `${e.step}:${e.stepStatus}`);
      expect(steps).not.toContain('wait:succeeded');
    });

    it('records no revision of its own when a hand-made one is written between its check and helm', async () => {
      await h.twoRevisions('before');
      onNextHelmRollback(async (helmRollback, o) => {
        // Revision 3 is the hand-made one: helm rolls back from it, as revision 4.
        await handUpgrade(o.release);
        await helmRollback(o);
      });

      const run = await h.rollback('before', 1);

      expect(await h.helmRecords('before')).toEqual([
        'sh.helm.release.v1.before.v1',
        'sh.helm.release.v1.before.v2',
        'sh.helm.release.v1.before.v3',
        'sh.helm.release.v1.before.v4',
      ]);
      expect({
        status: run.status,
        helmRevision: run.helmRevision,
        recordsHandMadeImage: (run.manifest ?? '').includes('6.6.6-by-hand'),
        handMadeValues: JSON.stringify(run.values ?? {}).includes('6.6.6'),
      }).toEqual({
        status: 'failed',
        helmRevision: undefined,
        recordsHandMadeImage: false,
        handMadeValues: false,
      });
      expect(run.failureReason).toMatch(
        /^What helm applied for the rollback of before to revision 1 cannot be confirmed to be the revision the chart policy judged: .*sh\.helm\.release\.v1\.before\.v3.*; the rollback is not reported as done/,
      );
      expect(await h.t.store.getReleaseRecordDigest(run.id)).toBeUndefined();
    });
  },
);
