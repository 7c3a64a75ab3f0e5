import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { startKubechartBackend } from '../__testUtils__/backend';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const policy = {
  mode: 'enforce',
  trustedRegistries: ['registry.example.com'],
  ingressHostDomain: 'apps.example.com',
};

/*
 * The shared ingress controller publishes every tenant's Ingress and HTTPRoute: a chart may not claim
 * another tenant's host, or every host, through it. With `kubechart.policy.ingressHostDomain`, a
 * tenant's hosts are `<namespace>.<domain>` and below.
 */
describe('ingress hosts a tenant chart may claim, with real helm against kube-sim', () => {
  let sim: KubeSim;
  let engine: RunEngine;
  let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
  let networking: NetworkingV1Api;
  let custom: CustomObjectsApi;
  const ns = 'tenant-ing';

  const install = async (name: string, values: Record<string, unknown>) => {
    const run = await engine.submit(
      {
        kind: 'chart',
        cluster: 'dev',
        namespace: ns,
        release: { name, chart: 'tenantroutes', values },
      },
      'user:default/alice',
      {
        ownershipRefs: ['user:default/alice'],
        mayApplyClusterScoped: false,
        isTenantAdmin: false,
      },
    );
    await engine.waitFor(run.id);
    return (await store.getRun(run.id))!;
  };
  const ingresses = async () =>
    (await networking.listNamespacedIngress({ namespace: ns })).items
      .map(i => `${i.metadata?.name} ${i.spec?.rules?.[0]?.host}`)
      .sort();
  const routes = async () =>
    (
      (await custom.listNamespacedCustomObject({
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        namespace: ns,
        plural: 'httproutes',
      })) as any
    ).items.map((r: any) => r.metadata.name);

  beforeAll(async () => {
    sim = await startSim();
    const created = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: testConfig(sim, { policy }),
    });
    ({ engine, store } = created);
    const config = created.clusters.kubeConfig('dev');
    networking = config.makeApiClient(NetworkingV1Api);
    custom = config.makeApiClient(CustomObjectsApi);
    const tenant = await engine.submit(
      { kind: 'tenant', cluster: 'dev', tenant: 'ing', releases: [] },
      'user:default/alice',
    );
    await engine.waitFor(tenant.id);
    const done = (await store.getRun(tenant.id))!;
    if (done.status !== 'succeeded')
      throw new Error(`tenant ${done.status}: ${done.failureReason}`);
  });
  afterAll(() => sim?.stop());

  it("refuses a chart whose Ingress claims another tenant's host, with the reason in its policy report; nothing is applied", async () => {
    const run = await install('steal', {
      host: 'shop.tenant-b.apps.example.com',
    });
    expect(run.status).toBe('failed');
    expect(run.failureReason).toContain(
      'Chart policy (enforce) blocked release steal; nothing was installed',
    );
    expect(run.failureReason).toContain(
      `[ingress-host] Ingress/steal: host "shop.tenant-b.apps.example.com" (spec.rules[0].host) is not under this tenant's subdomain ${ns}.apps.example.com`,
    );
    expect(run.policyReport?.blocking).toBe(true);
    expect(run.policyReport?.results).toContainEqual(
      expect.objectContaining({
        ruleId: 'ingress-host',
        severity: 'error',
        passed: false,
        object: expect.objectContaining({ kind: 'Ingress', name: 'steal' }),
        message: expect.stringContaining('is not under this tenant'),
      }),
    );
    expect(await ingresses()).toEqual([]);
  });

  it('refuses a chart with catch-alls: an Ingress rule without a host and an HTTPRoute without hostnames', async () => {
    const run = await install('all', { route: true });
    expect(run.status).toBe('failed');
    const refused = (run.policyReport?.results ?? [])
      .filter(r => r.ruleId === 'ingress-host' && !r.passed)
      .map(r => `${r.object.kind}/${r.object.name}: ${r.message}`)
      .sort();
    expect(refused).toEqual([
      expect.stringMatching(
        /^HTTPRoute\/all: it has no hostnames: it matches every host of the Gateway listeners/,
      ),
      expect.stringMatching(
        /^Ingress\/all: spec\.rules\[0\] has no host: it matches requests for every host/,
      ),
    ]);
    expect(await ingresses()).toEqual([]);
    expect(await routes()).toEqual([]);
  });

  it('refuses a manifests run whose Ingress has a default backend, as it refuses a chart', async () => {
    const run = await engine.submit(
      {
        kind: 'manifests',
        cluster: 'dev',
        namespace: ns,
        manifests: [
          'apiVersion: networking.k8s.io/v1',
          'kind: Ingress',
          'metadata: { name: fallback }',
          'spec: { defaultBackend: { service: { name: web, port: { number: 80 } } } }',
        ].join('\n'),
      },
      'user:default/alice',
    );
    await engine.waitFor(run.id);
    const done = (await store.getRun(run.id))!;
    expect(done.status).toBe('failed');
    expect(done.failureReason).toContain(
      'Chart policy (enforce) blocked the manifests; nothing was applied',
    );
    expect(done.failureReason).toContain(
      "[ingress-host] Ingress/fallback: spec.defaultBackend catches every request no rule matches, for every host the ingress controller serves, other tenants' included",
    );
    expect(await ingresses()).toEqual([]);
  });

  it("installs a chart whose host is under the tenant's own subdomain", async () => {
    // (Only the Ingress: the deployer's default ClusterRole, `admin`, does not cover Gateway API routes.)
    const run = await install('shop', { host: `shop.${ns}.apps.example.com` });
    expect([run.status, run.failureReason]).toEqual(['succeeded', undefined]);
    expect(await ingresses()).toEqual([`shop shop.${ns}.apps.example.com`]);
  });
});

describe('POST /policy/check judges ingress hosts against the namespace it names', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const check = (body: object) =>
    request(server)
      .post('/api/kubechart/policy/check')
      .set('Authorization', mockCredentials.user.header('user:default/alice'))
      .send(body);
  /** The ingress-host results of an answer: `<kind>/<name>: passed` or the refusal. */
  const judged = (res: request.Response) =>
    res.body.report.results
      .filter((r: any) => r.ruleId === 'ingress-host')
      .map(
        (r: any) =>
          `${r.object.kind}/${r.object.name}: ${
            r.passed ? 'passed' : r.message
          }`,
      );

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, { policy, health: { startOnBoot: false } }),
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('passes manifests without metadata.namespace whose host is under the named namespace, and refuses another', async () => {
    const ingress = (name: string, host: string) =>
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name} }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;
    const res = await check({
      namespace: 'team-a',
      manifests: `${ingress(
        'own',
        'web.team-a.apps.example.com',
      )}---\n${ingress('other', 'web.team-b.apps.example.com')}`,
    });
    expect(res.status).toBe(200);
    expect(judged(res)).toEqual([
      'Ingress/own: passed',
      `Ingress/other: host "web.team-b.apps.example.com" (spec.rules[0].host) is not under this tenant's subdomain team-a.apps.example.com`,
    ]);
  });

  it("passes a chart release whose host is under the named namespace (the chart's templates name none)", async () => {
    const res = await check({
      namespace: 'team-a',
      release: {
        name: 'web',
        chart: 'tenantroutes',
        values: { host: 'web.team-a.apps.example.com' },
      },
    });
    expect(res.status).toBe(200);
    expect(judged(res)).toEqual(['Ingress/web: passed']);
    expect(res.body.report.blocking).toBe(false);
  });
});
