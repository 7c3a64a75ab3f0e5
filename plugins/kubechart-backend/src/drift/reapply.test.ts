import { ConflictError, InputError } from '@backstage/errors';
import type { DriftObject, Run } from '@kubechart/plugin-kubechart-common';
import { reapplyRequest } from './reapply';

const run = (over: Partial<Run>): Run => ({
  id: 'r1',
  kind: 'tenant',
  status: 'succeeded',
  actor: 'user:default/alice',
  entityRef: 'component:default/acme',
  target: { cluster: 'dev', namespace: 'tenant-acme' },
  input: { releases: [{ name: 'web' }, { name: 'api' }] },
  transitions: [],
  createdAt: '2026-12-03T09:00:00.000Z',
  finishedAt: '2026-12-03T09:02:00.000Z',
  ...over,
});

describe('reapplyRequest', () => {
  // Revision 2 was written by the run; 3 by a later change outside it.
  const history = jest.fn(async () => [
    { revision: 1, updated: '2026-12-01T10:00:00.000Z' },
    { revision: 2, updated: '2026-12-03T09:01:30.000Z' },
    { revision: 3, updated: '2026-12-03T09:30:00.000Z' },
  ]);

  it('rolls a tenant release back to the last revision written before the run ended', async () => {
    await expect(
      reapplyRequest(run({}), { release: 'api', history }),
    ).resolves.toEqual({
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'tenant-acme',
      release: 'api',
      revision: 2,
      entityRef: 'component:default/acme',
    });
    expect(history).toHaveBeenCalledWith({
      cluster: 'dev',
      namespace: 'tenant-acme',
      release: 'api',
    });
  });

  it('asks which release of a tenant run with several, and refuses one it did not install', async () => {
    await expect(reapplyRequest(run({}), { history })).rejects.toThrow(
      'Name the release of tenant run r1 to apply again (body: {"release": …}): one of web, api',
    );
    await expect(
      reapplyRequest(run({}), { release: 'other', history }),
    ).rejects.toBeInstanceOf(InputError);
    await expect(
      reapplyRequest(run({ input: { releases: [{ name: 'web' }] } }), {
        history,
      }),
    ).resolves.toMatchObject({ release: 'web', revision: 2 });
  });

  describe('of a chart run', () => {
    const chartRun = run({
      kind: 'chart',
      target: { cluster: 'dev', namespace: 'shop', release: 'web' },
      input: {},
      helmRevision: 2,
      policyReport: {
        mode: 'warn',
        passed: true,
        blocking: false,
        summary: { objects: 1, errors: 0, warnings: 0, infos: 0 },
        results: [],
        charts: [
          {
            release: 'web',
            chart: 'webapp',
            version: '1.2.0',
            digest: 'sha256:00',
            source: 'webapp',
          },
        ],
      },
    });
    const revisions = (revision2: { updated: string; chart: string }) =>
      jest.fn(async () => [
        {
          revision: 1,
          updated: '2026-12-01T10:00:00.000Z',
          chart: 'webapp-1.1.0',
        },
        { revision: 2, ...revision2 },
      ]);

    it('rolls the release back to the revision the run left it at', async () => {
      const chartHistory = revisions({
        updated: '2026-12-03T09:01:30.000Z',
        chart: 'webapp-1.2.0',
      });
      await expect(
        reapplyRequest(chartRun, { history: chartHistory }),
      ).resolves.toEqual({
        kind: 'rollback',
        cluster: 'dev',
        namespace: 'shop',
        release: 'web',
        revision: 2,
        entityRef: 'component:default/acme',
      });
      expect(chartHistory).toHaveBeenCalledWith({
        cluster: 'dev',
        namespace: 'shop',
        release: 'web',
      });
    });

    it('refuses (409) when that revision number now holds another release revision', async () => {
      // The release was deleted and installed again after the run: revision 2 is not the run's.
      await expect(
        reapplyRequest(chartRun, {
          history: revisions({
            updated: '2026-12-03T10:00:00.000Z',
            chart: 'webapp-1.2.0',
          }),
        }),
      ).rejects.toThrow(
        new ConflictError(
          'Revision 2 of release web in shop is not the one run r1 left: it was written at 2026-12-03T10:00:00.000Z, after the run ended (2026-12-03T09:02:00.000Z); it cannot be applied again as that run',
        ),
      );
      await expect(
        reapplyRequest(chartRun, {
          history: revisions({
            updated: '2026-12-03T09:01:30.000Z',
            chart: 'other-9.9.9',
          }),
        }),
      ).rejects.toThrow(
        new ConflictError(
          'Revision 2 of release web in shop is not the one run r1 left: it holds chart other-9.9.9, the run applied webapp-1.2.0; it cannot be applied again as that run',
        ),
      );
      await expect(
        reapplyRequest(chartRun, { history: async () => [] }),
      ).rejects.toBeInstanceOf(ConflictError);
    });
  });

  describe('while an object the run applied is being deleted', () => {
    /** The run's Deployment, deleted with `kubectl delete` and held by a finalizer, as drift last recorded it. */
    const deleting: DriftObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      state: 'deleting',
      fields: [],
      deletion: {
        timestamp: '2026-12-03T10:15:00Z',
        finalizers: ['example.com/hold'],
      },
    };
    const changed: DriftObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'shop',
      name: 'web-config',
      state: 'changed',
      fields: [{ path: 'data.mode', expected: 'a', actual: 'b' }],
    };
    const manifestsRun = run({
      kind: 'manifests',
      target: { cluster: 'dev', namespace: 'shop' },
      manifest:
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n',
    });
    const releaseHistory = jest.fn(async () => [
      { revision: 2, updated: '2026-12-03T09:01:30.000Z' },
    ]);
    const releaseRun = run({
      kind: 'rollback',
      target: { cluster: 'dev', namespace: 'shop', release: 'web' },
      helmRevision: 2,
    });

    it('refuses (409) to apply the run again, naming the object, when it was marked and by what it is held', async () => {
      const why =
        'Deployment web in shop, which run r1 applied, is being deleted (marked for deletion at 2026-12-03T10:15:00Z, held by the finalizers example.com/hold): applying the run again would not keep it, and would be reported as done while it goes away; wait until it is gone (its drift shows it missing), then apply the run again';
      await expect(
        reapplyRequest(manifestsRun, {
          history,
          drift: [changed, deleting],
        }),
      ).rejects.toThrow(new ConflictError(why));
      await expect(
        reapplyRequest(releaseRun, {
          history: releaseHistory,
          drift: [deleting],
        }),
      ).rejects.toThrow(new ConflictError(why));
      await expect(
        reapplyRequest(run({}), {
          release: 'api',
          history,
          drift: [
            {
              ...deleting,
              deletion: { ...deleting.deletion!, finalizers: [] },
            },
          ],
        }),
      ).rejects.toThrow(
        'Deployment web in shop, which run r1 applied, is being deleted (marked for deletion at 2026-12-03T10:15:00Z, in its grace period)',
      );
    });

    it('applies the run again once the object is gone or only changed', async () => {
      await expect(
        reapplyRequest(manifestsRun, {
          history,
          drift: [
            changed,
            { ...deleting, state: 'missing', deletion: undefined },
          ],
        }),
      ).resolves.toMatchObject({ kind: 'manifests' });
      await expect(
        reapplyRequest(releaseRun, {
          history: releaseHistory,
          drift: [changed],
        }),
      ).resolves.toMatchObject({ kind: 'rollback', revision: 2 });
    });
  });

  it('refuses runs that did not succeed, kinds that apply nothing again, and a release run without a revision', async () => {
    await expect(
      reapplyRequest(run({ status: 'failed' }), { history }),
    ).rejects.toThrow('did not succeed (failed)');
    await expect(
      reapplyRequest(run({ kind: 'tenant-delete' }), { history }),
    ).rejects.toThrow('A tenant-delete run cannot be applied again');
    await expect(
      reapplyRequest(
        run({
          kind: 'chart',
          target: { cluster: 'dev', namespace: 'shop', release: 'web' },
        }),
        { history },
      ),
    ).rejects.toThrow('recorded no Helm revision');
  });
});
