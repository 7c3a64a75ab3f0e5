import {
  forgeRecord,
  releaseRecordHarness,
  secretNames,
} from '../__testUtils__/releaseRecords';

jest.setTimeout(300_000);

/** A tenant user of the namespace, with the built-in `edit` role there (its Secrets included). */
const TENANT_USER = { name: 'dev-dave', token: 'dev-dave-token' };

/**
 * helm writes its record of an upgrade or rollback as revision N+1 (N: the last record it lists),
 * before it applies anything. A Secret of that name a tenant user created beforehand, which helm's
 * list does not show, makes helm fail (`release: already exists`): the run must fail saying so,
 * and not read that Secret as what helm wrote.
 */
describe.each(['helm3', 'helm4'] as const)(
  "a Secret at the release's next revision, written before helm (%s)",
  helmBin => {
    const code = `next${helmBin.slice(-1)}`;
    const namespace = `tenant-${code}`;
    const h = releaseRecordHarness(helmBin, {
      tenantUser: TENANT_USER,
      tenant: code,
    });
    const { chart, rollback, image, twoRevisions } = h;
    /**
     * Writes Secret `sh.helm.release.v1.<release>.v3`, a copy of revision 2's record stating
     * revision 3, with `labels` (helm lists only those labelled `name=<release>,owner=helm`).
     */
    const forgeNext = (
      release: string,
      labels: Record<string, string>,
      edit: (record: any) => void = () => {},
    ) =>
      forgeRecord(h.records(), { release, from: 2, version: 3, labels, edit });

    const records = (release: string) =>
      secretNames(h.records(), `name=${release}`);
    const refused = (finished: {
      status: string;
      failureReason?: string;
      helmRevision?: number;
    }) => ({
      status: finished.status,
      reason: finished.failureReason,
      helmRevision: finished.helmRevision,
    });
    const forgedAtV3 = (release: string) => [
      `sh.helm.release.v1.${release}.v1`,
      `sh.helm.release.v1.${release}.v2`,
      `sh.helm.release.v1.${release}.v3`,
    ];

    // helm does not list a Secret that is not labelled name=<release>,owner=helm: it numbers its
    // record 3 and finds the name taken. The engine checks the name is free before helm runs.
    it.each([
      ['an upgrade', 'up', 'upgraded', 'applied'],
      ['a rollback', 'rb', 'rolled back', 'rolled back'],
    ])(
      "refuses %s before helm runs when a Secret not labelled as a record holds the next revision's name",
      async (_, release, outcome, nothing) => {
        await twoRevisions(release);
        await forgeNext(release, { name: release });

        const finished =
          release === 'up'
            ? await chart(release, '1.2.0')
            : await rollback(release, 1);

        expect(refused(finished)).toEqual({
          status: 'failed',
          reason: `Release ${release} in ${namespace} was not ${outcome}: the Secret sh.helm.release.v1.${release}.v3, where helm writes its record of the next revision (3), exists and was not among the release's records when they were checked (labelled name=${release},owner=helm): helm did not write it, and would fail to write its own record; nothing was ${nothing}. The Secret is in the namespace; delete it and try again.`,
          helmRevision: undefined,
        });
        expect(await image(release)).toBe(
          'registry.example.com/team/web:1.1.0',
        );
        expect(await records(release)).toEqual(forgedAtV3(release));
      },
    );

    // A record labelled as one that helm cannot decode is skipped by helm, not by the engine's check
    // (which reads it as revision 3): helm numbers its record 3 and finds the name taken.
    it.each([
      ['an upgrade', 'upd', 'upgraded', 'applied'],
      ['a rollback', 'rbd', 'rolled back', 'rolled back'],
    ])(
      'fails %s saying so when helm finds its next record written by another',
      async (_, release, outcome, nothing) => {
        await twoRevisions(release);
        await forgeNext(
          release,
          { name: release, owner: 'helm', status: 'deployed', version: '3' },
          record => {
            record.info.last_deployed = 'yesterday';
          },
        );

        const finished =
          release === 'upd'
            ? await chart(release, '1.2.0')
            : await rollback(release, 1);

        expect(refused(finished)).toEqual({
          status: 'failed',
          reason: `Release ${release} in ${namespace} was not ${outcome}: helm could not write its record of revision 3, as the Secret sh.helm.release.v1.${release}.v3 existed before helm wrote it (helm: release: already exists). helm numbers its record after the last record of the release it can read: a record it cannot read, or a Secret not labelled as one, holds that name, and helm did not write it; nothing was ${nothing}. The release record is a Secret in the namespace; correct or delete it and try again.`,
          helmRevision: undefined,
        });
        expect(await image(release)).toBe(
          'registry.example.com/team/web:1.1.0',
        );
        expect(await records(release)).toEqual(forgedAtV3(release));
      },
    );
  },
);
