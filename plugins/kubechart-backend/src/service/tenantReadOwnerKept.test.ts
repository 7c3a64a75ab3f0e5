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
import { Knex } from 'knex';
import request from 'supertest';
import { startKubechartBackend } from '../__testUtils__/backend';
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
 * owner it was made for"), not by whoever registers its entity ref again: also after an update
 * that leaves its entityRef out, and (fail closed) when its last run does not tell that owner.
 */
describe.each(databases.eachSupportedId())(
  'tenant reads after an update without entityRef on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let knex: Knex;
    const get = (who: string, path: string) =>
      request(server)
        .get(`/api/kubechart${path}`)
        .set('Authorization', mockCredentials.user.header(who));

    beforeAll(async () => {
      catalog.set(key(STOREFRONT), component('storefront', ACME));
      sim = await startSim({ nodes: 1 });
      knex = await databases.init(databaseId);
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

    const post = (who: string, body: object) =>
      request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', mockCredentials.user.header(who))
        .send(body);
    const waitFor = async (id: string) => {
      for (let i = 0; i < 300; i++) {
        const r = await get(ALICE, `/runs/${id}`);
        if (['succeeded', 'failed'].includes(r.body.status)) return r.body;
        await new Promise(res => setTimeout(res, 200));
      }
      return (await get(ALICE, `/runs/${id}`)).body;
    };

    /** Alice's tenant run, finished. */
    const tenantRun = async (body: object) => {
      const res = await post(ALICE, {
        cluster: 'dev',
        owner: ACME,
        releases: [],
        ...body,
      });
      expect(res.status).toBe(202);
      const run = await waitFor(res.body.id);
      expect(run.status).toBe('succeeded');
      return run;
    };
    /** What `who` reads of `tenant`: the tenant, its health and quota, and its line in the list. */
    const readsOf = async (who: string, tenant: string) => {
      const one = await get(who, `/tenants/${tenant}`);
      const health = await get(who, `/tenants/${tenant}/health?cluster=dev`);
      const listed = await get(who, '/tenants');
      return {
        tenant: one.status,
        health: health.status,
        quota: health.body.quota,
        listed: (listed.body.items as any[])
          .map(t => t.code)
          .filter(c => c === tenant),
      };
    };
    const hidden = { tenant: 404, health: 404, quota: undefined, listed: [] };

    it('keeps a tenant updated without repeating its entityRef from whoever registers that ref again', async () => {
      const create = await tenantRun({
        kind: 'tenant',
        tenant: 'shop',
        entityRef: STOREFRONT,
      });
      // Alice changes the tenant's display name; the request leaves entityRef out (kept as it is).
      await tenantRun({
        kind: 'tenant',
        tenant: 'shop',
        displayName: 'Shop',
      });
      const before = (await get(ADMIN, '/tenants/shop')).body;
      expect({ entityRef: before.entityRef, owner: before.owner }).toEqual({
        entityRef: STOREFRONT,
        owner: ACME,
      });
      expect((await get(ALICE, '/tenants/shop')).status).toBe(200);
      expect((await get(BOB, '/tenants/shop')).status).toBe(404);

      // storefront leaves the catalog; bob registers a component of the same ref for payments.
      catalog.set(key(STOREFRONT), component('storefront', PAYMENTS));

      // Alice's runs stay hers (runs compare the owner the entity had) ...
      expect((await get(BOB, `/runs/${create.id}`)).status).toBe(404);
      // ... and so do acme's tenant and its health.
      expect(await readsOf(BOB, 'shop')).toEqual(hidden);
    });

    it('keeps a tenant whose last run recorded no owner with its own owner (fail closed)', async () => {
      const cafe = 'component:default/cafe';
      catalog.set(key(cafe), component('cafe', ACME));
      const run = await tenantRun({
        kind: 'tenant',
        tenant: 'cafe',
        entityRef: cafe,
      });
      // As a run recorded before owners were kept.
      await knex('kubechart_runs')
        .where({ id: run.id })
        .update({ entity_owner: null });
      // Its owner still reads it while the entity is the tenant owner's ...
      expect((await readsOf(ALICE, 'cafe')).tenant).toBe(200);
      // ... and whoever registers the ref again does not.
      catalog.set(key(cafe), component('cafe', PAYMENTS));
      expect(await readsOf(BOB, 'cafe')).toEqual(hidden);
    });

    it("does not take an owner its last run recorded for another entity for the tenant's", async () => {
      const deli = 'component:default/deli';
      catalog.set(key(deli), component('deli', ACME));
      const run = await tenantRun({
        kind: 'tenant',
        tenant: 'deli',
        entityRef: deli,
      });
      // The recorded owner is for another entity than the one the tenant has.
      await knex('kubechart_runs').where({ id: run.id }).update({
        entity_ref: 'component:default/other',
        entity_owner: PAYMENTS,
      });
      catalog.set(key(deli), component('deli', PAYMENTS));
      expect(await readsOf(BOB, 'deli')).toEqual(hidden);
    });
  },
);
