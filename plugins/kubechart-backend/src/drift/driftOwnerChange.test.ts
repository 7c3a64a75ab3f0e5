import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import type { CreateRunRequest } from '@kubechart/plugin-kubechart-common';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import type { RunCaller } from '../engine/scope';
import { readEngineSettings } from '../engine/settings';
import { DriftService } from './DriftService';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ADMIN = 'user:default/admin';
const BOB_TEAM = 'group:default/bob-team';

/**
 * A run's drift shows what runs now on its target to whoever may read the run. Once the target is
 * another owner's (the tenant moved, or the platform assigned the namespace to someone else), what
 * runs there is that owner's: the earlier owner's run is no longer compared, and its record says so.
 */
describe.each(databases.eachSupportedId())(
  'drift of a run whose target changed owner, on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(async () => {
      await sim?.stop();
    });

    /** An engine whose config assigns `assigned` namespaces, and a drift service reading `owners` as its config. */
    async function setup(assigned: Record<string, string> = {}) {
      const namespaces = Object.fromEntries(
        Object.entries(assigned).map(([ns, owner]) => [ns, { owner }]),
      );
      const t = await createTestEngine({
        databases,
        databaseId,
        sim,
        config: testConfig(sim, { clusters: { dev: { namespaces } } }),
      });
      const drift = await DatabaseDriftStore.create({
        database: mockServices.database.mock({ getClient: async () => t.knex }),
      });
      const settings = readEngineSettings(t.config);
      /** The drift service of a backend whose config is `settings` (another one after a config change). */
      const service = (s = settings) =>
        new DriftService({
          runs: t.store,
          drift,
          clusters: t.clusters,
          client: c => t.engine.client(c),
          logger: mockServices.logger.mock(),
          settings: s,
        });
      const succeed = async (
        request: CreateRunRequest,
        actor: string,
        caller?: RunCaller,
      ) => {
        const r = await t.engine.submit(request, actor, caller);
        await t.engine.waitFor(r.id);
        const done = (await t.store.getRun(r.id))!;
        expect({ status: done.status, reason: done.failureReason }).toEqual({
          status: 'succeeded',
          reason: undefined,
        });
        return done;
      };
      const kubeConfig = t.clusters.kubeConfig('dev');
      return {
        ...t,
        drift,
        settings,
        service,
        succeed,
        apps: kubeConfig.makeApiClient(AppsV1Api),
        core: kubeConfig.makeApiClient(CoreV1Api),
      };
    }

    it('ends the drift of a run on a tenant moved to another owner: its earlier owner sees it ended, none of the new owner’s changes', async () => {
      const { drift, service, succeed, apps } = await setup();
      const code = `moved${randomUUID().slice(0, 6)}`;
      const namespace = `tenant-${code}`;
      await succeed(
        { kind: 'tenant', cluster: 'dev', tenant: code, releases: [] },
        ALICE,
      );
      const web = await succeed(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace,
          release: { name: 'web', chart: 'driftapp' },
        },
        ALICE,
      );
      const pass = service();
      expect(
        (await pass.checkAll()).find(d => d.runId === web.id)?.status,
      ).toBe('in-sync');

      // A tenants admin moves the tenant to bob, who changes the Deployment's image by hand.
      const moved = await succeed(
        {
          kind: 'tenant',
          cluster: 'dev',
          tenant: code,
          owner: BOB,
          releases: [],
        },
        ADMIN,
        {
          ownershipRefs: [ADMIN],
          mayApplyClusterScoped: false,
          isTenantAdmin: true,
        },
      );
      const deployment = await apps.readNamespacedDeployment({
        name: 'web',
        namespace,
      });
      deployment.spec!.template.spec!.containers[0].image =
        'registry.example.com/bob/private-payroll:7.4.1';
      await apps.replaceNamespacedDeployment({
        name: 'web',
        namespace,
        body: deployment,
      });

      const records = await pass.checkAll();
      const ended = records.find(d => d.runId === web.id)!;
      expect({
        status: ended.status,
        objects: ended.objects,
        message: ended.message,
      }).toEqual({
        status: 'unknown',
        objects: [],
        message: expect.stringContaining('the target changed owner'),
      });
      // What alice may read of her run (GET /runs/:id/drift, GET /drift) holds nothing of bob's.
      const stored = [
        await drift.get(web.id),
        ...(await drift.list({ cluster: 'dev', namespace })),
      ];
      expect(JSON.stringify(stored)).not.toContain('private-payroll');
      // The tenant run that moved it is bob's tenant now: compared as any.
      expect(records.find(d => d.runId === moved.id)?.status).toBe('in-sync');
    });

    it('ends the drift of a run on a namespace the platform assigned to another owner since', async () => {
      const namespace = `assigned-${randomUUID().slice(0, 8)}`;
      const { core, service, settings, succeed } = await setup({
        [namespace]: ALICE,
      });
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      const applied = await succeed(
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace,
          manifests:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { color: blue }\n',
        },
        ALICE,
      );
      expect(
        (await service().checkAll()).find(d => d.runId === applied.id)?.status,
      ).toBe('in-sync');

      // The namespace is bob's team's now (kubechart.clusters.dev.namespaces), and they change it.
      await core.replaceNamespacedConfigMap({
        name: 'settings',
        namespace,
        body: {
          metadata: { name: 'settings', namespace },
          data: { color: 'bob-team-secret-colour' },
        },
      });
      const reassigned = {
        ...settings,
        namespaceOwners: { dev: { [namespace]: BOB_TEAM } },
      };
      const ended = (await service(reassigned).checkAll()).find(
        d => d.runId === applied.id,
      )!;
      expect(ended).toMatchObject({
        status: 'unknown',
        objects: [],
        message: expect.stringContaining('the target changed owner'),
      });
      expect(JSON.stringify(ended)).not.toContain('bob-team-secret-colour');

      // Under the config the run ran with, it is compared again.
      expect(
        (await service().checkAll()).find(d => d.runId === applied.id)?.status,
      ).toBe('drifted');
    });

    it('compares a run recorded before its target’s owner was under the owner it has then, and ends it when that owner changes', async () => {
      const namespace = `assigned-${randomUUID().slice(0, 8)}`;
      const { core, knex, service, settings, succeed } = await setup({
        [namespace]: ALICE,
      });
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      const applied = await succeed(
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace,
          manifests:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { color: blue }\n',
        },
        ALICE,
      );
      // As a run recorded before the owner of its target was recorded with it.
      await knex('kubechart_runs')
        .where({ id: applied.id })
        .update({ target_owner: null });
      await core.replaceNamespacedConfigMap({
        name: 'settings',
        namespace,
        body: {
          metadata: { name: 'settings', namespace },
          data: { color: 'green' },
        },
      });
      const first = (await service().checkAll()).find(
        d => d.runId === applied.id,
      )!;
      expect(first.status).toBe('drifted');
      expect(
        (await knex('kubechart_runs').where({ id: applied.id }).first())
          .target_owner,
      ).toBe(ALICE);

      // The namespace is then assigned to another owner: the run's drift ends as any run's does.
      const reassigned = {
        ...settings,
        namespaceOwners: { dev: { [namespace]: BOB_TEAM } },
      };
      const moved = (await service(reassigned).checkAll()).find(
        d => d.runId === applied.id,
      )!;
      expect(moved).toMatchObject({
        status: 'unknown',
        objects: [],
        message: expect.stringContaining('the target changed owner'),
      });
    });
  },
);
