import { TestDatabases } from '@backstage/backend-test-utils';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { KubeSim, limitedUser } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** The engine ClusterRole exactly as the README documents it. */
function documentedEngineRules() {
  const readme = readFileSync(
    resolvePackagePath('@kubechart/plugin-kubechart-backend', 'README.md'),
    'utf8',
  );
  const block =
    /<!-- kubechart-engine-clusterrole -->\s*```yaml\n([\s\S]*?)```/.exec(
      readme,
    );
  if (!block)
    throw new Error('README.md has no kubechart-engine-clusterrole block');
  const role = yaml.load(block[1]) as { kind: string; rules: any[] };
  if (role.kind !== 'ClusterRole')
    throw new Error(`README block is a ${role.kind}`);
  return role.rules;
}

describe.each(databases.eachSupportedId())(
  'the engine with only its documented ClusterRole, on %p',
  databaseId => {
    let sim: KubeSim;
    const engineUser = limitedUser({
      name: 'kubechart-engine',
      clusterRules: documentedEngineRules(),
    });

    beforeAll(async () => {
      sim = await startSim({
        users: [engineUser.user],
        objects: engineUser.objects,
      });
    });
    afterAll(() => sim?.stop());

    /** An engine that talks to the cluster as the documented engine identity. */
    const engineAsDocumented = (extra?: Record<string, any>) => {
      const config = testConfig(sim, extra);
      config.kubernetes.clusterLocatorMethods[0].clusters[0].serviceAccountToken =
        engineUser.user.token;
      return createTestEngine({ databases, databaseId, sim, config });
    };

    it('provisions, installs, applies, rolls back and deletes', async () => {
      const { engine, store } = await engineAsDocumented();
      const run = async (request: any) => {
        const r = await engine.submit(request, 'user:default/alice');
        await engine.waitFor(r.id);
        const done = (await store.getRun(r.id))!;
        return {
          kind: done.kind,
          status: done.status,
          reason: done.failureReason,
        };
      };
      const ok = (kind: string) => ({
        kind,
        status: 'succeeded',
        reason: undefined,
      });

      expect(
        await run({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'lean',
          credentials: ['databasePassword'],
          releases: [{ name: 'web', chart: 'webapp', values: { replicas: 1 } }],
        }),
      ).toEqual(ok('tenant'));
      const chart = (replicas: number) => ({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-lean',
        release: { name: 'api', chart: 'webapp', values: { replicas } },
      });
      expect(await run(chart(1))).toEqual(ok('chart'));
      expect(await run(chart(2))).toEqual(ok('chart'));
      expect(
        await run({
          kind: 'rollback',
          cluster: 'dev',
          namespace: 'tenant-lean',
          release: 'api',
          revision: 1,
        }),
      ).toEqual(ok('rollback'));
      expect(
        await run({
          kind: 'manifests',
          cluster: 'dev',
          namespace: 'tenant-lean',
          manifests:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { color: blue }',
        }),
      ).toEqual(ok('manifests'));

      // The engine's identity itself may not read Secrets; the deployer did that work.
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfigFor(engineUser.user.token));
      kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
      await expect(
        kc
          .makeApiClient(CoreV1Api)
          .listNamespacedSecret({ namespace: 'tenant-lean' }),
      ).rejects.toMatchObject({ code: 403 });

      expect(
        await run({ kind: 'tenant-delete', cluster: 'dev', tenant: 'lean' }),
      ).toEqual(ok('tenant-delete'));
    });

    it('holds runs on protected targets for approval, reading the deployed releases as the deployer', async () => {
      const { engine, store } = await engineAsDocumented({
        approvals: {
          rules: [
            {
              name: 'prod',
              namespaces: ['tenant-gated'],
              approvers: ['group:default/sre'],
            },
          ],
        },
      });
      const sre = {
        userEntityRef: 'user:default/sam',
        ownershipRefs: ['user:default/sam', 'group:default/sre'],
        mayApprove: true,
      };
      const approved = async (request: any) => {
        const r = await engine.submit(request, 'user:default/alice');
        expect(r.status).toBe('awaiting-approval');
        await engine.decide(r.id, sre, 'approve', 'ok');
        if ((await store.getRun(r.id))!.status === 'approved') {
          await engine.executeApproved(r.id, request, 'user:default/alice');
        }
        await engine.waitIdle();
        return (await store.getRun(r.id))!;
      };
      // A new tenant (its namespace does not exist yet), then a chart run on its release.
      const tenant = await approved({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'gated',
        releases: [{ name: 'web', chart: 'webapp', values: { replicas: 1 } }],
      });
      expect({ status: tenant.status, reason: tenant.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      const chart = await approved({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-gated',
        release: { name: 'web', chart: 'webapp', values: { replicas: 2 } },
      });
      expect({ status: chart.status, reason: chart.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
    });
  },
);
