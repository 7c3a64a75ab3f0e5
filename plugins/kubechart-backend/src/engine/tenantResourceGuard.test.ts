import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { TenantResourceProvider } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};

/** A platform team's tenant resource: an egress-deny policy protecting other tenants. */
const egressDeny: TenantResourceProvider = {
  name: 'egress-deny',
  resources: () => [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'platform-egress-deny' },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    },
  ],
};

describe.each(['helm3', 'helm4'] as const)(
  'tenant resources are out of a chart’s reach, with real %s against kube-sim',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let created: Awaited<ReturnType<typeof createTestEngine>>;
    let store: typeof created.store;
    let core: CoreV1Api;
    let net: NetworkingV1Api;
    const code = `trg${helmBin.slice(-1)}`;
    const ns = `tenant-${code}`;

    const finish = async (request: any) => {
      const run = await engine.submit(request, 'user:default/alice', alice);
      await engine.waitFor(run.id);
      return (await store.getRun(run.id))!;
    };
    const chart = (
      name: string,
      chartName: string,
      values: Record<string, unknown> = {},
    ) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: ns,
      release: { name, chart: chartName, values },
    });
    /** The namespace's NetworkPolicies (name → annotations and spec), and its helm release records. */
    const state = async () => ({
      policies: Object.fromEntries(
        (await net.listNamespacedNetworkPolicy({ namespace: ns })).items.map(
          p => [
            p.metadata!.name!,
            { annotations: p.metadata?.annotations ?? {}, spec: p.spec },
          ],
        ),
      ),
      releases: (
        await core.listNamespacedSecret({
          namespace: ns,
          labelSelector: 'owner=helm',
        })
      ).items.map(s => s.metadata?.labels?.name),
    });
    let before: Awaited<ReturnType<typeof state>>;

    beforeAll(async () => {
      sim = await startSim();
      created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
        config: testConfig(sim),
        tenantResources: [egressDeny],
      });
      ({ engine, store } = created);
      const config = created.clusters.kubeConfig('dev');
      core = config.makeApiClient(CoreV1Api);
      net = config.makeApiClient(NetworkingV1Api);
      const tenant = await finish({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [],
      });
      if (tenant.status !== 'succeeded')
        throw new Error(`tenant failed: ${tenant.failureReason}`);
      before = await state();
    });
    afterAll(() => sim?.stop());

    it('keeps the tenant’s resources as the tenant run left them', () => {
      expect(Object.keys(before.policies).sort()).toEqual([
        'kubechart-default-deny',
        'platform-egress-deny',
      ]);
      expect(
        before.policies['kubechart-default-deny'].annotations,
      ).toMatchObject({ 'kubechart.io/tenant-resource': 'true' });
      expect(before.releases).toEqual([]);
    });

    it('refuses a chart whose before-hook-creation hook would replace the default-deny NetworkPolicy; nothing is applied', async () => {
      const run = await finish(chart('opener', 'opener'));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        '[run-scope] NetworkPolicy/kubechart-default-deny',
      );
      expect(run.failureReason).toContain(
        `is a tenant resource KubeChart keeps in namespace ${ns}`,
      );
      expect(run.failureReason).toContain(
        'helm.sh/hook-delete-policy: before-hook-creation',
      );
      expect(run.policyReport?.results).toContainEqual(
        expect.objectContaining({
          ruleId: 'run-scope',
          passed: false,
          object: expect.objectContaining({
            kind: 'NetworkPolicy',
            name: 'kubechart-default-deny',
          }),
        }),
      );
      // Neither the hook nor open-all reached the namespace; the default-deny is as it was.
      expect(await state()).toEqual(before);
    });

    it('refuses a plain chart object named like the default-deny NetworkPolicy, whatever its annotations', async () => {
      const run = await finish(chart('shadow', 'shadowdeny'));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        `[run-scope] NetworkPolicy/kubechart-default-deny: NetworkPolicy/kubechart-default-deny is a tenant resource KubeChart keeps in namespace ${ns}`,
      );
      expect(await state()).toEqual(before);
    });

    it('refuses a chart object named like a platform team’s tenant resource', async () => {
      const run = await finish(
        chart('shadow', 'shadowdeny', { name: 'platform-egress-deny' }),
      );
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        `[run-scope] NetworkPolicy/platform-egress-deny: NetworkPolicy/platform-egress-deny is a tenant resource KubeChart keeps in namespace ${ns}`,
      );
      expect(await state()).toEqual(before);
    });

    it('still installs an ordinary chart, its own ingress policy included', async () => {
      const run = await finish(
        chart('team', 'shadowdeny', { name: 'team-ingress' }),
      );
      expect([run.status, run.failureReason]).toEqual(['succeeded', undefined]);
      const after = await state();
      expect(Object.keys(after.policies).sort()).toEqual([
        'kubechart-default-deny',
        'platform-egress-deny',
        'team-ingress',
      ]);
      expect(after.policies['kubechart-default-deny']).toEqual(
        before.policies['kubechart-default-deny'],
      );
      expect(after.releases).toEqual(['team']);
    });
  },
);
