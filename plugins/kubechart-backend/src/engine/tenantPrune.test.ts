import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { Run } from '@kubechart/plugin-kubechart-common';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const ACME = 'group:default/acme-team';
const alice: RunCaller = {
  ownershipRefs: [ALICE, ACME],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** A platform-team approver: may approve any protected run. */
const carol: ApprovalDecider = {
  userEntityRef: 'user:default/carol',
  ownershipRefs: ['user:default/carol', 'group:default/platform-team'],
  mayApprove: true,
};

const release = (name: string, values: Record<string, unknown> = {}) => ({
  name,
  chart: 'webapp',
  values: { replicas: 1, ...values },
});
const tenant = (
  code: string,
  releases: ReturnType<typeof release>[],
  over: Record<string, unknown> = {},
) => ({
  kind: 'tenant' as const,
  cluster: 'dev',
  tenant: code,
  owner: ACME,
  releases,
  ...over,
});

/**
 * A release dropped from a tenant's spec stays recorded on the tenant until a run that prunes it
 * has uninstalled it: a run that fails before its prune leaves it recorded (and installed), and the
 * next run with `pruneReleases: true` uninstalls it.
 */
describe.each(databases.eachSupportedId())(
  "pruning a tenant's releases on %p",
  databaseId => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;

    beforeAll(async () => {
      sim = await startSim();
      t = await createTestEngine({
        databases,
        databaseId,
        sim,
        // The catalog has alice in acme-team, as her sign-in token says.
        requesters: testRequesters({ [ALICE]: [ACME] }),
        config: testConfig(sim, {
          approvals: {
            rules: [
              {
                name: 'production',
                namespaces: ['tenant-prod-*'],
                approvers: ['group:default/platform-team'],
              },
            ],
          },
        }),
      });
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    });
    afterAll(() => sim?.stop());

    const ended = async (id: string): Promise<Run> => {
      for (let i = 0; i < 1200; i++) {
        const run = (await t.store.getRun(id))!;
        if (run.status === 'succeeded' || run.status === 'failed') return run;
        await new Promise(r => setTimeout(r, 100));
      }
      throw new Error(`run ${id} did not end`);
    };
    const finish = async (request: any) => {
      const run = await t.engine.submit(request, ALICE, alice);
      await t.engine.waitFor(run.id);
      return ended(run.id);
    };
    /** Submits a protected run, approves it and waits for its end. */
    const approved = async (request: any) => {
      const run = await t.engine.submit(request, ALICE, alice);
      await t.engine.decide(run.id, carol, 'approve', 'ok');
      const done = await ended(run.id);
      await t.engine.waitIdle();
      return done;
    };
    const outcome = (run: Run) => ({
      status: run.status,
      reason: run.failureReason,
    });
    const succeeded = { status: 'succeeded', reason: undefined };
    const helmReleases = async (namespace: string) =>
      [
        ...new Set(
          (
            await core.listNamespacedSecret({
              namespace,
              labelSelector: 'owner=helm',
            })
          ).items.map(s => s.metadata?.labels?.name),
        ),
      ].sort();
    const tenantOf = async (code: string) =>
      (await t.store.getTenants(code)).find(x => x.cluster === 'dev')!;
    const messages = async (id: string) =>
      (await t.store.getEvents(id, { limit: 5000 })).map(e => e.message);

    it('keeps a dropped release recorded when the run fails before pruning it, and prunes it on the next run', async () => {
      const web = release('web');
      const api = release('api');
      expect(outcome(await finish(tenant('prunea', [web, api])))).toEqual(
        succeeded,
      );
      expect((await tenantOf('prunea')).releases).toEqual(['web', 'api']);

      // Refused by the chart policy (an untrusted registry) before its prune.
      const refused = await finish(
        tenant(
          'prunea',
          [release('web', { image: { repository: 'evil.io/x' } })],
          { pruneReleases: true },
        ),
      );
      expect(refused.status).toBe('failed');
      expect(await helmReleases('tenant-prunea')).toEqual(['api', 'web']);
      // The tenant still has api: its record says so. The run changed nothing: the tenant keeps the
      // record it had (active), as the outcome pass gives it such a run's tenant.
      expect(refused.applied).toEqual([]);
      expect(await tenantOf('prunea')).toMatchObject({
        status: 'active',
        releases: expect.arrayContaining(['web', 'api']),
      });

      const again = await finish(
        tenant('prunea', [web], { pruneReleases: true }),
      );
      expect(outcome(again)).toEqual(succeeded);
      const log = await messages(again.id);
      expect(log).toContain(
        'updating tenant prunea: releases removed from the spec: api',
      );
      expect(log).toContain('release api: uninstalled (pruneReleases)');
      expect(await helmReleases('tenant-prunea')).toEqual(['web']);
      expect(await tenantOf('prunea')).toMatchObject({
        status: 'active',
        releases: ['web'],
      });
    });

    it('keeps a dropped release recorded without pruneReleases, and prunes it later', async () => {
      const web = release('web');
      const api = release('api');
      expect(outcome(await finish(tenant('pruneb', [web, api])))).toEqual(
        succeeded,
      );
      const kept = await finish(tenant('pruneb', [web]));
      expect(outcome(kept)).toEqual(succeeded);
      expect(await messages(kept.id)).toContain(
        'release api is no longer in the spec and was kept; submit with pruneReleases: true to uninstall it',
      );
      expect(await tenantOf('pruneb')).toMatchObject({
        status: 'active',
        releases: ['web', 'api'],
      });
      const pruned = await finish(
        tenant('pruneb', [web], { pruneReleases: true }),
      );
      expect(outcome(pruned)).toEqual(succeeded);
      expect(await messages(pruned.id)).toContain(
        'release api: uninstalled (pruneReleases)',
      );
      expect(await helmReleases('tenant-pruneb')).toEqual(['web']);
      expect((await tenantOf('pruneb')).releases).toEqual(['web']);
    });

    it('an approved run prunes what it dropped when it was requested, and keeps a release added while it waited', async () => {
      const web = release('web');
      const api = release('api');
      const worker = release('worker');
      expect(outcome(await approved(tenant('prod-p', [web, api])))).toEqual(
        succeeded,
      );
      // Requested while the tenant has web and api: it drops api.
      const prune = await t.engine.submit(
        tenant('prod-p', [web], { pruneReleases: true }),
        ALICE,
        alice,
      );
      // Before it is approved, another run adds worker (web and api kept as they are).
      expect(
        outcome(await approved(tenant('prod-p', [web, api, worker]))),
      ).toEqual(succeeded);
      expect(await helmReleases('tenant-prod-p')).toEqual([
        'api',
        'web',
        'worker',
      ]);

      await t.engine.decide(prune.id, carol, 'approve', 'ok');
      const done = await ended(prune.id);
      await t.engine.waitIdle();
      expect(outcome(done)).toEqual(succeeded);
      const log = await messages(done.id);
      expect(log).toContain(
        'updating tenant prod-p: releases removed from the spec: api; releases added since this run was requested, kept: worker',
      );
      expect(log).toContain('release api: uninstalled (pruneReleases)');
      expect(log.some(l => l.includes('release worker: uninstalled'))).toBe(
        false,
      );
      // The approvers approved dropping api only: worker stays, installed and recorded.
      expect(await helmReleases('tenant-prod-p')).toEqual(['web', 'worker']);
      expect(await tenantOf('prod-p')).toMatchObject({
        status: 'active',
        releases: ['web', 'worker'],
      });
    });
  },
);
