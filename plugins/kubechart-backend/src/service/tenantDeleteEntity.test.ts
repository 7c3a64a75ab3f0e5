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
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
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
  "a tenant-delete run's entityRef, on %p",
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
      expect((await tenant(code)).error?.name).toBe('NotFoundError');
    };

    it("refuses a tenant-delete run naming another entity than the tenant's, so it cannot hand the tenant an earlier owner's entity", async () => {
      await provisionedAndDeleted('old-shop', 'component:default/old-api');
      // Bob's own tenant, with no entityRef (it has system:default/bob-shop).
      const own = await post(as(BOB), tenantRun('bob-shop'));
      expect(own.status).toBe(202);
      await settle();
      // A tenant run naming alice's former entity is refused (its history is hers) ...
      const named = await post(
        as(BOB),
        tenantRun('bob-shop', { entityRef: 'component:default/old-api' }),
      );
      expect(named.status).toBe(403);
      // ... and so is a tenant-delete run naming it: a delete does not change the tenant's entity.
      const renamed = await post(as(BOB), {
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'bob-shop',
        entityRef: 'component:default/old-api',
      });
      const recordNow = await tenant('bob-shop');
      await settle();
      expect({
        status: renamed.status,
        message: renamed.body.error?.message,
        recordStatus: recordNow.status,
        recordEntityRef: recordNow.entityRef,
        historyActors: (await historyOf('component:default/old-api')).map(
          r => r.actor,
        ),
      }).toEqual({
        status: 400,
        message: expect.stringContaining(
          'Tenant bob-shop may not name component:default/old-api: a tenant-delete run keeps the entity of the tenant it deletes (system:default/bob-shop); nothing was deleted',
        ),
        recordStatus: 'active',
        // Its entity stays the System named by its code.
        recordEntityRef: undefined,
        historyActors: [ALICE],
      });
      expect(await namespaceExists('tenant-bob-shop')).toBe(true);
      expect((await runsOf('bob-shop')).map(r => [r.kind, r.status])).toEqual([
        ['tenant', 'succeeded'],
      ]);
      // Naming the tenant's own entity deletes it, recorded under that entity.
      const deleted = await post(as(BOB), {
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'bob-shop',
        entityRef: 'system:default/bob-shop',
      });
      expect(deleted.status).toBe(202);
      await settle();
      expect((await tenant('bob-shop')).error?.name).toBe('NotFoundError');
      expect(
        (await historyOf('system:default/bob-shop')).map(r => [
          r.kind,
          r.actor,
          r.status,
        ]),
      ).toEqual([['tenant-delete', BOB, 'succeeded']]);
      expect(
        (await historyOf('component:default/old-api')).map(r => r.actor),
      ).toEqual([ALICE]);
    });
  },
);
