import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { compareQuantities, parseQuantity } from '../lib/quantity';
import { capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import {
  onlyAdminIsTenantsAdmin,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const ADMIN = 'user:default/admin';

describe("a tenant's quota", () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  let core: CoreV1Api;
  const as = (who: string) => mockCredentials.user.header(who);
  const tenantRun = (code: string, hard: Record<string, string>) => ({
    kind: 'tenant',
    cluster: 'dev',
    tenant: code,
    releases: [],
    quota: { hard },
  });
  const post = (who: string, body: object) =>
    request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', as(who))
      .send(body);
  const quotaOf = async (code: string) => {
    for (let i = 0; i < 200; i++) {
      const run = (
        await request(server)
          .get('/api/kubechart/runs?limit=200')
          .set('Authorization', as(ADMIN))
      ).body.items.find((r: any) => r.input?.tenant === code);
      if (run?.status === 'succeeded' || run?.status === 'failed') break;
      await new Promise(r => setTimeout(r, 100));
    }
    return core
      .readNamespacedResourceQuota({
        name: 'kubechart-quota',
        namespace: `tenant-${code}`,
      })
      .then(q => q.spec?.hard);
  };
  const namespaceExists = (name: string) =>
    core.readNamespace({ name }).then(
      () => true,
      (e: any) => (e.code === 404 ? false : Promise.reject(e)),
    );

  beforeAll(async () => {
    sim = await startSim();
    const config = testConfig(sim, {
      health: { startOnBoot: false },
      tenant: {
        quota: { 'requests.cpu': '2', 'limits.memory': '8Gi', pods: '20' },
        maxQuota: { 'requests.cpu': '16', 'limits.memory': '64Gi' },
      },
    });
    core = simKubeConfig(sim).makeApiClient(CoreV1Api);
    const backend = await startKubechartBackend({
      config,
      features: [
        onlyAdminIsTenantsAdmin(ADMIN),
        userInfoWithGroups({ [ALICE]: [], [ADMIN]: [] }),
        capturingAuditor([]),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('refuses a quota above kubechart.tenant.maxQuota with 403 and creates nothing, in whatever unit it is written', async () => {
    for (const [code, hard, named] of [
      ['greedy-cpu', { 'requests.cpu': '100000' }, 'requests.cpu 100000'],
      // `cpu` is what ResourceQuota calls requests.cpu too.
      ['greedy-alias', { cpu: '16001m' }, 'cpu 16001m'],
      ['greedy-mem', { 'limits.memory': '65Gi' }, 'limits.memory 65Gi'],
    ] as const) {
      const refused = await post(ALICE, tenantRun(code, hard));
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toContain(
        `Tenant ${code} asks for a quota of ${named}, above the most the platform allows`,
      );
      expect(refused.body.error.message).toContain('kubechart.tenant.maxQuota');
      expect(await namespaceExists(`tenant-${code}`)).toBe(false);
    }
  });

  it('refuses raising a limit the default quota sets and the ceiling does not name, above its default', async () => {
    const refused = await post(ALICE, tenantRun('many-pods', { pods: '21' }));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain(
      'Tenant many-pods asks for a quota of pods 21, above the most the platform allows (20',
    );
    expect(await namespaceExists('tenant-many-pods')).toBe(false);
  });

  it('refuses a quantity that is not one with 400', async () => {
    const refused = await post(
      ALICE,
      tenantRun('odd', { 'requests.cpu': '1.5.5' }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain(
      'requests.cpu: "1.5.5" is not a Kubernetes quantity',
    );
    expect(await namespaceExists('tenant-odd')).toBe(false);
  });

  it('refuses with 400, naming the field, a quota or default limit the API server would refuse, before anything is applied and in a preview', async () => {
    for (const [code, quota, message] of [
      [
        'neg-cpu',
        { hard: { 'requests.cpu': '-1' } },
        'quota.hard.requests.cpu: "-1" is negative',
      ],
      [
        'odd-name',
        { hard: { 'foo-bar': '1' } },
        'quota.hard: "foo-bar" is not a resource a ResourceQuota limits',
      ],
      [
        'half-pod',
        { hard: { pods: '1.5' } },
        'quota.hard.pods: "1.5" is not a whole number',
      ],
      [
        'lots',
        { defaultLimits: { cpu: 'lots' } },
        'quota.defaultLimits.cpu: "lots" is not a Kubernetes quantity',
      ],
      [
        'upside',
        { defaultLimits: { cpu: '100m' }, defaultRequests: { cpu: '2' } },
        'quota.defaultRequests.cpu: 2 is above the default limit of cpu (100m, quota.defaultLimits.cpu)',
      ],
      [
        // The default request comes from kubechart.tenant.defaultRequests (cpu 100m).
        'under',
        { defaultLimits: { cpu: '50m' } },
        'kubechart.tenant.defaultRequests.cpu: 100m is above the default limit of cpu (50m, quota.defaultLimits.cpu)',
      ],
      [
        'neg-mem',
        { defaultLimits: { memory: '-64Mi' } },
        'quota.defaultLimits.memory: "-64Mi" is negative',
      ],
      [
        'pod-limit',
        { defaultRequests: { pods: '1' } },
        'quota.defaultRequests: "pods" is not a resource a container requests',
      ],
    ] as const) {
      const body = {
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [],
        quota,
      };
      const refused = await post(ALICE, body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain(message);
      const preview = await request(server)
        .post('/api/kubechart/runs/preview')
        .set('Authorization', as(ALICE))
        .send(body);
      expect(preview.status).toBe(400);
      expect(preview.body.error.message).toContain(message);
      expect(await namespaceExists(`tenant-${code}`)).toBe(false);
    }
    // What a ResourceQuota counts besides the common names: objects by kind, storage by class,
    // extended resources (a name with a "/").
    const fine = await request(server)
      .post('/api/kubechart/runs/preview')
      .set('Authorization', as(ALICE))
      .send({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'fine',
        releases: [],
        quota: {
          hard: {
            'count/deployments.apps': '10',
            'gold.storageclass.storage.k8s.io/requests.storage': '100Gi',
            'requests.example.com/gpu': '2',
            'hugepages-2Mi': '1Gi',
            services: '0',
          },
          defaultLimits: { 'ephemeral-storage': '1Gi' },
        },
      });
    expect(fine.status).toBe(200);
  });

  it('applies a quota up to the ceiling, a limit no default names, and more for a tenants admin', async () => {
    const fits = await post(
      ALICE,
      tenantRun('fits', {
        'requests.cpu': '16000m',
        'limits.memory': '68719476736',
        'requests.storage': '500Gi',
      }),
    );
    expect(fits.status).toBe(202);
    const fitted = (await quotaOf('fits'))!;
    // An API server may write a quantity in its canonical form (16000m as 16).
    expect(
      compareQuantities(
        parseQuantity(fitted['requests.cpu'])!,
        parseQuantity('16')!,
      ),
    ).toBe(0);
    expect(fitted).toMatchObject({ 'requests.storage': '500Gi', pods: '20' });
    const big = await post(
      ADMIN,
      tenantRun('big', { 'requests.cpu': '64', pods: '500' }),
    );
    expect(big.status).toBe(202);
    expect(await quotaOf('big')).toMatchObject({
      'requests.cpu': '64',
      pods: '500',
    });
  });
});
