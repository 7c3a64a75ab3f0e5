import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { ConflictError, NotAllowedError } from '@backstage/errors';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import {
  CoreV1Api,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { HelmCli, PolicyEngine } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, helmBinary, startSim } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';
import { readEngineSettings } from './settings';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** A caller who may read every tenant: refusals name other owners' tenants and owners to it. */
const caller = (user: string, ...groups: string[]): RunCaller => ({
  ownershipRefs: [
    `user:default/${user}`,
    ...groups.map(g => `group:default/${g}`),
  ],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
  mayReadTenant: async () => true,
  mayReadEveryTenant: async () => true,
});
const alice = caller('alice', 'acme-team');
const rachel = caller('rachel', 'rival-team');

const tenant = (
  code: string,
  owner: string,
  over: Record<string, any> = {},
) => ({
  kind: 'tenant' as const,
  cluster: 'dev',
  tenant: code,
  owner: `group:default/${owner}`,
  releases: [] as any[],
  ...over,
});

/** The five ways out of a tenant namespace, as manifests (applied into tenant-acme). */
const manifestAttacks: Record<string, string> = {
  clusterrolebinding: [
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRoleBinding',
    'metadata: { name: escape-admin }',
    'roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }',
    'subjects: [{ kind: ServiceAccount, name: kubechart-deployer-tenant-acme, namespace: kubechart-deployers }]',
  ].join('\n'),
  'kube-system':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: escape, namespace: kube-system }\ndata: { planted: "yes" }',
  'other-namespace':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: escape, namespace: tenant-rival }\ndata: { planted: "yes" }',
  'namespace-relabel':
    'apiVersion: v1\nkind: Namespace\nmetadata: { name: tenant-acme, labels: { pod-security.kubernetes.io/enforce: privileged } }',
  takeover:
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: rival-settings, namespace: tenant-rival }\ndata: { color: red }',
};
/** What the API server refuses the impersonated deployer for each attack (first request helm or apply sends). */
const inNamespace = (verb: string, resource: string, namespace: string) =>
  `${verb} resource "${resource}" in API group "" in the namespace "${namespace}"`;
const apiRefusal: Record<string, { manifests: string; chart: string }> = {
  clusterrolebinding: {
    manifests:
      'get resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope',
    chart:
      'get resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope',
  },
  'kube-system': {
    manifests: inNamespace('get', 'configmaps', 'kube-system'),
    chart: inNamespace('get', 'configmaps', 'kube-system'),
  },
  'other-namespace': {
    manifests: inNamespace('get', 'configmaps', 'tenant-rival'),
    chart: inNamespace('get', 'configmaps', 'tenant-rival'),
  },
  'namespace-relabel': {
    manifests: inNamespace('patch', 'namespaces', 'tenant-acme'),
    chart: inNamespace('delete', 'namespaces', 'tenant-acme'),
  },
  takeover: {
    manifests: inNamespace('get', 'configmaps', 'tenant-rival'),
    chart: inNamespace('get', 'configmaps', 'tenant-rival'),
  },
};
/** The object each attack names, as the policy report shows it. */
const attackObject: Record<string, string> = {
  clusterrolebinding: 'ClusterRoleBinding/escape-admin',
  'kube-system': 'ConfigMap/escape',
  'other-namespace': 'ConfigMap/escape',
  'namespace-relabel': 'Namespace/tenant-acme',
  takeover: 'ConfigMap/rival-settings',
};

