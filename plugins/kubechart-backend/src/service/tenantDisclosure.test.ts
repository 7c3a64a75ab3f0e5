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
import { CoreV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { NewTenantRecord } from '../database/RunStore';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';
import { userInfoWithGroups } from '../__testUtils__/tenantCallers';

jest.setTimeout(180_000);

const ADMIN = 'user:default/admin';
const BOB = 'user:default/bob';
const MALLORY = 'user:default/mallory';
const CAROL = 'user:default/carol';
const RIVAL = 'group:default/rival-team';
const OPS = 'group:default/ops-team';
/** What each user owns, as a catalog IS_ENTITY_OWNER condition would decide it; absent users are denied `tenants.read`. */
const OWNS: Record<string, string[]> = {
  [BOB]: [],
  // Carol may read tenant rival (its entity is hers) without acting for its owner.
  [CAROL]: ['component:default/rival'],
};
const ADMIN_ONLY = new Set([
  'kubechart.tenants.admin',
  'kubechart.runs.cluster-scoped',
]);

/**
 * A permission service deciding like the example policy: `admin` ALLOW (but no tenants admin:
 * the refusals below stay refusals for it); for `kubechart.tenants.read` a catalog condition
 * (owners only) for bob and carol, DENY for mallory; everything else allowed.
 */
const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const decide = (r: any, c?: BackstageCredentials, conditional = false) => {
      const u = (c?.principal as any)?.userEntityRef as string | undefined;
      const name = r.permission?.name;
      if (ADMIN_ONLY.has(name)) return { result: AuthorizeResult.DENY };
      if (u === ADMIN) return { result: AuthorizeResult.ALLOW };
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
      return { result: AuthorizeResult.ALLOW };
    };
    return {
      authorize: async (requests: any[], o?: any) =>
        requests.map(r => decide(r, o?.credentials)),
      authorizeConditional: async (requests: any[], o?: any) =>
        requests.map(r => decide(r, o?.credentials, true)),
    } as any;
  },
});

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** What an answer says beyond the namespace the request itself named. */
const beyondNamespace = (message: string) =>
  message.replaceAll('tenant-rival', '<namespace>');

/**
 * A refusal names another owner's tenant, and that owner, only to a caller who may read that
 * tenant; a namespace's assigned owner only to a caller who may read every tenant. Everyone else
 * learns that the namespace is not theirs, or that the tenant code is taken, and nothing more.
 */
