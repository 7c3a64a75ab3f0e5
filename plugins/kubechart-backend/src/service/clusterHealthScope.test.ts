import {
  BackstageCredentials,
  coreServices,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  ActionsService,
  actionsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { KubeSim } from '@internal/kube-sim';
import type { ClusterHealth } from '@kubechart/plugin-kubechart-common';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';
import { userInfoWithGroups } from '../__testUtils__/tenantCallers';

jest.setTimeout(180_000);

const ADMIN = 'user:default/admin';
const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const MALLORY = 'user:default/mallory';
const CAROL = 'user:default/carol';
const OPS = 'group:default/ops-team';
/** What each user owns, as a catalog IS_ENTITY_OWNER condition would decide it; absent users are denied `tenants.read`. */
const OWNS: Record<string, string[]> = {
  [ALICE]: ['component:default/shop'],
  [BOB]: [],
};
const ADMIN_ONLY = new Set([
  'kubechart.tenants.admin',
  'kubechart.runs.cluster-scoped',
]);

/**
 * A permission service deciding like the example policy: `admin` ALLOW; for `kubechart.tenants.read`
 * a catalog condition (owners only) for alice and bob, DENY for mallory and carol; everyone may read
 * clusters.
 */
const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const decide = (r: any, c?: BackstageCredentials, conditional = false) => {
      const u = (c?.principal as any)?.userEntityRef as string | undefined;
      if (u === ADMIN) return { result: AuthorizeResult.ALLOW };
      const name = r.permission?.name;
      if (name === 'kubechart.tenants.read') {
        if (!u || !OWNS[u]) return { result: AuthorizeResult.DENY };
        if (r.resourceRef)
          return {
            result: OWNS[u].includes(r.resourceRef)
              ? AuthorizeResult.ALLOW
              : AuthorizeResult.DENY,
          };
        if (!conditional) return { result: AuthorizeResult.DENY };
        return {
          result: AuthorizeResult.CONDITIONAL,
          pluginId: 'catalog',
          resourceType: 'catalog-entity',
          conditions: {
            rule: 'IS_ENTITY_OWNER',
            resourceType: 'catalog-entity',
            params: { claims: [u] },
          },
        };
      }
      return {
        result: ADMIN_ONLY.has(name)
          ? AuthorizeResult.DENY
          : AuthorizeResult.ALLOW,
      };
    };
    return {
      authorize: async (requests: any[], o?: any) =>
        requests.map(r => decide(r, o?.credentials)),
      authorizeConditional: async (requests: any[], o?: any) =>
        requests.map(r => decide(r, o?.credentials, true)),
    } as any;
  },
});

/** A Deployment whose only pod crash-loops. */
const crashing = (name: string) => ({
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [{ name: 'c', image: 'registry.example.com/x:crashloop' }],
      },
    },
  },
});

/** A warning event dated tomorrow, so that it stays among the newest the answer names. */
const warning = (
  name: string,
  involvedObject: Record<string, string>,
  message: string,
) => {
  const at = new Date(Date.now() + 86_400_000);
  return {
    metadata: { name },
    involvedObject,
    type: 'Warning',
    reason: 'Probe',
    message,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
};

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * Every user who may read clusters asks for a cluster's health (the home page widget, the MCP
 * tool): it counts every workload and alert of the cluster, and names only those in namespaces
 * the caller may read: the namespaces of the tenants it may read, and those assigned to it.
 */