describe.each(databases.eachSupportedId())(
  'tenant confinement on %p',
  databaseId => {
    let sim: KubeSim;
    let engine: RunEngine;
    let unchecked: RunEngine;
    /** The same engine on helm 4, for the `escape` chart, whose attack-lookup.yaml calls lookup. */
    let engine4: RunEngine;
    let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
    let core: CoreV1Api;
    let rbac: RbacAuthorizationV1Api;
    let created: Awaited<ReturnType<typeof createTestEngine>>;

    const finish = async (e: RunEngine, request: any, who: RunCaller) => {
      const run = await e.submit(request, who.ownershipRefs[0], who);
      await e.waitFor(run.id);
      return (await store.getRun(run.id))!;
    };

    /** What the five attacks would change, read with the engine's own identity. */
    async function clusterState() {
      const crbs = (await rbac.listClusterRoleBinding()).items.map(
        b => b.metadata?.name,
      );
      const kubeSystem = (
        await core.listNamespacedConfigMap({ namespace: 'kube-system' })
      ).items.map(c => c.metadata?.name);
      const rival = (
        await core.listNamespacedConfigMap({ namespace: 'tenant-rival' })
      ).items
        .filter(c => c.metadata?.name !== 'kube-root-ca.crt')
        .map(c => [c.metadata?.name, c.data]);
      const acme = (await core.readNamespace({ name: 'tenant-acme' })).metadata
        ?.labels;
      return {
        escapeBinding: crbs.includes('escape-admin'),
        kubeSystem: kubeSystem.includes('escape'),
        rival,
        acme,
      };
    }

    beforeAll(async () => {
      sim = await startSim();
      created = await createTestEngine({ databases, databaseId, sim });
      ({ engine, store } = created);
      // The same engine with its own scope check switched off and the chart policy only warning, its
      // RBAC rule (which blocks in every mode) exempting the ClusterRoleBinding it would refuse first:
      // only the API server stands in the way.
      const config = created.config;
      const warnOnly = new ConfigReader({
        kubechart: {
          ...config.getConfig('kubechart').get<object>(),
          policy: {
            mode: 'warn',
            exceptions: [
              {
                rule: 'rbac-cluster-admin',
                kind: 'ClusterRoleBinding',
                name: 'escape-admin',
                reason: 'the API server must refuse it on its own',
              },
            ],
          },
        },
      });
      // helm 4: helm 3 refuses the `escape` chart before anything is applied, since its
      // attack-lookup.yaml calls lookup (kubechart.helm.helm3HookInputs, helm3Hooks.test.ts); these
      // tests are about what the engine and the API server refuse, not about helm 3.
      const helm4 = HelmCli.fromConfig(
        new ConfigReader({
          kubechart: {
            ...config.getConfig('kubechart').get<object>(),
            helm: {
              ...config.getConfig('kubechart.helm').get<object>(),
              binary: helmBinary('helm4'),
            },
          },
        }),
      );
      unchecked = new RunEngine({
        store,
        clusters: created.clusters,
        helm: helm4,
        policy: PolicyEngine.fromConfig(warnOnly),
        logger: mockServices.logger.mock(),
        settings: { ...readEngineSettings(config), enforceRunScope: false },
      });
      engine4 = new RunEngine({
        store,
        clusters: created.clusters,
        helm: helm4,
        policy: PolicyEngine.fromConfig(config),
        logger: mockServices.logger.mock(),
        settings: readEngineSettings(config),
      });
      core = created.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      rbac = created.clusters
        .kubeConfig('dev')
        .makeApiClient(RbacAuthorizationV1Api);
      for (const [code, who, owner] of [
        ['acme', alice, 'acme-team'],
        ['rival', rachel, 'rival-team'],
      ] as const) {
        const done = await finish(engine, tenant(code, owner), who);
        if (done.status !== 'succeeded') {
          throw new Error(`tenant ${code} failed: ${done.failureReason}`);
        }
      }
      const rivalSettings = await finish(
        engine,
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace: 'tenant-rival',
          manifests:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: rival-settings }\ndata: { color: blue }',
        },
        rachel,
      );
      if (rivalSettings.status !== 'succeeded') {
        throw new Error(
          `rival-settings failed: ${rivalSettings.failureReason}`,
        );
      }
    });
    afterAll(() => sim?.stop());

    it('provisions a deployer ServiceAccount in kubechart-deployers, bound to the admin ClusterRole in the tenant namespace only', async () => {
      const sa = await core.readNamespacedServiceAccount({
        name: 'kubechart-deployer-tenant-acme',
        namespace: 'kubechart-deployers',
      });
      expect(sa.metadata?.labels).toMatchObject({
        'kubechart.io/tenant': 'acme',
        'app.kubernetes.io/managed-by': 'kubechart',
      });
      // Nothing of the tenant namespace is its deployer.
      await expect(
        core.readNamespacedServiceAccount({
          name: 'kubechart-deployer',
          namespace: 'tenant-acme',
        }),
      ).rejects.toMatchObject({ code: 404 });
      const rb = await rbac.readNamespacedRoleBinding({
        name: 'kubechart-deployer',
        namespace: 'tenant-acme',
      });
      expect({ roleRef: rb.roleRef, subjects: rb.subjects }).toEqual({
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'admin',
        },
        subjects: [
          {
            kind: 'ServiceAccount',
            name: 'kubechart-deployer-tenant-acme',
            namespace: 'kubechart-deployers',
          },
        ],
      });
      const crbs = (await rbac.listClusterRoleBinding()).items.filter(b =>
        b.subjects?.some(s => s.name?.startsWith('kubechart-deployer')),
      );
      expect(crbs).toEqual([]);
      const bindings = (
        await rbac.listNamespacedRoleBinding({
          namespace: 'kubechart-deployers',
        })
      ).items;
      expect(bindings).toEqual([]);
    });

    it('labels the tenant namespace for Pod Security admission: baseline unless kubechart.tenant.podSecurity.enforce says otherwise', async () => {
      const labels = (await core.readNamespace({ name: 'tenant-acme' }))
        .metadata?.labels;
      expect(labels).toMatchObject({
        'kubechart.io/tenant': 'acme',
        'pod-security.kubernetes.io/enforce': 'baseline',
      });
      const level = (value?: string) =>
        readEngineSettings(
          new ConfigReader({
            kubechart: value
              ? { tenant: { podSecurity: { enforce: value } } }
              : {},
          }),
        ).podSecurityEnforce;
      expect(level()).toBe('baseline');
      expect(level('restricted')).toBe('restricted');
      expect(level('none')).toBeUndefined();
      expect(() => level('strict')).toThrow(
        'Invalid kubechart.tenant.podSecurity.enforce "strict": use baseline, restricted, privileged or none',
      );
    });

    it("has the API server refuse a privileged pod that the namespace's own rights create, which no chart policy sees", async () => {
      // What a workload holding the namespace's admin rights could send: the deployer's own identity here.
      const asDeployer = created.engine.scopedClient('dev', 'tenant-acme');
      const refused = await asDeployer
        .ensure({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'breakout', namespace: 'tenant-acme' },
          spec: {
            hostPID: true,
            containers: [
              {
                name: 'shell',
                image: 'busybox:1.36',
                securityContext: { privileged: true },
              },
            ],
          },
        } as any)
        .catch(e => e);
      expect(refused.code ?? refused.statusCode).toBe(403);
      const status =
        typeof refused.body === 'string'
          ? JSON.parse(refused.body)
          : refused.body;
      expect(status.message).toBe(
        'pods "breakout" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostPID=true), privileged (container "shell" must not set securityContext.privileged=true)',
      );
      await expect(
        core.readNamespacedPod({ name: 'breakout', namespace: 'tenant-acme' }),
      ).rejects.toMatchObject({ code: 404 });
    });

    it('refuses a namespace the caller does not own before creating a run', async () => {
      const before = (await store.listRuns({}, { limit: 100 })).items.length;
      for (const namespace of ['tenant-rival', 'kube-system', 'default']) {
        const err = await engine
          .submit(
            {
              kind: 'manifests',
              cluster: 'dev',
              namespace,
              manifests: manifestAttacks['kube-system'],
            },
            'user:default/alice',
            alice,
          )
          .catch(e => e);
        expect(err).toBeInstanceOf(NotAllowedError);
      }
      const err = await engine
        .submit(
          {
            kind: 'chart',
            cluster: 'dev',
            namespace: 'tenant-rival',
            release: { name: 'x', chart: 'escape' },
          },
          'user:default/alice',
          alice,
        )
        .catch(e => e);
      expect(err.message).toBe(
        'Namespace tenant-rival on cluster dev belongs to tenant rival, owned by group:default/rival-team; runs there need membership of that owner',
      );
      expect((await store.listRuns({}, { limit: 100 })).items.length).toBe(
        before,
      );
    });

    it.each(Object.keys(manifestAttacks))(
      'refuses the %s attack before apply, as manifests and as a chart, with rule run-scope',
      async attack => {
        const before = await clusterState();
        const asManifests = await finish(
          engine,
          {
            kind: 'manifests',
            cluster: 'dev',
            namespace: 'tenant-acme',
            manifests: manifestAttacks[attack],
          },
          alice,
        );
        const asChart = await finish(
          engine,
          {
            kind: 'chart',
            cluster: 'dev',
            namespace: 'tenant-acme',
            release: {
              name: `escape-${attack}`,
              chart: 'escape',
              values: { attack },
            },
          },
          alice,
        );
        for (const run of [asManifests, asChart]) {
          expect(run.status).toBe('failed');
          expect(run.failureReason).toContain(
            `[run-scope] ${attackObject[attack]}:`,
          );
          expect(run.policyReport?.blocking).toBe(true);
          const refusal = run.policyReport!.results.find(
            r => r.ruleId === 'run-scope' && !r.passed,
          );
          expect(`${refusal?.object.kind}/${refusal?.object.name}`).toBe(
            attackObject[attack],
          );
          const events = await store.getEvents(run.id);
          expect(
            events.some(
              e =>
                e.level === 'error' &&
                e.message.includes(`[run-scope] ${attackObject[attack]}`),
            ),
          ).toBe(true);
          expect(
            events.some(
              e =>
                e.step?.startsWith('apply:') ||
                e.message.includes('helm upgrade'),
            ),
          ).toBe(false);
        }
        expect(await clusterState()).toEqual(before);
        expect(before).toMatchObject({
          escapeBinding: false,
          kubeSystem: false,
          rival: [['rival-settings', { color: 'blue' }]],
        });
      },
    );

    it.each(Object.keys(manifestAttacks))(
      'with the scope check off, the API server refuses the %s attack through impersonation',
      async attack => {
        const before = await clusterState();
        const asManifests = await finish(
          unchecked,
          {
            kind: 'manifests',
            cluster: 'dev',
            namespace: 'tenant-acme',
            manifests: manifestAttacks[attack],
          },
          alice,
        );
        const asChart = await finish(
          unchecked,
          {
            kind: 'chart',
            cluster: 'dev',
            namespace: 'tenant-acme',
            release: {
              name: `raw-${attack}`,
              chart: 'escape',
              values: { attack },
            },
          },
          alice,
        );
        for (const run of [asManifests, asChart]) {
          expect(run.status).toBe('failed');
          expect(
            run.policyReport?.results.some(r => r.ruleId === 'run-scope'),
          ).toBeFalsy();
          // A 403 from the API server to the impersonated deployer, for manifests and charts alike
          // (the chart's Namespace is a hook, which helm deletes and re-creates without an ownership check).
          const how = run === asChart ? 'chart' : 'manifests';
          expect(run.failureReason).toContain(
            `is forbidden: User "system:serviceaccount:kubechart-deployers:kubechart-deployer-tenant-acme" cannot ${apiRefusal[attack][how]}`,
          );
        }
        expect(await clusterState()).toEqual(before);
      },
    );

    it('refuses at install what only the cluster makes a chart render (post-render check), and applies nothing', async () => {
      const before = await clusterState();
      const run = await finish(
        engine,
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-acme',
          release: {
            name: 'sneaky',
            chart: 'escape',
            values: { attack: 'lookup' },
          },
        },
        alice,
      );
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'refused what helm was about to apply',
      );
      expect(run.failureReason).toContain('[run-scope] ConfigMap/escape');
      expect(await clusterState()).toEqual(before);
    });

    it('refuses a forced apply over an object another manager owns in the same namespace (rule object-ownership)', async () => {
      const installed = await finish(
        engine4,
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-acme',
          release: { name: 'own', chart: 'escape' },
        },
        alice,
      );
      expect({
        status: installed.status,
        reason: installed.failureReason,
      }).toEqual({ status: 'succeeded', reason: undefined });
      const run = await finish(
        engine4,
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace: 'tenant-acme',
          manifests:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: harmless }\ndata: { planted: "yes" }',
        },
        alice,
      );
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        '[object-ownership] ConfigMap/harmless: ConfigMap/harmless already exists and it is managed by Helm release own',
      );
      const cm = await core.readNamespacedConfigMap({
        name: 'harmless',
        namespace: 'tenant-acme',
      });
      expect(cm.data).toEqual({ planted: 'no' });
    });

    it("keeps the tenant's own network policy: a manifests run may not take it over, and a tenant run restores a changed selector", async () => {
      const netpol = () =>
        created.clusters
          .kubeConfig('dev')
          .makeApiClient(NetworkingV1Api)
          .readNamespacedNetworkPolicy({
            name: 'kubechart-default-deny',
            namespace: 'tenant-acme',
          });
      const opened = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name: 'kubechart-default-deny',
          namespace: 'tenant-acme',
        },
        spec: {
          podSelector: { matchLabels: { nothing: 'selected' } },
          policyTypes: ['Ingress'],
        },
      };
      const takeover = await finish(
        engine,
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace: 'tenant-acme',
          manifests: JSON.stringify(opened),
        },
        alice,
      );
      expect(takeover.status).toBe('failed');
      expect(takeover.failureReason).toContain(
        '[run-scope] NetworkPolicy/kubechart-default-deny: NetworkPolicy/kubechart-default-deny is a tenant resource KubeChart keeps in namespace tenant-acme; only tenant runs change it',
      );
      expect((await netpol()).spec?.podSelector).toEqual({});
      // Changed behind KubeChart's back (here with the engine's own identity): the next tenant run puts it back.
      await created.engine.client('dev').ensure(opened as any);
      expect((await netpol()).spec?.podSelector).toEqual({
        matchLabels: { nothing: 'selected' },
      });
      const again = await finish(engine, tenant('acme', 'acme-team'), alice);
      expect(again.status).toBe('succeeded');
      expect((await store.getEvents(again.id)).map(e => e.message)).toContain(
        'NetworkPolicy kubechart-default-deny (same namespace and ingress-nginx allowed): updated',
      );
      expect((await netpol()).spec?.podSelector).toEqual({});
    });

    it('lets only the owner (or a tenants admin) update a tenant, reports the changes, and prunes dropped releases on request', async () => {
      const web = { name: 'web', chart: 'webapp', values: { replicas: 1 } };
      const api = { name: 'api', chart: 'escape' };
      const worker = {
        name: 'worker',
        chart: 'webapp',
        values: { replicas: 1 },
      };
      const first = await finish(
        engine4,
        tenant('owned', 'acme-team', {
          displayName: 'Owned',
          releases: [web, api],
        }),
        alice,
      );
      expect({ status: first.status, reason: first.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });

      const runsBefore = (await store.listRuns({}, { limit: 200 })).items
        .length;
      const takeover = await engine4
        .submit(
          tenant('owned', 'rival-team', { releases: [web] }),
          'user:default/rachel',
          rachel,
        )
        .catch(e => e);
      expect(takeover).toBeInstanceOf(ConflictError);
      expect(takeover.message).toBe(
        'tenant owned exists and is owned by group:default/acme-team',
      );
      const del = await engine4
        .submit(
          { kind: 'tenant-delete', cluster: 'dev', tenant: 'owned' },
          'user:default/rachel',
          rachel,
        )
        .catch(e => e);
      expect(del).toBeInstanceOf(ConflictError);
      expect((await store.listRuns({}, { limit: 200 })).items.length).toBe(
        runsBefore,
      );
      expect((await store.getTenants('owned'))[0].owner).toBe(
        'group:default/acme-team',
      );

      const update = await finish(
        engine4,
        tenant('owned', 'acme-team', {
          displayName: 'Owned twice',
          quota: { hard: { pods: '20' } },
          releases: [web, worker],
        }),
        alice,
      );
      expect({ status: update.status, reason: update.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      const log = (await store.getEvents(update.id)).map(e => e.message);
      expect(log).toContain(
        'updating tenant owned: display name: Owned → Owned twice; quota: hard.pods default → 20; releases added: worker; releases removed from the spec: api',
      );
      expect(log).toContain(
        'release api is no longer in the spec and was kept; submit with pruneReleases: true to uninstall it',
      );
      const helmReleases = async () =>
        [
          ...new Set(
            (
              await core.listNamespacedSecret({
                namespace: 'tenant-owned',
                labelSelector: 'owner=helm',
              })
            ).items.map(s => s.metadata?.labels?.name),
          ),
        ].sort();
      expect(await helmReleases()).toEqual(['api', 'web', 'worker']);

      const admin = { ...rachel, isTenantAdmin: true };
      const pruned = await finish(
        engine4,
        tenant('owned', 'rival-team', {
          displayName: 'Owned twice',
          quota: { hard: { pods: '20' } },
          releases: [web, worker],
          pruneReleases: true,
        }),
        admin,
      );
      expect({ status: pruned.status, reason: pruned.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      const prunedLog = await store.getEvents(pruned.id);
      expect(prunedLog.map(e => e.message)).toContain(
        'updating tenant owned: owner: group:default/acme-team → group:default/rival-team; releases removed from the spec: api',
      );
      expect(
        prunedLog.find(
          e => e.step === 'uninstall:api' && e.stepStatus === 'succeeded',
        )?.message,
      ).toBe('release api: uninstalled (pruneReleases)');
      expect(await helmReleases()).toEqual(['web', 'worker']);
      expect((await store.getTenants('owned'))[0]).toMatchObject({
        owner: 'group:default/rival-team',
        releases: ['web', 'worker'],
      });
    });
  },
);
