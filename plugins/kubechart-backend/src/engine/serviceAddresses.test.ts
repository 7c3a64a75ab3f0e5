import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/*
 * A tenant's manifests may not take traffic meant for others: a Service that names external IPs
 * (CVE-2020-8554: every pod connecting to such an address reaches the tenant's pods, the API
 * server's 10.96.0.1 included), or hand-written Endpoints that send a Service's traffic to another
 * tenant's pods. The deployer's `admin` role may create such a Service (and, on clusters before
 * 1.22, Endpoints); the policy refuses them before anything is applied.
 */
describe('Services that take traffic meant for others, in a manifests run into a tenant namespace with kube-sim', () => {
  let sim: KubeSim;
  let engine: RunEngine;
  let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
  let core: CoreV1Api;
  const ns = 'tenant-acme';

  const applyManifests = async (manifests: string) => {
    const run = await engine.submit(
      { kind: 'manifests', cluster: 'dev', namespace: ns, manifests },
      'user:default/alice',
    );
    await engine.waitFor(run.id);
    return (await store.getRun(run.id))!;
  };
  const services = async () =>
    (await core.listNamespacedService({ namespace: ns })).items.map(
      s => s.metadata?.name,
    );

  beforeAll(async () => {
    sim = await startSim();
    const created = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: testConfig(sim),
    });
    ({ engine, store } = created);
    const config = created.clusters.kubeConfig('dev');
    core = config.makeApiClient(CoreV1Api);
    const tenant = await engine.submit(
      { kind: 'tenant', cluster: 'dev', tenant: 'acme', releases: [] },
      'user:default/alice',
    );
    await engine.waitFor(tenant.id);
    const done = (await store.getRun(tenant.id))!;
    if (done.status !== 'succeeded')
      throw new Error(`tenant ${done.status}: ${done.failureReason}`);
  });
  afterAll(() => sim?.stop());

  it('refuses a Service with spec.externalIPs: the policy report names the rule and the field; nothing is applied', async () => {
    const run = await applyManifests(
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: grab-settings }',
        'data: { color: blue }',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata: { name: grab }',
        'spec:',
        '  selector: { app: none }',
        '  ports: [{ port: 443 }]',
        '  externalIPs: ["203.0.113.10", "10.96.0.1"]',
      ].join('\n'),
    );
    expect(run.status).toBe('failed');
    expect(run.failureReason).toContain(
      'Chart policy (enforce) blocked the manifests; nothing was applied',
    );
    expect(run.failureReason).toContain(
      '[service-external-ips] Service/grab: spec.externalIPs names "203.0.113.10", "10.96.0.1": every node sends connections to these addresses',
    );
    expect(run.policyReport?.blocking).toBe(true);
    expect(run.policyReport?.summary).toMatchObject({ objects: 2, errors: 1 });
    expect(run.policyReport?.results).toContainEqual(
      expect.objectContaining({
        ruleId: 'service-external-ips',
        severity: 'error',
        passed: false,
        object: expect.objectContaining({ kind: 'Service', name: 'grab' }),
        message: expect.stringContaining('spec.externalIPs'),
      }),
    );
    expect(await services()).toEqual([]);
    expect(
      (await core.listNamespacedConfigMap({ namespace: ns })).items.map(
        c => c.metadata?.name,
      ),
    ).not.toContain('grab-settings');
  });

  it("refuses hand-written Endpoints by the policy, before the deployer's rights would: nothing is applied", async () => {
    const run = await applyManifests(
      [
        'apiVersion: v1',
        'kind: Service',
        'metadata: { name: other-pods }',
        'spec: { ports: [{ port: 80 }] }',
        '---',
        'apiVersion: v1',
        'kind: Endpoints',
        'metadata: { name: other-pods }',
        'subsets: [{ addresses: [{ ip: 10.244.9.9 }], ports: [{ port: 8080 }] }]',
      ].join('\n'),
    );
    expect(run.status).toBe('failed');
    expect(run.failureReason).toContain(
      'Chart policy (enforce) blocked the manifests; nothing was applied',
    );
    expect(
      (run.policyReport?.results ?? [])
        .filter(r => r.ruleId === 'service-endpoints' && !r.passed)
        .map(r => `${r.object.kind}/${r.object.name}: ${r.message}`),
    ).toEqual([
      "Endpoints/other-pods: Endpoints are Kubernetes' to write from a Service's selector: written by hand, they send the Service's traffic to any address they name, another tenant's pods included",
    ]);
    expect(await services()).toEqual([]);
    expect(
      (await core.listNamespacedEndpoints({ namespace: ns })).items.map(
        e => e.metadata?.name,
      ),
    ).not.toContain('other-pods');
  });
});
