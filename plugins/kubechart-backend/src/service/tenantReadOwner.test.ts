import {
  BackstageCredentials,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(180_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ADMIN = 'user:default/admin';
const ACME = 'group:default/acme-team';
const PAYMENTS = 'group:default/payments';
const OWNERSHIP: Record<string, string[]> = {
  [ALICE]: [ALICE, ACME],
  [BOB]: [BOB, PAYMENTS],
  [ADMIN]: [ADMIN],
};
const STOREFRONT = 'component:default/storefront';

const component = (name: string, owner: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default' },
  spec: { owner, type: 'service', lifecycle: 'production' },
});
const key = (ref: string) => stringifyEntityRef(parseEntityRef(ref));
const catalog = new Map<string, Entity>();

/** Owners only (IS_ENTITY_OWNER on the entity the ref names now), as entityHistory.test.ts decides. */
const ownersOnly = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const user = (c?: BackstageCredentials) =>
      (c?.principal as any)?.userEntityRef as string | undefined;
    // As Backstage's ServerPermissionClient: a service without access restrictions is allowed all.
    const isService = (o?: any) =>
      o?.credentials?.principal?.type === 'service';
    return {
      async authorizeConditional(requests: any[], options?: any) {
        const u = user(options?.credentials);
        if (isService(options))
          return requests.map(() => ({ result: AuthorizeResult.ALLOW }));
        return requests.map(() =>
          u === ADMIN
            ? { result: AuthorizeResult.ALLOW }
            : {
                result: AuthorizeResult.CONDITIONAL,
                pluginId: 'catalog',
                resourceType: 'catalog-entity',
                conditions: {
                  rule: 'IS_ENTITY_OWNER',
                  resourceType: 'catalog-entity',
                  params: { claims: OWNERSHIP[u ?? ''] ?? [] },
                },
              },
        );
      },
      async authorize(requests: any[], options?: any) {
        const u = user(options?.credentials);
        if (isService(options))
          return requests.map(() => ({ result: AuthorizeResult.ALLOW }));
        return requests.map(r => {
          if (
            r.permission?.name === 'kubechart.tenants.admin' ||
            r.permission?.name === 'kubechart.runs.cluster-scoped'
          )
            return {
              result:
                u === ADMIN ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
            };
          if (!r.resourceRef || u === ADMIN)
            return { result: AuthorizeResult.ALLOW };
          const owner = catalog.get(key(r.resourceRef))?.spec?.owner;
          return {
            result:
              typeof owner === 'string' &&
              (OWNERSHIP[u ?? ''] ?? []).includes(owner)
                ? AuthorizeResult.ALLOW
                : AuthorizeResult.DENY,
          };
        });
      },
    } as any;
  },
});

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * A tenant is read by the owner it was made for, as a run is (README "A history stays with the
 * owner it was made for"), not by whoever registers its entity ref again; and a service reads the
 * tenants' health detail (workload failures, warning messages, quota, URLs) only when its token
 * grants `kubechart.tenants.read`, as it reads runs.
 */
describe.each(databases.eachSupportedId())('tenant reads on %p', databaseId => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const get = (who: string, path: string) =>
    request(server)
      .get(`/api/kubechart${path}`)
      .set('Authorization', mockCredentials.user.header(who));

  beforeAll(async () => {
    catalog.set(key(STOREFRONT), component('storefront', ACME));
    sim = await startSim({ nodes: 1 });
    const knex = await databases.init(databaseId);
    const backend = await startKubechartBackend({
      config: testConfig(sim),
      knex,
      features: [
        ownersOnly,
        createServiceFactory({
          service: coreServices.userInfo,
          deps: {},
          factory: () => ({
            async getUserInfo(credentials: BackstageCredentials) {
              const ref = (credentials.principal as any).userEntityRef;
              return {
                userEntityRef: ref,
                ownershipEntityRefs: OWNERSHIP[ref] ?? [ref],
              };
            },
          }),
        }),
        createServiceFactory({
          service: catalogServiceRef,
          deps: {},
          factory: () =>
            ({
              getEntityByRef: async (ref: string) => catalog.get(key(ref)),
              getEntitiesByRefs: async (asked: { entityRefs: string[] }) => ({
                items: asked.entityRefs.map(r => catalog.get(key(r))),
              }),
            } as any),
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

  it("keeps acme's tenant, its health and its namespace's workloads from whoever registers its entity ref again", async () => {
    // Alice (acme-team) provisions tenant shop for her team's component storefront.
    const created = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header(ALICE))
      .send({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'shop',
        entityRef: STOREFRONT,
        owner: ACME,
        releases: [],
      });
    expect(created.status).toBe(202);
    for (let i = 0; i < 300; i++) {
      const r = await get(ALICE, `/runs/${created.body.id}`);
      if (['succeeded', 'failed'].includes(r.body.status)) break;
      await new Promise(res => setTimeout(res, 200));
    }
    expect((await get(ALICE, `/runs/${created.body.id}`)).body.status).toBe(
      'succeeded',
    );
    // Acme's workload in its tenant namespace, crash-looping, and a warning about its database.
    const kc = simKubeConfig(sim);
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'tenant-shop',
      body: {
        metadata: { name: 'shop-ledger' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'shop-ledger' } },
          template: {
            metadata: { labels: { app: 'shop-ledger' } },
            spec: {
              containers: [
                { name: 'c', image: 'registry.example.com/x:crashloop' },
              ],
            },
          },
        },
      },
    });
    const at = new Date(Date.now() + 86_400_000);
    await kc.makeApiClient(CoreV1Api).createNamespacedEvent({
      namespace: 'tenant-shop',
      body: {
        metadata: { name: 'shop-probe' },
        involvedObject: {
          kind: 'Pod',
          namespace: 'tenant-shop',
          name: 'shop-ledger-db-0',
        },
        type: 'Warning',
        reason: 'Probe',
        message: 'shop-ledger-db-0 cannot reach ledger.acme.internal',
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      } as any,
    });
    for (const start = Date.now(); Date.now() - start < 60_000; ) {
      const h = (await get(ADMIN, '/clusters/dev/health')).body;
      if (
        h.workloads?.items?.some((w: any) => w.name === 'shop-ledger') &&
        h.alerts?.some((a: any) => a.object === 'Pod/shop-ledger-db-0')
      )
        break;
      await new Promise(r => setTimeout(r, 200));
    }
    // Before: bob (payments) sees nothing of it.
    expect((await get(BOB, '/tenants/shop')).status).toBe(404);

    // storefront leaves the catalog, and bob registers a component of the same ref for his team
    // (the threat the runs' entityOwner guards against: README "A history stays with the owner").
    catalog.delete(key(STOREFRONT));
    catalog.set(key(STOREFRONT), component('storefront', PAYMENTS));

    // The tenant is still acme-team's: bob may not deploy there ...
    const tenantNow = (await get(ADMIN, '/tenants/shop')).body;
    expect(tenantNow.owner).toBe(ACME);
    // ... nor read alice's run of it (runs compare the owner the entity had) ...
    expect((await get(BOB, `/runs/${created.body.id}`)).status).toBe(404);

    // ... and so should not read acme's tenant, its health or its namespace's workloads.
    const listed = await get(BOB, '/tenants');
    const tenant = await get(BOB, '/tenants/shop');
    const health = await get(BOB, '/tenants/shop/health?cluster=dev');
    const cluster = (await get(BOB, '/clusters/dev/health')).body;
    const summary = (await get(BOB, '/metrics/summary')).body;
    const leaked = {
      listed: (listed.body.items as any[]).map(t => `${t.code}:${t.owner}`),
      tenant: tenant.status,
      tenantOwner: tenant.body.owner,
      health: health.status,
      quota: health.body.quota,
      workloads: cluster.workloads.items.map(
        (w: any) => `${w.namespace}/${w.name}: ${w.reason}`,
      ),
      alerts: cluster.alerts
        .filter((a: any) => a.namespace === 'tenant-shop')
        .map((a: any) => a.message),
      tenantsTotal: summary.tenants.total,
    };
    expect(leaked).toEqual({
      listed: [],
      tenant: 404,
      tenantOwner: undefined,
      health: 404,
      quota: undefined,
      workloads: [],
      alerts: [],
      tenantsTotal: 0,
    });
  });

  it("keeps every tenant's workload failures and warning messages from an arbitrary plugin's own token", async () => {
    const token = `Bearer mock-service-token:${JSON.stringify({
      sub: 'plugin:some-third-party',
    })}`;
    const asPlugin = (path: string) =>
      request(server).get(`/api/kubechart${path}`).set('Authorization', token);
    // Runs are kept from it (README Identity: a service reads runs only when granted) ...
    const runs = await asPlugin('/runs');
    expect(runs.status).toBe(200);
    expect(runs.body.items).toEqual([]);
    // ... but not what the tenant's workloads fail with, nor its warning events, quota and URLs.
    const cluster = (await asPlugin('/clusters/dev/health')).body;
    const health = await asPlugin('/tenants/shop/health?cluster=dev');
    const leaked = {
      workloads: cluster.workloads.items.map(
        (w: any) => `${w.namespace}/${w.name}`,
      ),
      alerts: cluster.alerts
        .filter((a: any) => a.namespace === 'tenant-shop')
        .map((a: any) => a.message),
      tenantHealth: health.status,
      quota: health.body.quota,
    };
    expect(leaked).toEqual({
      workloads: [],
      alerts: [],
      tenantHealth: 404,
      quota: undefined,
    });
  });
});
