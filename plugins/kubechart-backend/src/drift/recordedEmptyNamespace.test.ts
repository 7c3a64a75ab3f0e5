/*
 * A recorded run (`POST /runs/record`, only kubechart.runs.create on one's own namespace) reports a
 * manifest whose objects say `metadata.namespace: ""`. The finish's scope check reads that as the
 * run's namespace, and so must drift, which reads with the engine's identity: read in namespace
 * `default` (client-node's fallback), the live values of another namespace's objects would reach
 * the caller through GET /drift.
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
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';
import {
  catalogUsers,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const DRIFT_TASK = 'kubechart-drift';
const ALICE = 'user:default/alice';

type ManualScheduler = SchedulerService & {
  factory(options: { skipTaskRunOnStartup: boolean }): ServiceFactory;
};

describe('a recorded run whose manifest says namespace ""', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  let scheduler: ManualScheduler;
  const as = (who: string) => mockCredentials.user.header(who);
  const post = (who: string, path: string, body: object) =>
    request(server)
      .post(`/api/kubechart${path}`)
      .set('Authorization', as(who))
      .send(body);
  const get = (who: string, path: string) =>
    request(server).get(`/api/kubechart${path}`).set('Authorization', as(who));

  beforeAll(async () => {
    sim = await startSim();
    scheduler = mockServices.scheduler() as ManualScheduler;
    const backend = await startTestBackend({
      features: [
        kubechartPlugin,
        catalogServiceMock.factory({ entities: catalogUsers({ [ALICE]: [] }) }),
        mockServices.rootConfig.factory({
          data: testConfig(sim, { health: { startOnBoot: false } }),
        }),
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        userInfoWithGroups({ [ALICE]: [] }),
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

  async function waitForEnd(id: string) {
    for (let i = 0; i < 600; i++) {
      const run = (await get(ALICE, `/runs/${id}`)).body;
      if (run.status === 'succeeded' || run.status === 'failed') return run;
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`run ${id} did not end`);
  }

  it('is compared in its own namespace: GET /drift shows nothing of namespace default', async () => {
    // The platform's objects in `default`, which alice's tenant may not read.
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: { name: 'billing-config' },
        data: { dbHost: 'PLATFORM-ONLY-db.internal:5432' },
      },
    });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'billing' },
        spec: {
          selector: { matchLabels: { app: 'billing' } },
          template: {
            metadata: { labels: { app: 'billing' } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'registry.example.com/PLATFORM-ONLY-image:1',
                  env: [{ name: 'MODE', value: 'PLATFORM-ONLY-mode' }],
                },
              ],
            },
          },
        },
      },
    });

    const tenant = await post(ALICE, '/runs', {
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'rec',
      releases: [],
    });
    expect(tenant.status).toBe(202);
    expect((await waitForEnd(tenant.body.id)).status).toBe('succeeded');

    const recorded = await post(ALICE, '/runs/record', {
      kind: 'manifests',
      action: 'acme:sync',
      target: { cluster: 'dev', namespace: 'tenant-rec' },
    });
    expect(recorded.status).toBe(201);
    const manifest = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: billing-config, namespace: "" }',
      'data: { dbHost: guess }',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: billing, namespace: "" }',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: app',
      '          image: guess',
      '          env: [{ name: MODE, value: guess }]',
      '',
    ].join('\n');
    const finished = await post(ALICE, `/runs/${recorded.body.id}/finish`, {
      status: 'succeeded',
      manifest,
    });
    expect(finished.status).toBeLessThan(300);

    let items: any[] = [];
    for (let i = 0; i < 50 && !items.length; i++) {
      await scheduler.triggerTask(DRIFT_TASK);
      items = (
        await get(ALICE, '/drift?cluster=dev&namespace=tenant-rec')
      ).body.items.filter((d: any) => d.runId === recorded.body.id);
      if (!items.length) await new Promise(r => setTimeout(r, 100));
    }
    expect(items.length).toBe(1);
    expect(JSON.stringify(items)).not.toContain('PLATFORM-ONLY');
    // Read in tenant-rec, where neither object exists: both are missing, no field of `default` shown.
    expect(items[0].status).toBe('drifted');
    expect(
      items[0].objects.map((o: any) => ({
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        state: o.state,
      })),
    ).toEqual([
      {
        kind: 'ConfigMap',
        namespace: 'tenant-rec',
        name: 'billing-config',
        state: 'missing',
      },
      {
        kind: 'Deployment',
        namespace: 'tenant-rec',
        name: 'billing',
        state: 'missing',
      },
    ]);
    // The stored manifest is what the action reported.
    expect(
      (await get(ALICE, `/runs/${recorded.body.id}`)).body.manifest,
    ).toContain('namespace: ""');
  });
});
