import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import {
  CapturedAuditEvent,
  capturingAuditor,
  serviceHeader,
} from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import {
  permissionsDenying,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ADMIN = 'user:default/admin';
/** A member of payments whom the permission policy denies kubechart.tenants.read. */
const CAROL = 'user:default/carol';
const ACME = 'group:default/acme-team';
const PAYMENTS = 'group:default/payments';
/** Users' groups, as the sign-in token carries them. */
const GROUPS: Record<string, string[]> = {
  [ALICE]: [ACME],
  [BOB]: [PAYMENTS],
  [CAROL]: [PAYMENTS],
  [ADMIN]: [],
};

const entity = (
  kind: string,
  name: string,
  owner: string,
  annotations: Record<string, string> = {},
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name, namespace: 'default', annotations },
  spec: {
    owner,
    ...(kind === 'Component'
      ? { type: 'service', lifecycle: 'production' }
      : {}),
  },
});

/** The catalog: another team's components, alice's team's component, and the entity the tenant provider made for tenant moved-shop before an admin moved it to acme-team. */
const CATALOG: Entity[] = [
  entity('Component', 'payments-api', PAYMENTS),
  entity('Component', 'billing-api', PAYMENTS),
  entity('Component', 'acme-api', ACME),
  entity('System', 'moved-shop', PAYMENTS, {
    'kubechart.io/tenant': 'moved-shop',
    'kubechart.io/cluster': 'dev',
  }),
  // Another team's System, registered from its own catalog-info.yaml.
  entity('System', 'ledger', PAYMENTS),
];

