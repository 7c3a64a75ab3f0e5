import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import type { TenantHealth } from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { HealthService } from './HealthService';

jest.setTimeout(90_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

const deployment = (name: string, replicas: number, image: string) => ({
  metadata: { name, annotations: { 'meta.helm.sh/release-name': name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image }] },
    },
  },
});

const tenantOf = (namespace: string, releases: string[]) => ({
  cluster: 'dev',
  code: namespace,
  namespace,
  status: 'active' as const,
  releases,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});
const release = (h: TenantHealth, name: string) =>
  h.releases.find(r => r.name === name);

describe('tenant readiness of what the release workloads do not show', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  let health: HealthService;
  const core = () => registry.kubeConfig('dev').makeApiClient(CoreV1Api);
  const apps = () => registry.kubeConfig('dev').makeApiClient(AppsV1Api);
  const batch = () => registry.kubeConfig('dev').makeApiClient(BatchV1Api);

  beforeAll(async () => {
    sim = await startSim({ nodes: 2 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
  });
  afterEach(() => health?.stop());
  afterAll(() => sim.stop());

  it('does not call a tenant healthy once its namespace (and every workload of its release) is gone', async () => {
    const ns = 'gone-ns';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['web']);
    const before = await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
    );
    expect(release(before, 'web')).toMatchObject({
      status: 'healthy',
      readyPods: 2,
    });

    await core().deleteNamespace({ name: ns });
    await eventually(
      async () => {
        try {
          await core().readNamespace({ name: ns });
          return false;
        } catch {
          return true;
        }
      },
      gone => gone,
    );
    const after = await eventually(
      () => health.tenantHealth(tenant),
      h => release(h, 'web')?.status !== 'healthy',
    );
    // The tenant's namespace no longer exists: its release 'web' runs nothing at all.
    expect(after.status).toBe('unhealthy');
    expect(after.message).toMatch(/namespace gone-ns does not exist/);
  });

  it("does not call a tenant healthy while its release's Job crash-loops", async () => {
    const ns = 'job-crash';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('app', 1, 'registry.example.com/x:1'),
    });
    // The same release's migration Job: its pod crash-loops.
    await batch().createNamespacedJob({
      namespace: ns,
      body: {
        metadata: {
          name: 'app-migrate',
          annotations: { 'meta.helm.sh/release-name': 'app' },
        },
        spec: {
          backoffLimit: 100,
          template: {
            spec: {
              restartPolicy: 'OnFailure',
              containers: [
                { name: 'migrate', image: 'registry.example.com/m:crashloop' },
              ],
            },
          },
        },
      },
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['app']);
    // The cluster sees the crash loop in the tenant's namespace …
    const cluster = await eventually(
      () => health.clusterHealth('dev'),
      h => h.alerts.some(a => a.namespace === ns && a.type === 'crash-loop'),
    );
    expect(
      cluster.alerts.some(a => a.namespace === ns && a.type === 'crash-loop'),
    ).toBe(true);
    // … the tenant's own health card should too.
    const h = await eventually(
      () => health.tenantHealth(tenant),
      x => x.status !== 'healthy',
      8_000,
    );
    expect(h.status).toBe('degraded');
    // The failing pod is the release's (its Job's Helm annotation): the release says so, with
    // its Deployment's ready pods still counted, and the tenant has nothing else to report.
    expect(release(h, 'app')).toMatchObject({
      status: 'degraded',
      readyPods: 1,
      totalPods: 1,
      reason: expect.stringMatching(
        /^Job app-migrate: pod app-migrate-\S+ container migrate: CrashLoopBackOff/,
      ),
    });
    expect(h.message).toBeUndefined();
  });

  it('names a failing pod Helm made for a release under that release, and one of no release under the tenant', async () => {
    const ns = 'bare-pods';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    const crashing = (name: string, annotations?: Record<string, string>) =>
      core().createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name, ...(annotations ? { annotations } : {}) },
          spec: {
            containers: [
              { name: 'c', image: 'registry.example.com/x:crashloop' },
            ],
          },
        },
      });
    // A release's bare pod (Helm annotates every object it creates) and a pod of no release.
    await crashing('tools-shell', { 'meta.helm.sh/release-name': 'tools' });
    await crashing('stray');
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['tools']);
    const h = await eventually(
      () => health.tenantHealth(tenant),
      x => release(x, 'tools')?.status === 'degraded' && !!x.message,
    );
    expect(release(h, 'tools')).toMatchObject({
      status: 'degraded',
      reason: expect.stringMatching(
        /^pod tools-shell container c: CrashLoopBackOff/,
      ),
    });
    expect(h.status).toBe('degraded');
    expect(h.message).toMatch(
      /^1 .*not attributed to a release.*: pod stray container c: CrashLoopBackOff/,
    );
    expect(h.message).not.toMatch(/tools-shell/);
  });

  it('does not call a tenant healthy while a Job of its release has failed and its pods are gone', async () => {
    const ns = 'job-failed';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('app', 1, 'registry.example.com/x:1'),
    });
    await batch().createNamespacedJob({
      namespace: ns,
      body: {
        metadata: {
          name: 'app-import',
          annotations: { 'meta.helm.sh/release-name': 'app' },
        },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'c', image: 'registry.example.com/i:1' }],
            },
          },
        },
      },
    });
    // The job controller gives up (as a real one does past backoffLimit), and its pods are gone.
    await batch().patchNamespacedJobStatus(
      {
        name: 'app-import',
        namespace: ns,
        body: [
          {
            op: 'add',
            path: '/status/conditions',
            value: [
              {
                type: 'Failed',
                status: 'True',
                reason: 'BackoffLimitExceeded',
                message: 'Job has reached the specified backoff limit',
              },
            ],
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await core().deleteCollectionNamespacedPod({
      namespace: ns,
      labelSelector: 'job-name=app-import',
      gracePeriodSeconds: 0,
    });
    const podsLeft = await eventually(
      async () =>
        (
          await core().listNamespacedPod({
            namespace: ns,
            labelSelector: 'job-name=app-import',
          })
        ).items.length,
      n => n === 0,
    );
    expect(podsLeft).toBe(0);
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['app']);
    const h = await eventually(
      () => health.tenantHealth(tenant),
      x => x.status !== 'healthy' && release(x, 'app')?.readyPods === 1,
      8_000,
    );
    expect(h.status).toBe('degraded');
    expect(release(h, 'app')).toMatchObject({
      status: 'degraded',
      readyPods: 1,
      totalPods: 1,
      reason:
        'Job app-import: failed (BackoffLimitExceeded: Job has reached the specified backoff limit)',
    });
  });

  it('judges a CronJob by its newest Job: an older failed run does not count, a failed newest run does (under the tenant, as its release is not known)', async () => {
    const ns = 'cron';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('app', 1, 'registry.example.com/x:1'),
    });
    const cron = await batch().createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: {
          name: 'nightly',
          annotations: { 'meta.helm.sh/release-name': 'app' },
        },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  restartPolicy: 'Never',
                  containers: [
                    { name: 'c', image: 'registry.example.com/n:1' },
                  ],
                },
              },
            },
          },
        },
      },
    });
    // The Jobs the CronJob controller made (kube-sim schedules none: made here as it names them).
    const run = async (name: string, failed: boolean) => {
      await batch().createNamespacedJob({
        namespace: ns,
        body: {
          metadata: {
            name,
            ownerReferences: [
              {
                apiVersion: 'batch/v1',
                kind: 'CronJob',
                name: 'nightly',
                uid: cron.metadata!.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: cron.spec!.jobTemplate.spec!,
        },
      });
      if (failed)
        await batch().patchNamespacedJobStatus(
          {
            name,
            namespace: ns,
            body: [
              {
                op: 'add',
                path: '/status/conditions',
                value: [
                  {
                    type: 'Failed',
                    status: 'True',
                    reason: 'DeadlineExceeded',
                    message: 'Job was active longer than specified deadline',
                  },
                ],
              },
            ],
          },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        );
      else
        await eventually(
          async () =>
            (
              await batch().readNamespacedJobStatus({ name, namespace: ns })
            ).status?.conditions ?? [],
          c => c.some(x => x.type === 'Complete' && x.status === 'True'),
        );
    };
    await run('nightly-100', true);
    await run('nightly-200', false);
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['app']);
    // The last run succeeded: the failed one before it is history.
    const passed = await eventually(
      () => health.tenantHealth(tenant),
      x => release(x, 'app')?.readyPods === 1,
    );
    expect(passed.status).toBe('healthy');
    expect(passed.message).toBeUndefined();

    await run('nightly-300', true);
    const h = await eventually(
      () => health.tenantHealth(tenant),
      x => x.status !== 'healthy',
      8_000,
    );
    expect(h.status).toBe('degraded');
    expect(h.message).toMatch(
      /^1 .*not attributed to a release.*Job nightly-300: failed \(DeadlineExceeded/,
    );
    expect(h.message).not.toMatch(/nightly-100/);
    expect(release(h, 'app')).toMatchObject({ status: 'healthy' });
  });

  it('calls a tenant whose quota is used up degraded, saying which resource, though its releases are healthy', async () => {
    const ns = 'quota-full';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await core().createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: 'kubechart-quota' },
        // No load balancers at all is a rule, not a quota used up.
        spec: { hard: { pods: '2', 'services.loadbalancers': '0' } },
      },
    });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['web']);
    const full = await eventually(
      () => health.tenantHealth(tenant),
      x => release(x, 'web')?.status === 'healthy' && x.quota.used.pods === '2',
    );
    expect(release(full, 'web')).toMatchObject({ readyPods: 2 });
    // A third pod (a rollout's surge, a scale-up) would be refused.
    expect(full.status).toBe('degraded');
    expect(full.message).toMatch(/quota .*used up.*pods: 2 of 2/);
    expect(full.message).not.toMatch(/loadbalancers/);

    // With room again, the tenant is healthy.
    await core().patchNamespacedResourceQuota(
      {
        name: 'kubechart-quota',
        namespace: ns,
        body: [{ op: 'replace', path: '/spec/hard/pods', value: '3' }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const roomy = await eventually(
      () => health.tenantHealth(tenant),
      x => x.status === 'healthy',
    );
    expect(roomy.status).toBe('healthy');
    expect(roomy.message).toBeUndefined();
  });
});
