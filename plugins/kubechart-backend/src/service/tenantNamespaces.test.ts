import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import {
  onlyAdminIsTenantsAdmin,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const RAY = 'user:default/ray';
const ADMIN = 'user:default/admin';
const ACME = 'group:default/acme-team';
const RIVAL = 'group:default/rival-team';

const permissions = onlyAdminIsTenantsAdmin(ADMIN);
const userInfo = userInfoWithGroups({
  [ALICE]: [ACME],
  [RAY]: [RIVAL],
  [ADMIN]: [],
});

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'tenant runs and namespaces KubeChart did not create, on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let core: CoreV1Api;
    let rbac: RbacAuthorizationV1Api;
    const as = (who: string) => mockCredentials.user.header(who);
    const post = (who: string, body: object) =>
      request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', as(who))
        .send(body);
    const tenantRun = (code: string, over: Record<string, unknown> = {}) => ({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      releases: [],
      ...over,
    });
    const deleteRun = (code: string) => ({
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: code,
    });
    const runsOf = async (code: string) =>
      (
        await request(server)
          .get('/api/kubechart/runs?limit=200')
          .set('Authorization', as(ADMIN))
      ).body.items.filter((r: any) => r.input?.tenant === code);
    const finished = async (id: string) => {
      for (let i = 0; i < 600; i++) {
        const run = (
          await request(server)
            .get(`/api/kubechart/runs/${id}`)
            .set('Authorization', as(ADMIN))
        ).body;
        if (run.status === 'succeeded' || run.status === 'failed') return run;
        await new Promise(r => setTimeout(r, 100));
      }
      throw new Error(`run ${id} did not finish`);
    };
    const readNamespace = (name: string) =>
      core.readNamespace({ name }).then(
        ns => ns,
        (e: any) => (e.code === 404 ? undefined : Promise.reject(e)),
      );
    /** The namespace as its real owner left it: no kubechart label, its ConfigMap, no deployer. */
    const expectUntouched = async (name: string) => {
      const ns = await readNamespace(name);
      expect(ns?.status?.phase).toBe('Active');
      expect(ns?.metadata?.labels?.['kubechart.io/tenant']).toBeUndefined();
      expect(ns?.metadata?.annotations?.['kubechart.io/owner']).toBeUndefined();
      const maps = await core.listNamespacedConfigMap({ namespace: name });
      expect(maps.items.map(m => m.metadata?.name)).toContain('team-settings');
      const bindings = await rbac.listNamespacedRoleBinding({
        namespace: name,
      });
      expect(bindings.items).toEqual([]);
    };
    /** A namespace created outside KubeChart, holding its team's ConfigMap. */
    const createForeignNamespace = async (name: string) => {
      await core.createNamespace({
        body: { metadata: { name, labels: { team: 'rival' } } },
      });
      await core.createNamespacedConfigMap({
        namespace: name,
        body: {
          metadata: { name: 'team-settings' },
          data: { color: 'blue' },
        },
      });
    };

    beforeAll(async () => {
      sim = await startSim();
      const config = testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: {
            namespaces: {
              'tenant-legacy': { owner: RIVAL },
              'tenant-billing': { owner: RIVAL },
            },
          },
        },
      });
      const kc = simKubeConfig(sim);
      core = kc.makeApiClient(CoreV1Api);
      rbac = kc.makeApiClient(RbacAuthorizationV1Api);
      for (const name of ['tenant-legacy', 'tenant-billing', 'tenant-stray'])
        await createForeignNamespace(name);
      const backend = await startKubechartBackend({
        config,
        knex: await databases.init(databaseId),
        features: [permissions, userInfo],
      });
      server = backend.server;
      stop = () => backend.stop();
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    it('refuses a tenant run on a namespace the platform assigned to another owner with 403, and leaves it as it was', async () => {
      const refused = await post(ALICE, tenantRun('legacy', { owner: ACME }));
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `Namespace tenant-legacy on cluster dev is assigned to ${RIVAL} in kubechart.clusters.dev.namespaces; a tenant run there needs membership of that owner or the kubechart.tenants.admin permission`,
      );
      expect(await runsOf('legacy')).toEqual([]);
      await expectUntouched('tenant-legacy');
    });

    it('refuses deleting such a namespace as a tenant with 403, and it stays', async () => {
      const refused = await post(ALICE, deleteRun('billing'));
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toContain(
        `Namespace tenant-billing on cluster dev is assigned to ${RIVAL}`,
      );
      expect(await runsOf('billing')).toEqual([]);
      await expectUntouched('tenant-billing');
    });

    it('refuses deleting a tenant that does not exist with 404, whatever namespace has its name', async () => {
      const refused = await post(ALICE, deleteRun('stray'));
      expect(refused.status).toBe(404);
      expect(refused.body.error.message).toBe(
        'Tenant stray does not exist on cluster dev; there is nothing to delete (a tenant-delete run deletes only namespaces of live KubeChart tenants)',
      );
      expect(await runsOf('stray')).toEqual([]);
      await expectUntouched('tenant-stray');
      // Its owner in the platform's config may not delete it as a tenant either.
      const owner = await post(RAY, deleteRun('billing'));
      expect(owner.status).toBe(404);
      await expectUntouched('tenant-billing');
    });

    it('fails a tenant run on a namespace KubeChart did not create, changes nothing and gives the caller no scope there', async () => {
      const accepted = await post(ALICE, tenantRun('stray', { owner: ACME }));
      expect(accepted.status).toBe(202);
      const run = await finished(accepted.body.id);
      expect(run.status).toBe('failed');
      expect(run.failureReason).toBe(
        'Namespace tenant-stray on cluster dev exists and was not created by KubeChart for tenant stray (it has no kubechart.io/tenant label); nothing was changed. ' +
          'Choose another tenant code, or, if KubeChart is to manage this namespace as tenant stray, ' +
          'a cluster admin labels it kubechart.io/tenant=stray and the tenant run is submitted again.',
      );
      await expectUntouched('tenant-stray');
      // The refused run left no live tenant: Alice cannot deploy into the namespace through it.
      expect(
        (
          await request(server)
            .get('/api/kubechart/tenants/stray')
            .set('Authorization', as(ADMIN))
        ).status,
      ).toBe(404);
      const manifests = await post(ALICE, {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'tenant-stray',
        manifests:
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\ndata: { a: b }\n',
      });
      expect(manifests.status).toBe(403);
      await expectUntouched('tenant-stray');
      // A member of the namespace's assigned owner passes the scope check, and is refused the same way.
      const byOwner = await post(RAY, tenantRun('legacy', { owner: RIVAL }));
      expect(byOwner.status).toBe(202);
      expect((await finished(byOwner.body.id)).failureReason).toContain(
        'Namespace tenant-legacy on cluster dev exists and was not created by KubeChart for tenant legacy',
      );
      await expectUntouched('tenant-legacy');
    });

    it('takes a namespace over once a cluster admin labelled it for the tenant', async () => {
      const labelled = (await readNamespace('tenant-stray'))!;
      labelled.metadata!.labels = {
        ...labelled.metadata!.labels,
        'kubechart.io/tenant': 'stray',
      };
      await core.replaceNamespace({ name: 'tenant-stray', body: labelled });
      const accepted = await post(ALICE, tenantRun('stray', { owner: ACME }));
      expect(accepted.status).toBe(202);
      expect(await finished(accepted.body.id)).toMatchObject({
        status: 'succeeded',
      });
      const ns = await readNamespace('tenant-stray');
      expect(ns?.metadata?.annotations?.['kubechart.io/owner']).toBe(ACME);
      expect(
        (await core.listNamespacedConfigMap({ namespace: 'tenant-stray' }))
          .items,
      ).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            metadata: expect.objectContaining({ name: 'team-settings' }),
          }),
        ]),
      );
    });

    it("annotates a tenant's namespace with its owner, follows a move, and deletes it with the tenant", async () => {
      const created = await post(ALICE, tenantRun('shop', { owner: ACME }));
      expect(created.status).toBe(202);
      expect((await finished(created.body.id)).status).toBe('succeeded');
      const ns = await readNamespace('tenant-shop');
      expect(ns?.metadata?.labels?.['kubechart.io/tenant']).toBe('shop');
      expect(ns?.metadata?.annotations?.['kubechart.io/owner']).toBe(ACME);
      const moved = await post(ADMIN, tenantRun('shop', { owner: RIVAL }));
      expect(moved.status).toBe(202);
      expect((await finished(moved.body.id)).status).toBe('succeeded');
      expect(
        (await readNamespace('tenant-shop'))?.metadata?.annotations?.[
          'kubechart.io/owner'
        ],
      ).toBe(RIVAL);
      // Its new owner deletes it: a tenant's own namespace is deleted as before.
      const deleted = await post(RAY, deleteRun('shop'));
      expect(deleted.status).toBe(202);
      expect((await finished(deleted.body.id)).status).toBe('succeeded');
      expect(await readNamespace('tenant-shop')).toBeUndefined();
    });
  },
);
