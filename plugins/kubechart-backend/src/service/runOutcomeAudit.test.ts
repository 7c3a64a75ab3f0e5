import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import request from 'supertest';
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import { DatabaseRunStore } from '../database/DatabaseRunStore';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const EVIL = { image: { repository: 'docker.io/evil/web' } };

/**
 * The audit trail's `run-finished` says `refused` only when the run applied nothing; a run that
 * changed the cluster before the policy stopped it is `failed`, with what it applied.
 */
describe.each(databases.eachSupportedId())(
  'the audited outcome of a run on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    const audit: CapturedAuditEvent[] = [];

    // helm 3 checks only the templates that render or spell hooks (kubechart.helm.helm3HookInputs
    // `hook-templates`): by default it refuses sneakyhook before the install (its template calls
    // lookup), and the run of a hook helm 3 ran unchecked is what this file's helm 3 test is about.
    // The other tests install webapp, which calls nothing that mode changes.
    const withHookTemplates = (c: ReturnType<typeof testConfig>) => ({
      ...c,
      kubechart: {
        ...c.kubechart,
        helm: { ...c.kubechart.helm, helm3HookInputs: 'hook-templates' },
      },
    });
    beforeAll(async () => {
      sim = await startSim();
      const backend = await startKubechartBackend({
        // Tenants admit privileged pods, so a hook helm 3 runs before the policy sees it does run
        // (with the default Pod Security `baseline`, the API server refuses its pod).
        config: withHookTemplates(
          testConfig(sim, {
            health: { startOnBoot: false },
            tenant: { podSecurity: { enforce: 'privileged' } },
          }),
        ),
        knex: await databases.init(databaseId),
        features: [capturingAuditor(audit)],
      });
      server = backend.server;
      stop = () => backend.stop();
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    /** Starts a run as the mock user and waits for its `run-finished` event. */
    const runToTheEnd = async (body: object) => {
      const started = await request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', mockCredentials.user.header())
        .send(body);
      expect(started.status).toBe(202);
      const id = started.body.id;
      let finished: CapturedAuditEvent | undefined;
      for (let i = 0; i < 600 && !finished; i++) {
        finished = audit.find(
          e => e.eventId === 'run-finished' && e.meta.runId === id,
        );
        if (!finished) await new Promise(r => setTimeout(r, 100));
      }
      const run = await request(server)
        .get(`/api/kubechart/runs/${id}`)
        .set('Authorization', mockCredentials.user.header());
      return { finished: finished!, run: run.body };
    };
    const kubeConfig = () => simKubeConfig(sim);
    const deployments = async (namespace: string) => {
      const list = await kubeConfig()
        .makeApiClient(AppsV1Api)
        .listNamespacedDeployment({ namespace });
      return list.items.map(d => d.metadata?.name).sort();
    };

    it('is failed, naming what was applied, when a tenant run installed a release before the policy blocked the next', async () => {
      const { finished, run } = await runToTheEnd({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'halfway',
        releases: [
          { name: 'web', chart: 'webapp' },
          { name: 'bad', chart: 'webapp', values: EVIL },
        ],
      });
      expect(run.status).toBe('failed');
      expect(run.policyReport.blocking).toBe(true);
      // web is in the cluster: the run was not refused, it failed half way.
      expect(await deployments('tenant-halfway')).toEqual(['web']);
      expect(finished).toMatchObject({
        status: 'failed',
        meta: {
          outcome: 'failed',
          applied: expect.arrayContaining([
            'created Namespace/tenant-halfway',
            'installed release web revision 1 in tenant-halfway',
          ]),
        },
      });
      // The run's record says the same as the audit trail, for the history tab.
      expect(run.applied).toEqual(finished.meta.applied);
      expect(run.failureReason).not.toContain('nothing was installed');
      expect(run.failureReason).toMatch(
        /^Chart policy \(enforce\) blocked release bad; nothing more was installed; before that, this run changed the cluster: created Namespace\/tenant-halfway, .*installed release web revision 1 in tenant-halfway:\n/s,
      );
      expect(finished.error).toBe(run.failureReason);
    });

    it('is refused when the policy blocked a run that applied nothing', async () => {
      const tenant = await runToTheEnd({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'calm',
        releases: [{ name: 'web', chart: 'webapp' }],
      });
      expect(tenant.run.status).toBe('succeeded');
      expect(tenant.finished.meta).toMatchObject({ outcome: 'succeeded' });

      const { finished, run } = await runToTheEnd({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-calm',
        release: { name: 'bad', chart: 'webapp', values: EVIL },
      });
      expect(run.failureReason).toMatch(
        /^Chart policy \(enforce\) blocked release bad; nothing was installed:\n/,
      );
      expect(finished).toMatchObject({
        status: 'failed',
        meta: { outcome: 'refused', applied: [] },
      });
      expect(run.applied).toEqual([]);
      // A page of history does not carry it (GET /runs/:id does).
      const page = await request(server)
        .get('/api/kubechart/runs')
        .query({ kind: 'chart' })
        .set('Authorization', mockCredentials.user.header());
      expect(page.status).toBe(200);
      const item = page.body.items.find((r: any) => r.id === run.id);
      expect(item).toBeDefined();
      expect(item).not.toHaveProperty('applied');
      expect(await deployments('tenant-calm')).toEqual(['web']);
    });

    it('is failed when helm 3 ran a hook the policy blocks after the checks: the release is installed', async () => {
      const core = kubeConfig().makeApiClient(CoreV1Api);
      // The chart's hook appears only once this ConfigMap exists: set as helm starts the install.
      const install = HelmCli.prototype.upgradeInstall;
      const spy = jest
        .spyOn(HelmCli.prototype, 'upgradeInstall')
        .mockImplementation(async function lateSwitch(this: HelmCli, options) {
          await core.createNamespacedConfigMap({
            namespace: 'tenant-calm',
            body: { metadata: { name: 'sneak' }, data: { on: 'yes' } },
          });
          return install.call(this, options);
        });
      try {
        const { finished, run } = await runToTheEnd({
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-calm',
          release: { name: 'late', chart: 'sneakyhook' },
        });
        expect(run.policyReport.blocking).toBe(true);
        expect(run.failureReason).toContain(
          'the release is installed and must be reviewed',
        );
        expect(finished.meta).toMatchObject({
          outcome: 'failed',
          applied: ['installed release late revision 1 in tenant-calm'],
        });
        expect(run.applied).toEqual([
          'installed release late revision 1 in tenant-calm',
        ]);
      } finally {
        spy.mockRestore();
      }
    });
    it('names the deployer RoleBinding it replaced (bound to another ClusterRole) among what the run changed', async () => {
      const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
      await rbac.deleteNamespacedRoleBinding({
        name: 'kubechart-deployer',
        namespace: 'tenant-calm',
      });
      await rbac.createNamespacedRoleBinding({
        namespace: 'tenant-calm',
        body: {
          metadata: { name: 'kubechart-deployer' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'edit',
          },
          subjects: [
            {
              kind: 'ServiceAccount',
              name: 'kubechart-deployer',
              namespace: 'tenant-calm',
            },
          ],
        },
      });
      const { finished, run } = await runToTheEnd({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-calm',
        release: { name: 'again', chart: 'webapp' },
      });
      expect(run.status).toBe('succeeded');
      const binding = await rbac.readNamespacedRoleBinding({
        name: 'kubechart-deployer',
        namespace: 'tenant-calm',
      });
      expect(binding.roleRef.name).toBe('admin');
      expect(run.applied).toEqual(
        expect.arrayContaining([
          'deleted RoleBinding/kubechart-deployer in tenant-calm',
          'created RoleBinding/kubechart-deployer in tenant-calm',
          'installed release again revision 1 in tenant-calm',
        ]),
      );
      expect(finished.meta.applied).toEqual(run.applied);
    });
    it('records what a run changed when another instance reconciled it before it could record its end', async () => {
      const finish = DatabaseRunStore.prototype.finishRun;
      const spy = jest
        .spyOn(DatabaseRunStore.prototype, 'finishRun')
        .mockImplementation(async function reconciledFirst(
          this: DatabaseRunStore,
          id,
          status,
          patch,
          options,
        ) {
          if (options?.lease) {
            // Another instance took the run over (its heartbeat looked stale) just before.
            await finish.call(
              this,
              id,
              'failed',
              { failureReason: 'reconciled by another instance (test)' },
              { fence: true },
            );
          }
          return finish.call(this, id, status, patch, options);
        });
      try {
        const { run } = await runToTheEnd({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'taken-over',
          releases: [{ name: 'web', chart: 'webapp' }],
        });
        expect(run.status).toBe('failed');
        expect(run.failureReason).toBe('reconciled by another instance (test)');
        // The reconciled status stands; what the executor changed is on the run all the same.
        expect(run.applied).toEqual(
          expect.arrayContaining([
            'created Namespace/tenant-taken-over',
            'installed release web revision 1 in tenant-taken-over',
          ]),
        );
      } finally {
        spy.mockRestore();
      }
    });
  },
);
