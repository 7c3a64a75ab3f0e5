import { HelmCli } from '@kubechart/plugin-kubechart-node';
import {
  onNextSecretList,
  releaseRecordHarness,
} from '../__testUtils__/releaseRecords';

jest.setTimeout(300_000);

/** A tenant user of the namespace, with the built-in `edit` role there (its Secrets included). */
const TENANT_USER = { name: 'dev-erin', token: 'dev-erin-token' };
const DEFAULT_DENY = 'kubechart-default-deny';
const TRUSTED = 'registry.example.com/team/web';
const UNTRUSTED = 'miner.example.org/team/web';

/**
 * The revision a rollback returns to is a Secret the namespace's users may write. It is judged as
 * it is in the list of the release's records the engine checks and watches from, and as helm reads
 * it: not read apart before that list, nor read otherwise than helm splits its manifest.
 */
describe.each(['helm3', 'helm4'] as const)(
  'the revision a rollback returns to (%s)',
  helmBin => {
    const code = `target${helmBin.slice(-1)}`;
    const namespace = `tenant-${code}`;
    const h = releaseRecordHarness(helmBin, {
      tenantUser: TENANT_USER,
      tenant: code,
    });
    const { rollback, image, helmRecords, twoRevisions } = h;
    const denyUid = async () =>
      (
        await h.networking().readNamespacedNetworkPolicy({
          name: DEFAULT_DENY,
          namespace,
        })
      ).metadata?.uid;
    /** Rewrites the record of revision 1 of `release` as the tenant user. */
    const rewriteRevision1 = (release: string, edit: (record: any) => void) =>
      h.rewriteRecord(release, 1, edit);

    afterEach(() => jest.restoreAllMocks());

    it('judges the revision as the list of records the engine checks holds it: one rewritten before that list is refused, helm not run', async () => {
      await twoRevisions('listed');
      // Revision 1 is rewritten with an untrusted image as the engine first lists the release's
      // records for the rollback, before the list is answered.
      onNextSecretList('name=listed,owner=helm', () =>
        rewriteRevision1('listed', record => {
          record.manifest = String(record.manifest).replace(TRUSTED, UNTRUSTED);
        }),
      );
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