describe.each(databases.eachSupportedId())(
  "refusals and another team's tenant, on %p",
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let actions: ActionsService;
    let stop: () => Promise<void>;
    let store: DatabaseRunStore;
    let core: CoreV1Api;

    const as = (who: string) => mockCredentials.user.header(who);
    const post = (who: string, path: string, body: object) =>
      request(server)
        .post(`/api/kubechart${path}`)
        .set('Authorization', as(who))
        .send(body);
    const get = (who: string, path: string) =>
      request(server)
        .get(`/api/kubechart${path}`)
        .set('Authorization', as(who));
    const intoRival = {
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-rival',
      manifests:
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n',
    };
    const intoOps = { ...intoRival, namespace: 'ops-ns' };
    const createRival = {
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'rival',
      releases: [],
    };
    const deleteRival = {
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: 'rival',
    };
    const tenantRun = (code: string) => ({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      releases: [],
    });
    const configMapInto = (namespace: string, name: string) => ({
      kind: 'manifests',
      cluster: 'dev',
      namespace,
      manifests: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { a: b }\n`,
    });
    const finished = async (id: string) => {
      for (let i = 0; i < 600; i++) {
        const run = (await get(ADMIN, `/runs/${id}`)).body;
        if (run.status === 'succeeded' || run.status === 'failed') return run;
        await new Promise(r => setTimeout(r, 100));
      }
      throw new Error(`run ${id} did not finish`);
    };
    /** A tenant of `who`, provisioned by its own tenant run. */
    const provisioned = async (who: string, code: string) => {
      const started = await post(who, '/runs', tenantRun(code));
      expect(started.status).toBe(202);
      expect((await finished(started.body.id)).status).toBe('succeeded');
    };
    /** Labels a namespace (created when absent) for tenant `label`, as a cluster admin would. */
    const labelNamespace = async (name: string, label: string) => {
      const ns = await core.readNamespace({ name }).catch(() => undefined);
      if (!ns) {
        await core.createNamespace({
          body: {
            metadata: { name, labels: { 'kubechart.io/tenant': label } },
          },
        });
        return;
      }
      ns.metadata!.labels = {
        ...ns.metadata!.labels,
        'kubechart.io/tenant': label,
      };
      await core.replaceNamespace({ name, body: ns });
    };
    /** A ConfigMap someone else put into `namespace`, labelled for tenant `label`. */
    const labelledConfigMap = (
      namespace: string,
      name: string,
      label: string,
    ) =>
      core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: { name, labels: { 'kubechart.io/tenant': label } },
          data: { a: 'z' },
        },
      });
    /** The run, its events and its policy report, as its requester reads them. */
    const seenBy = async (who: string, id: string) =>
      JSON.stringify([
        (await get(who, `/runs/${id}`)).body,
        (await get(who, `/runs/${id}/events`)).body,
      ]);
    /** A protected tenant of `owner` (recorded as a tenant run would leave it), later moved. */
    const prodTenant = (code: string, owner: string): NewTenantRecord => ({
      cluster: 'dev',
      code,
      namespace: `tenant-${code}`,
      owner,
      status: 'active',
      releases: [],
    });
    /**
     * `who` asks for a manifests run into its protected tenant `code`; carol approves it; the tenant
     * moves to rival-team; `who` submits the approved input again. Resolves that answer.
     */
    const approvedAfterMove = async (who: string, code: string) => {
      await store.upsertTenant(prodTenant(code, who));
      const body = configMapInto(`tenant-${code}`, 'approved');
      const asked = await post(who, '/runs', body);
      expect(asked.status).toBe(202);
      const approved = await post(CAROL, `/runs/${asked.body.id}/approve`, {
        comment: 'ok',
      });
      expect(approved.body.approval).toMatchObject({ state: 'approved' });
      await store.upsertTenant({
        ...prodTenant(code, RIVAL),
        entityRef: 'component:default/rival',
      });
      return {
        id: asked.body.id as string,
        answer: await post(who, `/runs/${asked.body.id}/execute`, body),
      };
    };

    beforeAll(async () => {
      sim = await startSim({ nodes: 1 });
      const config: any = testConfig(sim, {
        clusters: { dev: { namespaces: { 'ops-ns': { owner: OPS } } } },
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*'],
              approvers: ['owner', CAROL],
            },
          ],
        },
      });
      core = simKubeConfig(sim).makeApiClient(CoreV1Api);
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
          userInfoWithGroups({}),
          probe,
          actionsRegistryServiceFactory,
          actionsServiceFactory,
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
      store = new DatabaseRunStore(knex);
      await store.upsertTenant({
        cluster: 'dev',
        code: 'rival',
        namespace: 'tenant-rival',
        entityRef: 'component:default/rival',
        owner: RIVAL,
        status: 'active',
        releases: [],
      });
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    describe.each([
      ['who owns no tenant', BOB, 'bob'],
      ['who may read no tenant', MALLORY, 'mallory'],
    ])('to a caller %s', (_what, who, short) => {
      it('refuses a run into the namespace of a tenant it may not read without naming the tenant or its owner', async () => {
        const res = await post(who, '/runs', intoRival);
        expect(res.status).toBe(403);
        expect(res.body.error.message).toBe(
          'Namespace tenant-rival on cluster dev is not one you may deploy to; runs there need membership of its owner',
        );
        expect(beyondNamespace(res.body.error.message)).not.toContain('rival');
      });

      it('refuses a run into a namespace the platform assigned to another owner without naming that owner', async () => {
        const res = await post(who, '/runs', intoOps);
        expect(res.status).toBe(403);
        expect(res.body.error.message).toBe(
          'Namespace ops-ns on cluster dev is not one you may deploy to; runs there need membership of its owner',
        );
      });

      it('answers a tenant run on a taken tenant code with 409, without its owner, in the run and its preview', async () => {
        for (const path of ['/runs', '/runs/preview']) {
          const created = await post(who, path, createRival);
          expect(created.status).toBe(409);
          expect(created.body.error.message).toBe(
            'tenant rival exists and is owned by someone you do not act for',
          );
          const deleted = await post(who, path, deleteRival);
          expect(deleted.status).toBe(409);
          expect(deleted.body.error.message).toBe(
            'tenant rival exists and is owned by someone you do not act for',
          );
        }
      });

      it('gives the MCP tool the same answer', async () => {
        const err = await actions
          .invoke({
            id: 'kubechart:provision-tenant',
            input: { cluster: 'dev', tenant: 'rival', releases: [] },
            credentials: mockCredentials.user(who),
          })
          .then(
            () => undefined,
            e => e,
          );
        expect(err?.statusCode).toBe(409);
        expect(err.body.error.message).toBe(
          'tenant rival exists and is owned by someone you do not act for',
        );
      });

      it('answers a tenant it may not read as one that does not exist', async () => {
        for (const suffix of ['', '/health']) {
          const rival = await get(who, `/tenants/rival${suffix}`);
          const nope = await get(who, `/tenants/nope${suffix}`);
          expect(rival.status).toBe(nope.status);
          expect(rival.body.error.message.replace('rival', 'nope')).toBe(
            nope.body.error.message,
          );
          expect(rival.body.error.message).not.toContain(RIVAL);
        }
      });

      it('fails a tenant run on a namespace labelled for a tenant it may not read without naming that tenant', async () => {
        const code = `${short}-taken`;
        await labelNamespace(`tenant-${code}`, 'rival');
        const started = await post(who, '/runs', tenantRun(code));
        expect(started.status).toBe(202);
        const run = await finished(started.body.id);
        expect(run.failureReason).toBe(
          `Namespace tenant-${code} on cluster dev exists and was not created by KubeChart for tenant ${code} ` +
            `(it is labelled kubechart.io/tenant for another tenant); nothing was changed. Choose another tenant code, ` +
            `or, if KubeChart is to manage this namespace as tenant ${code}, a cluster admin labels it ` +
            `kubechart.io/tenant=${code} and the tenant run is submitted again.`,
        );
        expect(await seenBy(who, run.id)).not.toContain('rival');
      });

      it('fails deleting its tenant whose namespace was labelled for a tenant it may not read without naming that tenant', async () => {
        const code = `${short}-gone`;
        await provisioned(who, code);
        await labelNamespace(`tenant-${code}`, 'rival');
        const started = await post(who, '/runs', {
          kind: 'tenant-delete',
          cluster: 'dev',
          tenant: code,
        });
        expect(started.status).toBe(202);
        const run = await finished(started.body.id);
        expect(run.failureReason).toContain(
          `Namespace tenant-${code} on cluster dev exists and was not created by KubeChart for tenant ${code} ` +
            `(it is labelled kubechart.io/tenant for another tenant); nothing was deleted.`,
        );
        expect(await seenBy(who, run.id)).not.toContain('rival');
      });

      it('refuses a manifests run over an object labelled for a tenant it may not read without naming that tenant', async () => {
        const code = `${short}-own`;
        await provisioned(who, code);
        await labelledConfigMap(`tenant-${code}`, 'shared', 'rival');
        const started = await post(
          who,
          '/runs',
          configMapInto(`tenant-${code}`, 'shared'),
        );
        expect(started.status).toBe(202);
        const run = await finished(started.body.id);
        expect(run.status).toBe('failed');
        expect(
          run.policyReport.results.find(
            (r: any) => r.ruleId === 'object-ownership',
          ),
        ).toMatchObject({
          passed: false,
          message:
            'ConfigMap/shared already exists and it belongs to another tenant; a forced apply would take it over',
        });
        expect(await seenBy(who, run.id)).not.toContain('rival');
      });

      it('ends an approved run whose tenant moved to an owner it may not read without naming that owner', async () => {
        const code = `prod-${short}`;
        const { id, answer } = await approvedAfterMove(who, code);
        const reason = `Tenant ${code} on cluster dev changed after this run was requested: it was owned by ${who}, and is now owned by another owner; nothing was applied. Submit the run again for a new approval.`;
        expect(answer.status).toBe(409);
        expect(answer.body.error.message).toBe(reason);
        const run = await finished(id);
        expect(run.failureReason).toBe(reason);
        expect(await seenBy(who, id)).not.toContain('rival');
      });
    });

    it('names the tenant and its owner to a caller who may read the tenant', async () => {
      const into = await post(CAROL, '/runs', intoRival);
      expect(into.status).toBe(403);
      expect(into.body.error.message).toBe(
        `Namespace tenant-rival on cluster dev belongs to tenant rival, owned by ${RIVAL}; runs there need membership of that owner`,
      );
      const created = await post(CAROL, '/runs', createRival);
      expect(created.status).toBe(409);
      expect(created.body.error.message).toBe(
        `tenant rival exists and is owned by ${RIVAL}`,
      );
      expect((await get(CAROL, '/tenants/rival')).status).toBe(200);
      // A namespace assigned in config: its owner only to who may read every tenant.
      expect((await post(CAROL, '/runs', intoOps)).body.error.message).toBe(
        'Namespace ops-ns on cluster dev is not one you may deploy to; runs there need membership of its owner',
      );
    });

    it('names the owner of an assigned namespace to a caller who may read every tenant', async () => {
      const res = await post(ADMIN, '/runs', intoOps);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(
        `Namespace ops-ns on cluster dev is assigned to ${OPS}; runs there need membership of that owner`,
      );
    });

    it('names the tenant a namespace or an object is labelled for to a caller who may read that tenant', async () => {
      for (const [who, short] of [
        [CAROL, 'carol'],
        [ADMIN, 'admin'],
      ]) {
        const taken = `${short}-taken`;
        await labelNamespace(`tenant-${taken}`, 'rival');
        const started = await post(who, '/runs', tenantRun(taken));
        expect((await finished(started.body.id)).failureReason).toContain(
          `(it is labelled kubechart.io/tenant=rival); nothing was changed.`,
        );
        const own = `${short}-own`;
        await provisioned(who, own);
        await labelledConfigMap(`tenant-${own}`, 'shared', 'rival');
        const applied = await post(
          who,
          '/runs',
          configMapInto(`tenant-${own}`, 'shared'),
        );
        const run = await finished(applied.body.id);
        expect(
          run.policyReport.results.find(
            (r: any) => r.ruleId === 'object-ownership',
          )?.message,
        ).toBe(
          'ConfigMap/shared already exists and it belongs to tenant rival; a forced apply would take it over',
        );
      }
    });

    it("names the owner an approved run's tenant moved to, to a caller who may read that tenant", async () => {
      const { answer } = await approvedAfterMove(ADMIN, 'prod-admin');
      expect(answer.status).toBe(409);
      expect(answer.body.error.message).toBe(
        `Tenant prod-admin on cluster dev changed after this run was requested: it was owned by ${ADMIN}, and is now owned by ${RIVAL}; nothing was applied. Submit the run again for a new approval.`,
      );
    });
  },
);