describe.each(databases.eachSupportedId())(
  'cluster health for callers who may read some tenants, on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let actions: ActionsService;
    let stop: () => Promise<void>;

    const get = (who: string) =>
      request(server)
        .get('/api/kubechart/clusters/dev/health')
        .set('Authorization', mockCredentials.user.header(who));
    /** The namespaces an answer names in its workloads and alerts. */
    const named = (h: ClusterHealth) =>
      new Set([
        ...h.workloads.items.map(w => w.namespace),
        ...h.alerts.map(a => a.namespace).filter(Boolean),
      ]);
    let settled: ClusterHealth;
    /**
     * Workloads behind: a crash-looping one is `failed`, or `degraded` while its container has just
     * restarted.
     */
    const behind = (w: { degraded: number; failed: number }) =>
      w.degraded + w.failed;

    beforeAll(async () => {
      sim = await startSim({ nodes: 1 });
      const config: any = testConfig(sim, {
        clusters: { dev: { namespaces: { 'ops-ns': { owner: OPS } } } },
      });
      config.backend = { actions: { pluginSources: ['kubechart'] } };
      const knex = await databases.init(databaseId);
      const probe = createBackendPlugin({
        pluginId: 'probe',
        register(env) {
          env.registerInit({
            deps: { actionsService: actionsServiceRef },
            async init({ actionsService }) {
              actions = actionsService;
            },
          });
        },
      });
      const backend = await startKubechartBackend({
        config,
        knex,
        features: [
          permissions,
          userInfoWithGroups({ [CAROL]: [OPS] }),
          probe,
          actionsRegistryServiceFactory,
          actionsServiceFactory,
        ],
      });
      server = backend.server;
      stop = () => backend.stop();

      // Two tenants of two teams, and a namespace the platform assigned to ops-team.
      const store = new DatabaseRunStore(knex);
      for (const code of ['shop', 'rival'])
        await store.upsertTenant({
          cluster: 'dev',
          code,
          namespace: `tenant-${code}`,
          entityRef: `component:default/${code}`,
          owner: `group:default/${code}-team`,
          status: 'active',
          releases: [],
        });
      const kc = simKubeConfig(sim);
      const core = kc.makeApiClient(CoreV1Api);
      const apps = kc.makeApiClient(AppsV1Api);
      for (const [namespace, name] of [
        ['tenant-shop', 'shop-web'],
        ['tenant-rival', 'rival-web'],
        ['ops-ns', 'ops-web'],
      ]) {
        await core.createNamespace({ body: { metadata: { name: namespace } } });
        await apps.createNamespacedDeployment({
          namespace,
          body: crashing(name),
        });
      }
      await core.createNamespacedEvent({
        namespace: 'tenant-shop',
        body: warning(
          'shop-probe',
          { kind: 'Pod', namespace: 'tenant-shop', name: 'shop-db-0' },
          'shop-db-0 is out of disk',
        ),
      });
      await core.createNamespacedEvent({
        namespace: 'tenant-rival',
        body: warning(
          'rival-probe',
          { kind: 'Pod', namespace: 'tenant-rival', name: 'rival-db-0' },
          'rival-db-0 cannot reach payments.rival.internal with its password file',
        ),
      });
      // Events about cluster-scoped objects carry no namespace: a Node's names no tenant, a
      // Namespace's does.
      const [node] = (await core.listNode()).items;
      await core.createNamespacedEvent({
        namespace: 'default',
        body: warning(
          'node-probe',
          { kind: 'Node', name: node.metadata!.name! },
          'disk pressure',
        ),
      });
      await core.createNamespacedEvent({
        namespace: 'default',
        body: warning(
          'namespace-probe',
          { kind: 'Namespace', name: 'tenant-rival' },
          'tenant-rival is stuck terminating',
        ),
      });

      // Until the cache names the three workloads and the four warnings.
      for (const start = Date.now(); Date.now() - start < 60_000; ) {
        settled = (await get(ADMIN)).body;
        const objects = settled.alerts.map(a => a.object);
        if (
          settled.workloads?.items.length === 3 &&
          [
            'Pod/shop-db-0',
            'Pod/rival-db-0',
            'Namespace/tenant-rival',
            'Node/',
          ].every(o => objects.some(x => x.startsWith(o)))
        )
          break;
        await new Promise(r => setTimeout(r, 200));
      }
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    it('names every workload and alert to a caller who may read every tenant', async () => {
      const h: ClusterHealth = (await get(ADMIN)).body;
      expect(behind(h.workloads)).toBe(3);
      expect(
        h.workloads.items.map(w => `${w.namespace}/${w.name}`).sort(),
      ).toEqual([
        'ops-ns/ops-web',
        'tenant-rival/rival-web',
        'tenant-shop/shop-web',
      ]);
      expect(h.alerts.map(a => a.message)).toEqual(
        expect.arrayContaining([
          'shop-db-0 is out of disk',
          'rival-db-0 cannot reach payments.rival.internal with its password file',
          'tenant-rival is stuck terminating',
          'disk pressure',
        ]),
      );
      expect(h.workloads.hidden ?? 0).toBe(0);
      expect(h.alertsHidden ?? 0).toBe(0);
    });

    it.each([
      ['who may read no tenant', MALLORY],
      ['who owns no tenant', BOB],
    ])(
      'counts every workload for a caller %s, and names none of another team',
      async (_what, who) => {
        const res = await get(who);
        expect(res.status).toBe(200);
        const h: ClusterHealth = res.body;
        // The counts are the cluster's.
        expect(h.nodes).toEqual(settled.nodes);
        expect(h.workloads).toMatchObject({
          healthy: settled.workloads.healthy,
          items: [],
          hidden: 3,
        });
        expect(behind(h.workloads)).toBe(3);
        // What it names: nodes only, and it says how many it left out; the total counts them all.
        expect(named(h)).toEqual(new Set());
        expect(h.alerts.length).toBeGreaterThan(0);
        expect(h.alerts.every(a => a.object.startsWith('Node/'))).toBe(true);
        expect(h.alerts.map(a => a.message)).toContain('disk pressure');
        expect(h.alertsHidden).toBeGreaterThanOrEqual(3);
        expect(h.alerts.length + h.alertsHidden!).toBeLessThanOrEqual(50);
        expect(h.alertsTotal).toBeGreaterThanOrEqual(
          h.alerts.length + h.alertsHidden!,
        );
        const text = JSON.stringify(h);
        for (const secret of ['tenant-', 'rival', 'shop', 'ops-'])
          expect(text).not.toContain(secret);
      },
    );

    it("names its own tenant's workloads and alerts to the tenant's owner, and no other team's", async () => {
      const h: ClusterHealth = (await get(ALICE)).body;
      expect(h.workloads).toMatchObject({
        items: [
          expect.objectContaining({
            namespace: 'tenant-shop',
            name: 'shop-web',
          }),
        ],
        hidden: 2,
      });
      expect(behind(h.workloads)).toBe(3);
      expect(h.alerts).toContainEqual(
        expect.objectContaining({
          namespace: 'tenant-shop',
          object: 'Pod/shop-db-0',
          message: 'shop-db-0 is out of disk',
        }),
      );
      expect(named(h)).toEqual(new Set(['tenant-shop']));
      expect(JSON.stringify(h)).not.toContain('rival');
      expect(h.alertsHidden).toBeGreaterThan(0);
    });

    it('names the workloads of a namespace the platform assigned to a group of the caller', async () => {
      const h: ClusterHealth = (await get(CAROL)).body;
      expect(h.workloads.items.map(w => `${w.namespace}/${w.name}`)).toEqual([
        'ops-ns/ops-web',
      ]);
      expect(h.workloads.hidden).toBe(2);
      expect(named(h)).toEqual(new Set(['ops-ns']));
    });

    it('gives the MCP tool the same alerts, and says how many it left out', async () => {
      const { output } = (await actions.invoke({
        id: 'kubechart:get-cluster-health',
        input: { cluster: 'dev' },
        credentials: mockCredentials.user(MALLORY),
      })) as any;
      expect(output.health.workloads).toEqual({
        healthy: settled.workloads.healthy,
        degraded: expect.any(Number),
        failed: expect.any(Number),
      });
      expect(behind(output.health.workloads)).toBe(3);
      expect(output.health.alertsHidden).toBeGreaterThanOrEqual(3);
      expect(
        output.health.alerts.every((a: any) => a.object.startsWith('Node/')),
      ).toBe(true);
      expect(JSON.stringify(output)).not.toContain('rival');
    });
  },
);
