import { ConflictError, InputError } from '@backstage/errors';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import {
  finishRun,
  onNextSecretList,
  releaseRecordHarness,
  rollbackTo,
} from '../__testUtils__/releaseRecords';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const ALICE = 'user:default/alice';
const TENANT_USER = { name: 'dev-hana', token: 'dev-hana-token' };
const IMAGE = 'registry.example.com/team/web';

/**
 * A rollback chosen on a run of the release's history names that run (`fromRunId`): it returns only
 * to the release record that run installed. Revision numbers restart once a release is uninstalled
 * and installed again, so "revision 1" may be another one than the row showed.
 */
describe('a rollback from a run of the history', () => {
  const h = releaseRecordHarness('helm4', {
    tenantUser: TENANT_USER,
    tenant: 'bound',
  });
  const { chart, image, helmRecords } = h;
  const fromRun = (release: string, revision: number, runId: string) => ({
    ...rollbackTo(h.namespace, release, revision),
    fromRunId: runId,
  });
  const submit = (request: any) =>
    h.t.engine.submit(request, ALICE, plainCaller(ALICE));
  const runCount = async () =>
    Number(
      (await h.t.knex('kubechart_runs').count({ n: '*' }).first())?.n ?? 0,
    );
  /** Uninstalls `release` as the cluster admin, its history with it: its revisions restart at 1. */
  const uninstall = (release: string) =>
    HelmCli.fromConfig(h.t.config).uninstall({
      release,
      namespace: h.namespace,
      kubeconfig: h.t.clusters.kubeconfigYaml('dev'),
    });

  afterEach(() => jest.restoreAllMocks());

  it('returns to the revision that run installed, and is refused with 409 once the release was installed anew', async () => {
    const first = await chart('web', '1.0.0');
    expect(first).toMatchObject({ status: 'succeeded', helmRevision: 1 });
    expect(await chart('web', '1.1.0')).toMatchObject({
      status: 'succeeded',
      helmRevision: 2,
    });

    const back = await finishRun(h.t, fromRun('web', 1, first.id));
    expect({ status: back.status, revision: back.helmRevision }).toEqual({
      status: 'succeeded',
      revision: 3,
    });
    expect(await image('web')).toBe(`${IMAGE}:1.0.0`);

    await uninstall('web');
    expect(await chart('web', '2.0.0')).toMatchObject({
      status: 'succeeded',
      helmRevision: 1,
    });
    expect(await chart('web', '2.1.0')).toMatchObject({
      status: 'succeeded',
      helmRevision: 2,
    });
    const runs = await runCount();

    const refused = submit(fromRun('web', 1, first.id));
    await expect(refused).rejects.toThrow(ConflictError);
    await expect(refused).rejects.toThrow(
      `Release web was not rolled back: revision 1 of release web in ${h.namespace} is not the revision run ${first.id} installed (its release record holds another manifest, chart or values: the release was uninstalled and installed again since, and revision numbers restarted, or the record was rewritten); nothing was rolled back. Choose the revision again from the release's history.`,
    );
    // Nothing was recorded or changed.
    expect(await runCount()).toBe(runs);
    expect(await image('web')).toBe(`${IMAGE}:2.1.0`);
    expect(await helmRecords('web')).toEqual([
      'sh.helm.release.v1.web.v1',
      'sh.helm.release.v1.web.v2',
    ]);

    // The rollback run recorded the record it left the release at: it binds a rollback as a chart run does.
    const gone = submit(fromRun('web', 3, back.id));
    await expect(gone).rejects.toThrow(
      `Release web was not rolled back: revision 3 of release web in ${h.namespace} has no Helm release record now, so it is not the revision run ${back.id} installed; nothing was rolled back.`,
    );

    // Without the run, the revision number alone is used (unbound): the new revision 1.
    const unbound = await finishRun(h.t, rollbackTo(h.namespace, 'web', 1));
    expect(unbound.status).toBe('succeeded');
    expect(await image('web')).toBe(`${IMAGE}:2.0.0`);
  });

  it('refuses a run that did not leave the release at that revision (400), and one that recorded no record (409)', async () => {
    const first = await chart('api', '1.0.0');
    const second = await chart('api', '1.1.0');
    expect(second).toMatchObject({ status: 'succeeded', helmRevision: 2 });

    const other = submit(fromRun('api', 1, second.id));
    await expect(other).rejects.toThrow(InputError);
    await expect(other).rejects.toThrow(
      `fromRunId ${second.id} is not a run that left release api in ${h.namespace} on cluster dev at revision 1; nothing was rolled back`,
    );

    // The run shows whether a rollback from it can be bound to its record, never the digest.
    expect((await h.t.store.getRun(first.id))?.rollbackBound).toBe(true);

    // A run that ended before its release record was recorded cannot bind a rollback.
    await h.t
      .knex('kubechart_runs')
      .where({ id: first.id })
      .update({ release_record_digest: null });
    expect((await h.t.store.getRun(first.id))?.rollbackBound).toBe(false);
    const unknown = submit(fromRun('api', 1, first.id));
    await expect(unknown).rejects.toThrow(ConflictError);
    await expect(unknown).rejects.toThrow(
      `Release api was not rolled back: run ${first.id} recorded no digest of its release record of revision 1`,
    );
    expect(await image('api')).toBe(`${IMAGE}:1.1.0`);

    // By number, as the history offers it for such a run: revision 1 as the release holds it now.
    const byNumber = await finishRun(h.t, rollbackTo(h.namespace, 'api', 1));
    expect(byNumber).toMatchObject({
      status: 'succeeded',
      helmRevision: 3,
      rollbackBound: true,
    });
    expect(await image('api')).toBe(`${IMAGE}:1.0.0`);
  });

  it('fails, rolling nothing back, when the record is rewritten after the request was accepted', async () => {
    const first = await chart('db', '1.0.0');
    expect(await chart('db', '1.1.0')).toMatchObject({ helmRevision: 2 });
    // Revision 1 is rewritten as the run lists the release's records, after its request was accepted.
    onNextSecretList('name=db,owner=helm', () =>
      h.rewriteRecord('db', 1, record => {
        record.config = { ...record.config, replicas: 3 };
      }),
    );
    const helmRollback = jest.spyOn(HelmCli.prototype, 'rollback');

    const failed = await finishRun(h.t, fromRun('db', 1, first.id));

    expect(helmRollback).not.toHaveBeenCalled();
    expect({ status: failed.status, reason: failed.failureReason }).toEqual({
      status: 'failed',
      reason: `Release db was not rolled back: revision 1 of release db in ${h.namespace} is not the revision run ${first.id} installed (its release record holds another manifest, chart or values: the release was uninstalled and installed again since, and revision numbers restarted, or the record was rewritten); nothing was rolled back. Choose the revision again from the release's history.`,
    });
    expect(failed.applied).toEqual([]);
    expect(await image('db')).toBe(`${IMAGE}:1.1.0`);
  });
});
