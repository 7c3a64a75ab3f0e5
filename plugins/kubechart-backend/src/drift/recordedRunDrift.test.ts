/*
 * A protected target's drift cannot be talked away with a recorded run: whoever may deploy there
 * records nothing on it (an approval rule protects it, and a recorded run cannot be approved), and
 * the approved engine run keeps comparing what it applied.
 */
import {
  SchedulerService,
  ServiceFactory,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import {
  catalogUsers,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const DRIFT_TASK = 'kubechart-drift';
const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const PAYMENTS = 'group:default/payments';

/** The mock scheduler as it is at run time (`mockServices.scheduler()` is typed as the plain service). */
type ManualScheduler = SchedulerService & {
  factory(options: { skipTaskRunOnStartup: boolean }): ServiceFactory;
};

describe.each(databases.eachSupportedId())(
  'recorded runs and drift of a protected target on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let scheduler: ManualScheduler;
    const audit: CapturedAuditEvent[] = [];
    const as = (who: string) => mockCredentials.user.header(who);
    const post = (who: string, path: string, body: object) =>
      request(server)
        .post(`/api/kubechart${path}`)
        .set('Authorization', as(who))
        .send(body);
    const get = (who: string, path: string) =>
      request(server)
        .get(`/api/kubechart${path}`)
        .set('Authorization', as(who));

    beforeAll(async () => {
      sim = await startSim();
      scheduler = mockServices.scheduler() as ManualScheduler;
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          // Its users are in the groups their sign-in tokens name.
          catalogServiceMock.factory({
            entities: catalogUsers({ [ALICE]: [PAYMENTS], [BOB]: [PAYMENTS] }),
          }),
          mockServices.rootConfig.factory({
            data: testConfig(sim, {
              health: { startOnBoot: false },
              approvals: { rules: [{ name: 'production', tenants: ['prod'] }] },
            }),
          }),
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          userInfoWithGroups({ [ALICE]: [PAYMENTS], [BOB]: [PAYMENTS] }),
          capturingAuditor(audit),
          // Drift passes run when the test fires them (and when a run succeeds).
          scheduler.factory({ skipTaskRunOnStartup: true }),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => undefined }),
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    /**
     * The drift records of tenant-prod once a pass that started after now has written them (a pass
     * a succeeded run triggered may be under way: firing the task then does nothing).
     */
    async function driftAfterNow(): Promise<any[]> {
      const mark = Date.now();
      let items: any[] = [];
      for (let i = 0; i < 100; i++) {
        await scheduler.triggerTask(DRIFT_TASK);
        items = (await get(ALICE, '/drift?cluster=dev&namespace=tenant-prod'))
          .body.items;
        if (items.length && items.every(d => Date.parse(d.checkedAt) >= mark))
          return items;
        await new Promise(r => setTimeout(r, 100));
      }
      return items;
    }

    async function waitForEnd(id: string) {
      for (let i = 0; i < 600; i++) {
        const run = (await get(ALICE, `/runs/${id}`)).body;
        if (run.status === 'succeeded' || run.status === 'failed') return run;
        await new Promise(r => setTimeout(r, 100));
      }
      throw new Error(`run ${id} did not end`);
    }

    it('refuses to record a run on a target an approval rule protects, audited, and the approved run stays drifted', async () => {
      const asked = await post(ALICE, '/runs', {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod',
        owner: PAYMENTS,
        releases: [{ name: 'web', chart: 'webapp' }],
      });
      expect(asked.status).toBe(202);
      expect(asked.body.status).toBe('awaiting-approval');
      const approved = await post(BOB, `/runs/${asked.body.id}/approve`, {
        comment: 'CHG-7 reviewed',
      });
      expect(approved.status).toBe(200);
      expect((await waitForEnd(asked.body.id)).status).toBe('succeeded');

      // Out of band: someone changes the image the approved run applied.
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfig);
      const apps = kc.makeApiClient(AppsV1Api);
      const live = await apps.readNamespacedDeployment({
        name: 'web',
        namespace: 'tenant-prod',
      });
      live.spec!.template.spec!.containers[0].image =
        'registry.example.com/team/web:evil';
      await apps.replaceNamespacedDeployment({
        name: 'web',
        namespace: 'tenant-prod',
        body: live,
      });
      const imagePath = 'spec.template.spec.containers[name=web].image';
      const drifted = await driftAfterNow();
      expect(
        drifted.map(d => ({
          runId: d.runId,
          status: d.status,
          paths: d.objects.flatMap((o: any) =>
            o.fields.map((f: any) => `${o.kind}/${o.name} ${f.path}`),
          ),
        })),
      ).toEqual([
        {
          runId: asked.body.id,
          status: 'drifted',
          paths: [`Deployment/web ${imagePath}`],
        },
      ]);

      // A run recorded there would say "applied" with nobody's approval: refused, nothing recorded.
      audit.length = 0;
      const recorded = await post(ALICE, '/runs/record', {
        kind: 'manifests',
        action: 'acme:noop',
        target: { cluster: 'dev', namespace: 'tenant-prod' },
      });
      expect({ status: recorded.status, body: recorded.body.error }).toEqual({
        status: 403,
        body: expect.objectContaining({
          name: 'NotAllowedError',
          message:
            'Namespace tenant-prod on cluster dev is protected by approval rule production: changes there need approval (POST /runs), and a recorded run cannot be approved; nothing was recorded',
        }),
      });
      expect(
        (await get(ALICE, '/runs?kind=manifests')).body.items.filter(
          (r: any) => r.target.namespace === 'tenant-prod',
        ),
      ).toEqual([]);
      expect(audit.filter(e => e.eventId === 'run-record')).toEqual([
        expect.objectContaining({
          status: 'failed',
          meta: expect.objectContaining({
            actor: ALICE,
            action: 'acme:noop',
            cluster: 'dev',
            namespace: 'tenant-prod',
          }),
        }),
      ]);

      // The approved run still says what changed.
      const after = await driftAfterNow();
      expect(after.map(d => [d.runId, d.status])).toEqual([
        [asked.body.id, 'drifted'],
      ]);
    });
  },
);
