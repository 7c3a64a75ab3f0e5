import {
  BackstageCredentials,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ADMIN = 'user:default/admin';
const ACME = 'group:default/acme-team';
const PAYMENTS = 'group:default/payments';
/** What each user acts for, as the sign-in token carries it. */
const OWNERSHIP: Record<string, string[]> = {
  [ALICE]: [ALICE, ACME],
  [BOB]: [BOB, PAYMENTS],
  [ADMIN]: [ADMIN],
};

/** An entity of `owner` that may deploy to namespace `ns` (assigned to that owner below). */
const entity = (kind: string, name: string, owner: string, ns: string) =>
  ({
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: {
      name,
      namespace: 'default',
      annotations: { 'kubechart.io/namespace': ns },
    },
    spec: { owner, type: 'service', lifecycle: 'production' },
  } as Entity);

/** The catalog's key of an entity ref: refs are case-insensitive, as the catalog compares them. */
const key = (ref: string) => stringifyEntityRef(parseEntityRef(ref));
/** The catalog, which a test may change (an entity leaving it); filled again for each database. */
const catalog = new Map<string, Entity>();
const fillCatalog = () => {
  catalog.clear();
  for (const e of [
    entity('Component', 'web', ACME, 'web-ns'),
    entity('System', 'shop', ACME, 'shop-ns'),
    entity('Component', 'pay', PAYMENTS, 'pay-ns'),
  ])
    catalog.set(stringifyEntityRef(e), e);
};

/**
 * Owners only, decided as Backstage's catalog decides an `IS_ENTITY_OWNER` condition: on the entity
 * the ref names, whatever its spelling (an entity not in the catalog is nobody's). The admin reads
 * everything and holds `kubechart.tenants.admin`; everything else is allowed.
 */
const ownersOnly = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const user = (c?: BackstageCredentials) =>
      (c?.principal as any)?.userEntityRef as string | undefined;
    return {
      async authorizeConditional(
        requests: any[],
        options?: { credentials: BackstageCredentials },
      ) {
        const u = user(options?.credentials);
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
      async authorize(
        requests: any[],
        options?: { credentials: BackstageCredentials },
      ) {
        const u = user(options?.credentials);
        return requests.map(r => {
          if (r.permission?.name === 'kubechart.tenants.admin')
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

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  "an entity's deployment history, on %p",
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let knex: Knex;
    const as = (who: string) => mockCredentials.user.header(who);
    const get = (who: string, path: string) =>
      request(server)
        .get(`/api/kubechart${path}`)
        .set('Authorization', as(who));
    const post = (who: string, path: string, body: object) =>
      request(server)
        .post(`/api/kubechart${path}`)
        .set('Authorization', as(who))
        .send(body);
    /** Records a finished run of `who` for `entityRef` in `namespace`; its id. */
    const recordFinished = async (
      who: string,
      entityRef: string,
      namespace: string,
    ) => {
      const recorded = await post(who, '/runs/record', {
        kind: 'custom',
        action: 'acme:deploy',
        target: { cluster: 'dev', namespace },
        entityRef,
      });
      expect(recorded.status).toBe(201);
      const finished = await post(who, `/runs/${recorded.body.id}/finish`, {
        status: 'succeeded',
      });
      expect(finished.status).toBe(204);
      return recorded.body.id as string;
    };
    /** The runs `who` reads in the history of `entityRef`: id and entityRef of each. */
    const historyOf = async (who: string, entityRef: string) => {
      const r = await get(
        who,
        `/runs?entityRef=${encodeURIComponent(entityRef)}&limit=200`,
      );
      expect(r.status).toBe(200);
      return (r.body.items as any[]).map(i => [i.id, i.entityRef]);
    };
    /** How `who` is refused the history of `entityRef`, the entity written as `<entity>`. */
    const refusalOf = async (who: string, entityRef: string) => {
      const r = await get(
        who,
        `/runs?entityRef=${encodeURIComponent(entityRef)}&limit=200`,
      );
      return {
        status: r.status,
        name: r.body.error?.name,
        message: r.body.error?.message?.replace(
          entityRef.toLocaleLowerCase('en-US'),
          '<entity>',
        ),
      };
    };
    const notYours = {
      status: 403,
      name: 'NotAllowedError',
      message:
        'You may not read the runs of <entity>: kubechart.runs.read is granted to you for some entities only, and not for this one',
    };

    beforeAll(async () => {
      fillCatalog();
      sim = await startSim();
      knex = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({
            data: testConfig(sim, {
              health: { startOnBoot: false },
              clusters: {
                dev: {
                  namespaces: {
                    'web-ns': { owner: ACME },
                    'shop-ns': { owner: ACME },
                    'pay-ns': { owner: PAYMENTS },
                  },
                },
              },
            }),
          }),
          mockServices.database.factory({ knex }),
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
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => {} }),
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

    it('lists the runs of an entity however its ref was spelled when they were recorded or when the history is asked for', async () => {
      const first = await recordFinished(
        ALICE,
        'Component:Default/Web',
        'web-ns',
      );
      const second = await recordFinished(ALICE, 'component:WEB', 'web-ns');
      // The ref the entity page asks with (`stringifyEntityRef`), and any other spelling of it.
      const expected = [
        [second, 'component:default/web'],
        [first, 'component:default/web'],
      ];
      expect(await historyOf(ALICE, 'component:default/web')).toEqual(expected);
      expect(await historyOf(ALICE, 'COMPONENT:default/Web')).toEqual(expected);
      expect(await historyOf(ADMIN, 'component:default/web')).toEqual(expected);
      // Another team is refused it, however it spells the ref.
      expect(await refusalOf(BOB, 'Component:Default/Web')).toEqual(notYours);
    });

    it('refuses a tenant the entity whose history an earlier owner recorded under another spelling', async () => {
      await recordFinished(ALICE, 'System:Default/Shop', 'shop-ns');
      // Alice's System leaves the catalog; bob's tenant `shop` would get `system:default/shop`, made his by the tenant provider.
      catalog.delete('system:default/shop');
      // Bob may not read alice's runs: the refusal does not name her.
      const earlier = `system:default/shop has deployment history of an earlier owner, which ${BOB} would be able to read`;
      const implicit = await post(BOB, '/runs', {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'shop',
        releases: [],
      });
      expect(implicit.status).toBe(403);
      expect(implicit.body.error.message).toContain(earlier);
      const named = await post(BOB, '/runs', {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'bobs-shop',
        releases: [],
        entityRef: 'system:default/shop',
      });
      expect(named.status).toBe(403);
      expect(named.body.error.message).toContain(earlier);
      expect([implicit, named].map(r => r.body.error.message)).not.toEqual(
        expect.arrayContaining([expect.stringContaining(ALICE)]),
      );
      expect((await get(ADMIN, '/tenants/shop')).status).toBe(404);
      expect((await get(ADMIN, '/tenants/bobs-shop')).status).toBe(404);
    });

    it('answers a run of an entity the caller may not see exactly as a run that does not exist', async () => {
      const own = await recordFinished(
        ALICE,
        'component:default/web',
        'web-ns',
      );
      const hidden = await recordFinished(
        BOB,
        'component:default/pay',
        'pay-ns',
      );
      const unknown = randomUUID();
      /** Status and message of each read of run `id` by alice, the id written as `<id>`. */
      const answers = async (id: string) => {
        const replies = [
          await get(ALICE, `/runs/${id}`),
          await get(ALICE, `/runs/${id}/events`),
          await get(ALICE, `/runs/${id}/drift`),
          await get(ALICE, `/runs/${id}/diff/${own}`),
          await get(ALICE, `/runs/${own}/diff/${id}`),
          await post(ALICE, `/runs/${id}/events`, {
            events: [{ message: 'hello' }],
          }),
          await post(ALICE, `/runs/${id}/finish`, { status: 'failed' }),
          await post(ALICE, `/runs/${id}/reapply`, {}),
        ];
        return replies.map(r => ({
          status: r.status,
          name: r.body.error?.name,
          message: r.body.error?.message?.split(id).join('<id>'),
        }));
      };
      const notFound = {
        status: 404,
        name: 'NotFoundError',
        message: 'Run <id> not found',
      };
      expect(await answers(unknown)).toEqual(Array(8).fill(notFound));
      expect(await answers(hidden)).toEqual(await answers(unknown));
      // The history of that entity is refused as that of an entity that does not exist.
      expect(await refusalOf(ALICE, 'component:default/pay')).toEqual(notYours);
      expect(await refusalOf(ALICE, 'component:default/no-such')).toEqual(
        notYours,
      );
      // Whoever may see the entity reads the run as before.
      for (const who of [BOB, ADMIN]) {
        const r = await get(who, `/runs/${hidden}`);
        expect({ who, status: r.status, id: r.body.id }).toEqual({
          who,
          status: 200,
          id: hidden,
        });
      }
      expect(await historyOf(BOB, 'component:default/pay')).toEqual([
        [hidden, 'component:default/pay'],
      ]);
    });

    it('keeps a history from whoever registers its entity again, or takes the entity over', async () => {
      catalog.set(
        'component:default/old',
        entity('Component', 'old', ACME, 'web-ns'),
      );
      const first = await recordFinished(
        ALICE,
        'component:default/old',
        'web-ns',
      );
      const second = await recordFinished(
        ALICE,
        'component:default/old',
        'web-ns',
      );
      const summaryOf = async (who: string) => {
        const r = await get(who, '/metrics/summary');
        expect(r.status).toBe(200);
        return r.body.runs;
      };
      const bobsSummary = await summaryOf(BOB);
      expect(await historyOf(ALICE, 'component:default/old')).toEqual([
        [second, 'component:default/old'],
        [first, 'component:default/old'],
      ]);
      // The entity leaves the catalog, and bob registers one of the same ref, owned by his team.
      catalog.delete('component:default/old');
      catalog.set(
        'component:default/old',
        entity('Component', 'old', PAYMENTS, 'pay-ns'),
      );
      expect(await historyOf(BOB, 'component:default/old')).toEqual([]);
      expect(await historyOf(BOB, 'Component:Default/Old')).toEqual([]);
      for (const id of [first, second]) {
        expect((await get(BOB, `/runs/${id}`)).status).toBe(404);
        expect((await get(BOB, `/runs/${id}/events`)).status).toBe(404);
      }
      const listed = await get(BOB, '/runs?limit=200');
      expect(listed.status).toBe(200);
      expect((listed.body.items as any[]).map(i => i.id)).not.toEqual(
        expect.arrayContaining([first]),
      );
      expect(await summaryOf(BOB)).toEqual(bobsSummary);
      // Bob's own run of the entity he registered is his history.
      const bobs = await recordFinished(BOB, 'component:default/old', 'pay-ns');
      expect(await historyOf(BOB, 'component:default/old')).toEqual([
        [bobs, 'component:default/old'],
      ]);
      // An admin reads all of it, each run with the owner its entity had.
      const all = await get(
        ADMIN,
        '/runs?entityRef=component:default/old&limit=200',
      );
      expect((all.body.items as any[]).map(i => [i.id, i.entityOwner])).toEqual(
        [
          [bobs, PAYMENTS],
          [second, ACME],
          [first, ACME],
        ],
      );
      // Given back to alice's team, the entity shows her team's runs again, and not bob's.
      catalog.set(
        'component:default/old',
        entity('Component', 'old', ACME, 'web-ns'),
      );
      expect(await historyOf(ALICE, 'component:default/old')).toEqual([
        [second, 'component:default/old'],
        [first, 'component:default/old'],
      ]);
      expect((await get(ALICE, `/runs/${bobs}`)).status).toBe(404);
      expect((await get(ALICE, `/runs/${first}`)).body.entityOwner).toBe(ACME);
    });

    it('shows a run recorded before owners were kept to whoever may read its entity now', async () => {
      catalog.set(
        'component:default/kept',
        entity('Component', 'kept', ACME, 'web-ns'),
      );
      const run = await recordFinished(
        ALICE,
        'component:default/kept',
        'web-ns',
      );
      await knex('kubechart_runs')
        .where({ id: run })
        .update({ entity_owner: null });
      catalog.set(
        'component:default/kept',
        entity('Component', 'kept', PAYMENTS, 'pay-ns'),
      );
      expect(await historyOf(BOB, 'component:default/kept')).toEqual([
        [run, 'component:default/kept'],
      ]);
      expect((await get(BOB, `/runs/${run}`)).body.entityOwner).toBeUndefined();
    });
  },
);