/** Another team's component the catalog's permission rules hide from users (the plugin sees it). */
const HIDDEN_REF = 'component:default/secret-api';
/** Another team's System, hidden from users alike. */
const HIDDEN_SYSTEM_REF = 'system:default/secret-ledger';
const catalogHidingFromUsers = () => {
  const catalog = catalogServiceMock({
    entities: [
      ...CATALOG,
      entity('Component', 'secret-api', PAYMENTS),
      entity('System', 'secret-ledger', PAYMENTS),
    ],
  });
  return createServiceFactory({
    service: catalogServiceRef,
    deps: {},
    factory: () =>
      new Proxy(catalog, {
        get(target, prop) {
          if (prop === 'getEntityByRef')
            return async (ref: any, options: any) =>
              [HIDDEN_REF, HIDDEN_SYSTEM_REF].includes(ref) &&
              options?.credentials?.principal?.type === 'user'
                ? undefined
                : target.getEntityByRef(ref, options);
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  });
};

const permissions = permissionsDenying(
  (permission, principal) =>
    principal?.type === 'user' &&
    ((permission === 'kubechart.tenants.admin' &&
      principal.userEntityRef !== ADMIN) ||
      (permission === 'kubechart.tenants.read' &&
        principal.userEntityRef === CAROL)),
);
const userInfo = userInfoWithGroups(GROUPS);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  "a tenant run's entityRef, on %p",
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let core: CoreV1Api;
    const audit: CapturedAuditEvent[] = [];
    const as = (who: string) => mockCredentials.user.header(who);
    const tenantRun = (code: string, over: Record<string, unknown> = {}) => ({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      releases: [],
      ...over,
    });
    const post = (auth: string, body: object) =>
      request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', auth)
        .send(body);
    const tenant = async (code: string) =>
      (
        await request(server)
          .get(`/api/kubechart/tenants/${code}`)
          .set('Authorization', as(ADMIN))
      ).body;
    const allRuns = async () =>
      (
        await request(server)
          .get('/api/kubechart/runs?limit=200')
          .set('Authorization', as(ADMIN))
      ).body.items as any[];
    const runsOf = async (code: string) =>
      (await allRuns()).filter((r: any) => r.input?.tenant === code);
    /** The deployment history an entity page shows: runs listed by the entity's ref. */
    const historyOf = async (entityRef: string) =>
      (
        await request(server)
          .get(
            `/api/kubechart/runs?entityRef=${encodeURIComponent(
              entityRef,
            )}&limit=200`,
          )
          .set('Authorization', as(ADMIN))
      ).body.items as any[];
    const namespaceExists = (name: string) =>
      core.readNamespace({ name }).then(
        () => true,
        (e: any) => (e.code === 404 ? false : Promise.reject(e)),
      );
    /** A tenant run that was refused before anything happened: no run, no tenant, no namespace. */
    const expectNothingCreated = async (code: string) => {
      expect(await runsOf(code)).toEqual([]);
      expect(
        (
          await request(server)
            .get(`/api/kubechart/tenants/${code}`)
            .set('Authorization', as(ADMIN))
        ).status,
      ).toBe(404);
      expect(await namespaceExists(`tenant-${code}`)).toBe(false);
    };

    beforeAll(async () => {
      sim = await startSim();
      const config = testConfig(sim, {
        health: { startOnBoot: false },
        // The scaffolder may relay runs for users (POST /runs with onBehalfOf).
        onBehalfOf: { allowedServices: ['plugin:scaffolder'] },
        approvals: {
          rules: [{ name: 'production', namespaces: ['tenant-prod-*'] }],
        },
      });
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'sim', server: sim.url, caData: sim.caData }],
        users: [{ name: 'sim', token: sim.token }],
        contexts: [{ name: 'sim', cluster: 'sim', user: 'sim' }],
        currentContext: 'sim',
      });
      core = kc.makeApiClient(CoreV1Api);
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data: config }),
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          permissions,
          userInfo,
          catalogHidingFromUsers(),
          capturingAuditor(audit),
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
    /** Waits until no run is pending or running (a tenant's next run would find it locked). */
    const settle = async () => {
      for (let i = 0; i < 300; i++) {
        const items = (await allRuns()) ?? [];
        if (
          !items.some(
            (r: any) => r.status === 'pending' || r.status === 'running',
          )
        )
          return;
        await new Promise(r => setTimeout(r, 100));
      }
    };
    afterAll(async () => {
      // Lets the tenant runs started below finish before the backend and cluster go away.
      if (server) await settle();
      await stop?.();
      await sim?.stop();
    });

    it('refuses naming an entity the catalog hides from the caller with 403, and creates nothing', async () => {
      const refused = await post(
        as(ALICE),
        tenantRun('secret-squat', { owner: ACME, entityRef: HIDDEN_REF }),
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `Tenant secret-squat may not name ${HIDDEN_REF}: the catalog has that entity and ${ALICE} may not see it, so ${ALICE} cannot be shown to own it`,
      );
      await expectNothingCreated('secret-squat');
      expect(await historyOf(HIDDEN_REF)).toEqual([]);
    });

    it('refuses an entityRef that is not an entity ref with 400, and creates nothing', async () => {
      for (const [code, entityRef] of [
        ['bad-empty', 'component:'],
        ['bad-slash', 'component:default/a/b'],
        ['bad-colon', 'component:default/a:b'],
      ]) {
        const refused = await post(as(ALICE), tenantRun(code, { entityRef }));
        expect(refused.status).toBe(400);
        expect(refused.body.error.message).toContain(
          `The entityRef ${JSON.stringify(
            entityRef,
          )} of tenant ${code} is not a usable entity ref`,
        );
        await expectNothingCreated(code);
      }
    });

    it('refuses an entity of a kind other than Component, System or Resource with 400, and creates nothing', async () => {
      for (const [code, entityRef, kind] of [
        ['kind-user', 'user:default/admin', 'user'],
        ['kind-group', 'Group:default/acme-team', 'Group'],
        ['kind-location', 'location:default/anything', 'location'],
        ['kind-template', 'template:default/kubechart-tenant', 'template'],
      ]) {
        const refused = await post(as(ALICE), tenantRun(code, { entityRef }));
        expect(refused.status).toBe(400);
        expect(refused.body.error.message).toBe(
          `The entityRef ${JSON.stringify(
            entityRef,
          )} of tenant ${code} names a ${kind}; a tenant's entity must be a Component, System or Resource`,
        );
        await expectNothingCreated(code);
      }
    });

    it("refuses naming another team's existing entity with 403, creates nothing, and leaves that entity's history empty", async () => {
      const refused = await post(
        as(ALICE),
        tenantRun('pay-squat', {
          owner: ACME,
          entityRef: 'component:default/payments-api',
        }),
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `Tenant pay-squat may not name component:default/payments-api: that entity is owned by ${PAYMENTS}, and ${ALICE} is not a member of it (naming another team's entity puts this tenant's runs into its deployment history)`,
      );
      await expectNothingCreated('pay-squat');
      // Spelled differently, it is the same entity.
      const respelled = await post(
        as(ALICE),
        tenantRun('pay-squat', { entityRef: 'Component:Default/Payments-API' }),
      );
      expect(respelled.status).toBe(403);
      await expectNothingCreated('pay-squat');
      // On a protected target too: refused before an approval is requested.
      const gated = await post(
        as(ALICE),
        tenantRun('prod-pay-squat', {
          entityRef: 'component:default/payments-api',
        }),
      );
      expect(gated.status).toBe(403);
      await expectNothingCreated('prod-pay-squat');
      expect(await historyOf('component:default/payments-api')).toEqual([]);
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-create',
          status: 'failed',
          error: expect.stringContaining(
            'Tenant pay-squat may not name component:default/payments-api',
          ),
        }),
      );
      // Nor is its audit history: the refused attempts name the entity only as requested, never as
      // their target, so naming another team's entity adds nothing to what that team reads there.
      const squats = audit.filter(
        e =>
          e.eventId === 'run-create' &&
          e.meta?.requestedEntityRef === 'component:default/payments-api',
      );
      expect(squats.length).toBeGreaterThan(0);
      expect(
        audit.filter(
          e => e.meta?.entityRef === 'component:default/payments-api',
        ),
      ).toEqual([]);
    });

    it("accepts the caller's own team's component, and its runs are that component's history", async () => {
      const created = await post(
        as(ALICE),
        tenantRun('acme-api', {
          owner: ACME,
          entityRef: 'component:default/acme-api',
        }),
      );
      expect(created.status).toBe(202);
      expect(await tenant('acme-api')).toMatchObject({
        code: 'acme-api',
        owner: ACME,
        entityRef: 'component:default/acme-api',
      });
      expect(
        (await historyOf('component:default/acme-api')).map(r => r.id),
      ).toEqual([created.body.id]);
      // Recorded, the run names its entity as the event's target.
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-create',
          status: 'succeeded',
          meta: expect.objectContaining({
            entityRef: 'component:default/acme-api',
            runId: created.body.id,
          }),
        }),
      );
      // A tenant admin may name any team's entity.
      const byAdmin = await post(
        as(ADMIN),
        tenantRun('pay-by-admin', {
          owner: PAYMENTS,
          entityRef: 'component:default/payments-api',
        }),
      );
      expect(byAdmin.status).toBe(202);
    });

    it('accepts an entity the catalog does not have yet, stored as the entity page asks for it', async () => {
      const created = await post(
        as(ALICE),
        tenantRun('new-shop', { entityRef: 'System:Default/New-Shop' }),
      );
      expect(created.status).toBe(202);
      expect(await tenant('new-shop')).toMatchObject({
        owner: ALICE,
        entityRef: 'system:default/new-shop',
      });
      expect(
        (await historyOf('system:default/new-shop')).map(r => [
          r.id,
          r.entityRef,
        ]),
      ).toEqual([[created.body.id, 'system:default/new-shop']]);
      // Without a kind or namespace it is a System in default, as the catalog module reads it.
      const bare = await post(
        as(ALICE),
        tenantRun('bare-shop', { entityRef: 'bare-shop' }),
      );
      expect(bare.status).toBe(202);
      expect(await tenant('bare-shop')).toMatchObject({
        entityRef: 'system:default/bare-shop',
      });
    });

    it("refuses with 409 a second tenant naming a live tenant's entity for another owner, and creates nothing", async () => {
      expect(
        (
          await post(
            as(ALICE),
            tenantRun('first-shop', {
              owner: ACME,
              entityRef: 'system:default/shared-shop',
            }),
          )
        ).status,
      ).toBe(202);
      const second = await post(
        as(BOB),
        tenantRun('second-shop', { entityRef: 'System:default/Shared-Shop' }),
      );
      expect(second.status).toBe(409);
      expect(second.body.error.message).toBe(
        `Tenant second-shop may not name system:default/shared-shop: tenant first-shop on cluster dev already names it and is owned by ${ACME}, not by ${BOB}`,
      );
      await expectNothingCreated('second-shop');
      // A tenant without an entityRef has the System named by its code in the catalog: that one is taken too.
      expect((await post(as(ALICE), tenantRun('plain-shop'))).status).toBe(202);
      const code = await post(
        as(BOB),
        tenantRun('bob-bare', { entityRef: 'system:default/plain-shop' }),
      );
      expect(code.status).toBe(409);
      expect(code.body.error.message).toContain(
        'tenant plain-shop on cluster dev already has it as its entity',
      );
      await expectNothingCreated('bob-bare');
      // The same owner may name it again (e.g. the same system's tenant on another cluster).
      expect(
        (
          await post(
            as(ALICE),
            tenantRun('first-shop-2', {
              owner: ACME,
              entityRef: 'system:default/shared-shop',
            }),
          )
        ).status,
      ).toBe(202);
    });

    it('tells a caller who may not read tenants only that the entity is taken, never the other tenant or its owner', async () => {
      expect(
        (
          await post(
            as(ALICE),
            tenantRun('acme-vault', {
              owner: ACME,
              entityRef: 'system:default/vault',
            }),
          )
        ).status,
      ).toBe(202);
      const named = await post(
        as(CAROL),
        tenantRun('carol-vault', { entityRef: 'system:default/vault' }),
      );
      expect({
        status: named.status,
        message: named.body.error.message,
      }).toEqual({
        status: 409,
        message:
          'Tenant carol-vault may not name system:default/vault: another tenant already has it as its entity',
      });
      await expectNothingCreated('carol-vault');
      // Its code is the System acme-vault names: taken too, and said so alike.
      const implicit = await post(as(CAROL), tenantRun('vault'));
      expect({
        status: implicit.status,
        message: implicit.body.error.message,
      }).toEqual({
        status: 409,
        message:
          'Tenant vault may not have system:default/vault as its entity (the System named by its code): another tenant already has it as its entity; give another entityRef',
      });
      await expectNothingCreated('vault');
      for (const refused of [named, implicit])
        expect(JSON.stringify(refused.body)).not.toMatch(/acme/);
    });

    it("refuses with 409 a tenant without an entityRef whose code is the System another owner's live tenant names, and creates nothing", async () => {
      expect(
        (
          await post(
            as(ALICE),
            tenantRun('a-store', {
              owner: ACME,
              entityRef: 'system:default/store',
            }),
          )
        ).status,
      ).toBe(202);
      // Its entity would be system:default/store too: the catalog would show bob's tenant as that System.
      const implicit = await post(as(BOB), tenantRun('store'));
      expect(implicit.status).toBe(409);
      expect(implicit.body.error.message).toBe(
        `Tenant store may not have system:default/store as its entity (the System named by its code): tenant a-store on cluster dev already names it and is owned by ${ACME}, not by ${BOB}; give another entityRef`,
      );
      await expectNothingCreated('store');
      expect(
        (await historyOf('system:default/store')).map(r => r.input.tenant),
      ).toEqual(['a-store']);
    });

    it("refuses with 409 a tenant without an entityRef whose code is another team's System in the catalog, at submit and in its preview, and creates nothing", async () => {
      const preview = (who: string, body: object) =>
        request(server)
          .post('/api/kubechart/runs/preview')
          .set('Authorization', who)
          .send(body);
      const refusal = (code: string) =>
        `Tenant ${code} may not have system:default/${code} as its entity (the System named by its code)`;
      // payments registered System ledger; the tenant provider would give the catalog a System
      // ledger owned by alice as well.
      for (const answer of [
        await preview(as(ALICE), tenantRun('ledger')),
        await post(as(ALICE), tenantRun('ledger')),
      ]) {
        expect({
          status: answer.status,
          message: answer.body.error?.message,
        }).toEqual({
          status: 409,
          message: `${refusal(
            'ledger',
          )}: the catalog already has that System, owned by ${PAYMENTS}, and ${ALICE} is not a member of it; give an entityRef, or another tenant code`,
        });
      }
      await expectNothingCreated('ledger');
      // A System the caller may not see: its owner is not named.
      const JANE = 'user:default/jane';
      const scaffolder = serviceHeader('plugin:scaffolder');
      for (const [code, answer, who] of [
        [
          'secret-ledger',
          await preview(as(ALICE), tenantRun('secret-ledger')),
          ALICE,
        ],
        [
          'secret-ledger',
          await post(as(ALICE), tenantRun('secret-ledger')),
          ALICE,
        ],
        // Relayed, the catalog is not read as the user: the owner is named to nobody.
        [
          'ledger',
          await post(scaffolder, tenantRun('ledger', { onBehalfOf: JANE })),
          JANE,
        ],
      ] as const) {
        expect({
          status: answer.status,
          message: answer.body.error?.message,
        }).toEqual({
          status: 409,
          message: `${refusal(
            code,
          )}: the catalog already has that System, and ${who} cannot be shown to own it; give an entityRef, or another tenant code`,
        });
        expect(JSON.stringify(answer.body)).not.toContain(PAYMENTS);
      }
      await expectNothingCreated('secret-ledger');
      await expectNothingCreated('ledger');
      // Its own team may have it, and a tenants admin may hand it over.
      expect((await preview(as(BOB), tenantRun('ledger'))).status).toBe(200);
      expect((await preview(as(ADMIN), tenantRun('ledger'))).status).toBe(200);
    });

    it("lets a tenant's owner re-submit naming the entity the tenant provider made for it, whoever the catalog still says owns it", async () => {
      // An admin gave moved-shop to acme-team; the catalog's entity for it still says payments.
      expect(
        (
          await post(
            as(ADMIN),
            tenantRun('moved-shop', {
              owner: ACME,
              entityRef: 'system:default/moved-shop',
            }),
          )
        ).status,
      ).toBe(202);
      await settle();
      const resubmitted = await post(
        as(ALICE),
        tenantRun('moved-shop', { entityRef: 'system:default/moved-shop' }),
      );
      expect(resubmitted.status).toBe(202);
      // The annotation is no pass for another tenant of the same owner.
      const other = await post(
        as(ALICE),
        tenantRun('acme-squat', {
          owner: ACME,
          entityRef: 'system:default/moved-shop',
        }),
      );
      expect(other.status).toBe(403);
      await expectNothingCreated('acme-squat');
      // Nor for the team the stale catalog names: another owner than the live tenant's.
      const stale = await post(
        as(BOB),
        tenantRun('bob-shop', { entityRef: 'system:default/moved-shop' }),
      );
      expect(stale.status).toBe(409);
      await expectNothingCreated('bob-shop');
    });

    it("refuses a tenant-delete run naming another team's entity, so it does not enter that entity's history", async () => {
      await settle();
      const refused = await request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', as(ALICE))
        .send({
          kind: 'tenant-delete',
          cluster: 'dev',
          tenant: 'new-shop',
          entityRef: 'component:default/billing-api',
        });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toContain(
        `Tenant new-shop may not name component:default/billing-api: that entity is owned by ${PAYMENTS}`,
      );
      expect(await tenant('new-shop')).toMatchObject({
        status: 'active',
        entityRef: 'system:default/new-shop',
      });
      expect(await historyOf('component:default/billing-api')).toEqual([]);
      // Another live tenant's entity, for another owner: 409, as for a tenant run.
      const taken = await request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', as(ALICE))
        .send({
          kind: 'tenant-delete',
          cluster: 'dev',
          tenant: 'new-shop',
          entityRef: 'component:default/payments-api',
        });
      expect(taken.status).toBe(409);
      expect(
        (await historyOf('component:default/payments-api')).map(r => [
          r.kind,
          r.actor,
        ]),
      ).toEqual([['tenant', ADMIN]]);
    });

    /** Provisions tenant `code` as alice naming `entityRef`, then deletes it; both runs succeed. */
    const provisionedAndDeleted = async (code: string, entityRef: string) => {
      await settle();
      const created = await post(as(ALICE), tenantRun(code, { entityRef }));
      expect(created.status).toBe(202);
      await settle();
      const deleted = await post(as(ALICE), {
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: code,
      });
      expect(deleted.status).toBe(202);
      await settle();
      // Deleted: the tenants API no longer lists it.
      expect((await tenant(code)).error?.name).toBe('NotFoundError');
      expect((await historyOf(entityRef)).map(r => [r.kind, r.actor])).toEqual([
        ['tenant', ALICE],
      ]);
    };

    it("does not give a deleted tenant's entity, and so its history, to whoever re-creates its code", async () => {
      await provisionedAndDeleted(
        'reused-shop',
        'component:default/reused-api',
      );
      const reused = await post(as(BOB), tenantRun('reused-shop'));
      expect(reused.status).toBe(202);
      await settle();
      // Bob's tenant has no entity of alice's: the tenant provider makes system:default/reused-shop for it.
      const record = await tenant('reused-shop');
      expect(record).toMatchObject({ owner: BOB, status: 'active' });
      expect(record.entityRef).toBeUndefined();
      // Alice's runs stay in the history of her entity, which bob's tenant does not have.
      expect(
        (await historyOf('component:default/reused-api')).map(r => r.actor),
      ).toEqual([ALICE]);
      expect(await historyOf('system:default/reused-shop')).toEqual([]);
    });

    it("refuses with 403 a tenant naming an entity whose deployment history is an earlier owner's, unless a tenants admin asks", async () => {
      await provisionedAndDeleted('old-shop', 'component:default/old-api');
      const message = `Tenant old-shop may not name component:default/old-api: component:default/old-api has deployment history of an earlier owner (${ALICE})`;
      const named = await post(
        as(BOB),
        tenantRun('old-shop', { entityRef: 'component:default/old-api' }),
      );
      expect(named.status).toBe(403);
      expect(named.body.error.message).toContain(message);
      expect(named.body.error.message).toContain('ask a tenants admin');
      // Under another code too.
      const elsewhere = await post(
        as(BOB),
        tenantRun('bob-old', { entityRef: 'component:default/old-api' }),
      );
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.body.error.message).toContain(
        'component:default/old-api has deployment history of an earlier owner',
      );
      await expectNothingCreated('bob-old');
      expect((await tenant('old-shop')).error?.name).toBe('NotFoundError');
      expect(
        (await historyOf('component:default/old-api')).map(r => r.actor),
      ).toEqual([ALICE]);
      // A tenant without an entityRef has the System named by its code: its history counts too.
      await provisionedAndDeleted('sys-shop', 'system:default/sys-shop');
      const implicit = await post(as(BOB), tenantRun('sys-shop'));
      expect(implicit.status).toBe(403);
      expect(implicit.body.error.message).toContain(
        `system:default/sys-shop has deployment history of an earlier owner (${ALICE})`,
      );
      expect((await tenant('sys-shop')).error?.name).toBe('NotFoundError');
      // A tenants admin may hand it over.
      const handed = await post(
        as(ADMIN),
        tenantRun('old-shop', {
          owner: BOB,
          entityRef: 'component:default/old-api',
        }),
      );
      expect(handed.status).toBe(202);
      await settle();
      expect(await tenant('old-shop')).toMatchObject({
        owner: BOB,
        entityRef: 'component:default/old-api',
      });
    });

    it('lets the owner of a deleted tenant re-create it with its entity and history', async () => {
      await provisionedAndDeleted('own-shop', 'component:default/own-api');
      const again = await post(
        as(ALICE),
        tenantRun('own-shop', { entityRef: 'component:default/own-api' }),
      );
      expect(again.status).toBe(202);
      await settle();
      expect(await tenant('own-shop')).toMatchObject({
        owner: ALICE,
        status: 'active',
        entityRef: 'component:default/own-api',
      });
      expect(
        (await historyOf('component:default/own-api')).map(r => r.actor),
      ).toEqual([ALICE, ALICE]);
    });

    it("refuses a relayed run (onBehalfOf) that names an entity, as the catalog cannot be read as the user, and never names a hidden entity's owner", async () => {
      const JANE = 'user:default/jane';
      const scaffolder = serviceHeader('plugin:scaffolder');
      for (const [code, entityRef] of [
        ['jane-hidden', HIDDEN_REF],
        ['jane-pay', 'component:default/payments-api'],
      ]) {
        const history = await historyOf(entityRef);
        const refused = await post(
          scaffolder,
          tenantRun(code, { entityRef, onBehalfOf: JANE }),
        );
        expect(refused.status).toBe(403);
        expect(refused.body.error.message).toBe(
          `A run relayed by service:plugin:scaffolder for ${JANE} may not name an entity (entityRef ${entityRef}): the catalog cannot be read as ${JANE}, so whether ${JANE} may see that entity cannot be checked; ${JANE} must start the run with their own token`,
        );
        expect(refused.body.error.message).not.toContain(PAYMENTS);
        await expectNothingCreated(code);
        expect(await historyOf(entityRef)).toEqual(history);
      }
      // Nor a chart run for an entity, relayed.
      const chart = await post(scaffolder, {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'tenant-jane-hidden',
        entityRef: HIDDEN_REF,
        manifests:
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n',
        onBehalfOf: JANE,
      });
      expect(chart.status).toBe(403);
      expect(chart.body.error.message).toContain(
        'must start the run with their own token',
      );
      expect(chart.body.error.message).not.toContain(PAYMENTS);
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-create',
          status: 'failed',
          meta: expect.objectContaining({
            actor: JANE,
            requestedEntityRef: HIDDEN_REF,
          }),
        }),
      );
      // Without an entityRef the relay still works.
      const plain = await post(
        scaffolder,
        tenantRun('jane-plain', { onBehalfOf: JANE }),
      );
      expect(plain.status).toBe(202);
      await settle();
      expect(await tenant('jane-plain')).toMatchObject({ owner: JANE });
    });
  },
);
