import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import {
  CapturedAuditEvent,
  capturingAuditor,
  serviceHeader,
} from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import {
  onlyAdminIsTenantsAdmin,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const ADMIN = 'user:default/admin';
const ACME = 'group:default/acme-team';
const RIVAL = 'group:default/rival-team';
const BURST = 'group:default/burst-team';
/** Users' groups, as the sign-in token carries them. */
const CAROL = 'user:default/carol';
const DAVE = 'user:default/dave';
const OPS = 'group:default/ops-team';
const GROUPS: Record<string, string[]> = {
  [ALICE]: [ACME],
  [CAROL]: [BURST],
  [ADMIN]: [],
};

const permissions = onlyAdminIsTenantsAdmin(ADMIN);
const userInfo = userInfoWithGroups(GROUPS);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'who may own a new tenant, on %p',
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
    const runsOf = async (code: string) =>
      (
        await request(server)
          .get('/api/kubechart/runs?limit=200')
          .set('Authorization', as(ADMIN))
      ).body.items.filter((r: any) => r.input?.tenant === code);
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
      config.kubechart.limits = {
        ...config.kubechart.limits,
        maxTenantsPerOwner: 2,
      } as any;
      const kc = simKubeConfig(sim);
      core = kc.makeApiClient(CoreV1Api);
      const backend = await startKubechartBackend({
        config,
        knex: await databases.init(databaseId),
        features: [permissions, userInfo, capturingAuditor(audit)],
      });
      server = backend.server;
      stop = () => backend.stop();
    });
    afterAll(async () => {
      // Lets the tenant runs started below finish before the backend and cluster go away.
      for (let i = 0; i < 300; i++) {
        const items =
          (
            await request(server)
              .get('/api/kubechart/runs?limit=200')
              .set('Authorization', as(ADMIN))
          ).body.items ?? [];
        if (
          !items.some(
            (r: any) => r.status === 'pending' || r.status === 'running',
          )
        )
          break;
        await new Promise(r => setTimeout(r, 100));
      }
      await stop?.();
      await sim?.stop();
    });

    it('refuses a tenant owned by a group the requester is not in with 403, and creates nothing', async () => {
      const refused = await post(
        as(ALICE),
        tenantRun('rival-shop', { owner: RIVAL }),
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `You may not create tenant rival-shop owned by ${RIVAL}: a tenant's owner must be you or a group you belong to (${ALICE}, ${ACME}); giving a tenant another owner needs the kubechart.tenants.admin permission`,
      );
      await expectNothingCreated('rival-shop');
      // The refusal is in the audit trail.
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-create',
          status: 'failed',
          error: expect.stringContaining(
            'You may not create tenant rival-shop',
          ),
          meta: expect.objectContaining({ actor: ALICE }),
        }),
      );
    });

    it('refuses it on a protected target too: the requester cannot choose the owner approver of their own run', async () => {
      const refused = await post(
        as(ALICE),
        tenantRun('prod-rival', { owner: RIVAL }),
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toContain(
        `You may not create tenant prod-rival owned by ${RIVAL}`,
      );
      await expectNothingCreated('prod-rival');
    });

    it("accepts the requester's own group (what the template's owner picker offers) and the requester itself", async () => {
      const forGroup = await post(
        as(ALICE),
        tenantRun('acme-shop', { owner: ACME }),
      );
      expect(forGroup.status).toBe(202);
      expect(await tenant('acme-shop')).toMatchObject({
        code: 'acme-shop',
        owner: ACME,
      });
      const forSelf = await post(as(ALICE), tenantRun('alice-own'));
      expect(forSelf.status).toBe(202);
      expect(await tenant('alice-own')).toMatchObject({
        code: 'alice-own',
        owner: ALICE,
      });
    });

    it('lets the scaffolder act for a user, who may own the tenant it creates', async () => {
      const scaffolder = serviceHeader('plugin:scaffolder');
      const forUser = await post(
        scaffolder,
        tenantRun('jane-own', { onBehalfOf: 'user:default/jane' }),
      );
      expect(forUser.status).toBe(202);
      expect(await tenant('jane-own')).toMatchObject({
        owner: 'user:default/jane',
      });
      // The service proves nothing about the user's groups: a group it names is refused like any other.
      const forGroup = await post(
        scaffolder,
        tenantRun('jane-rival', {
          onBehalfOf: 'user:default/jane',
          owner: RIVAL,
        }),
      );
      expect(forGroup.status).toBe(403);
      await expectNothingCreated('jane-rival');
    });

    it("gives a user the scaffolder acts for none of the service's own rights: no tenants admin, no one else's tenant", async () => {
      // Backstage allows a service every permission; the user it names is not the service.
      const scaffolder = serviceHeader('plugin:scaffolder');
      expect(
        (await post(as(DAVE), tenantRun('dave-kept', { owner: DAVE }))).status,
      ).toBe(202);
      for (let i = 0; i < 200; i++) {
        const runs = await runsOf('dave-kept');
        if (runs.every((r: any) => r.status === 'succeeded')) break;
        await new Promise(r => setTimeout(r, 100));
      }
      const mallory = { onBehalfOf: 'user:default/mallory' };
      const deleted = await post(scaffolder, {
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'dave-kept',
        ...mallory,
      });
      expect(deleted.status).toBe(409);
      // What mallory may read is not known to a relayed request: the owner is not named to her.
      expect(deleted.body.error.message).toBe(
        'tenant dave-kept exists and is owned by someone you do not act for',
      );
      const forOther = await post(
        scaffolder,
        tenantRun('mallory-ops', { owner: OPS, ...mallory }),
      );
      expect(forOther.status).toBe(403);
      await expectNothingCreated('mallory-ops');
      expect(await tenant('dave-kept')).toMatchObject({ owner: DAVE });
      expect(await namespaceExists('tenant-dave-kept')).toBe(true);
      // Nor is the service acting as itself a tenants admin, though Backstage's permissions allow
      // a service every permission: its token does not name kubechart.tenants.admin.
      const own = await post(scaffolder, tenantRun('ops-own', { owner: OPS }));
      expect(own.status).toBe(403);
      await expectNothingCreated('ops-own');
    });

    it("refuses moving one's tenant to an owner one does not act for; a tenant admin may", async () => {
      const moved = await post(
        as(ALICE),
        tenantRun('acme-shop', { owner: RIVAL }),
      );
      expect(moved.status).toBe(403);
      expect(moved.body.error.message).toContain(
        `You may not move tenant acme-shop from ${ACME} to ${RIVAL}`,
      );
      expect(await tenant('acme-shop')).toMatchObject({ owner: ACME });
      const created = await post(
        as(ADMIN),
        tenantRun('rival-by-admin', { owner: RIVAL }),
      );
      expect(created.status).toBe(202);
      expect(await tenant('rival-by-admin')).toMatchObject({ owner: RIVAL });
    });

    it('refuses an owner one more tenant than kubechart.limits.maxTenantsPerOwner with 429, and creates nothing', async () => {
      // acme-team owns acme-shop; a second is within the limit of 2, a third is not.
      expect(
        (await post(as(ALICE), tenantRun('acme-second', { owner: ACME })))
          .status,
      ).toBe(202);
      const third = await post(
        as(ALICE),
        tenantRun('acme-third', { owner: ACME }),
      );
      expect(third.status).toBe(429);
      expect(third.body.error.message).toBe(
        `${ACME} owns 2 tenants; the limit is 2 per owner (kubechart.limits.maxTenantsPerOwner). Delete one of them or ask the platform team.`,
      );
      await expectNothingCreated('acme-third');
      // Another owner has a budget of its own, and a tenant admin is not limited.
      expect((await post(as(ALICE), tenantRun('alice-second'))).status).toBe(
        202,
      );
      expect(
        (await post(as(ADMIN), tenantRun('acme-by-admin', { owner: ACME })))
          .status,
      ).toBe(202);
      expect(await tenant('acme-by-admin')).toMatchObject({ owner: ACME });
    });

    it('counts tenants asked for at the same moment against the same budget: of five at once, only two are created', async () => {
      const codes = ['burst-a', 'burst-b', 'burst-c', 'burst-d', 'burst-e'];
      const answers = await Promise.all(
        codes.map(code => post(as(CAROL), tenantRun(code, { owner: BURST }))),
      );
      expect(answers.map(a => a.status).sort()).toEqual([
        202, 202, 429, 429, 429,
      ]);
      for (const refused of answers.filter(a => a.status === 429))
        expect(refused.body.error.message).toContain(
          `${BURST} owns 2 tenants; the limit is 2 per owner`,
        );
      const owned = (
        await request(server)
          .get('/api/kubechart/tenants')
          .set('Authorization', as(ADMIN))
      ).body.items.filter((t: any) => t.owner === BURST);
      expect(owned).toHaveLength(2);
      for (const [i, code] of codes.entries())
        if (answers[i].status === 429) await expectNothingCreated(code);
    });
  },
);
