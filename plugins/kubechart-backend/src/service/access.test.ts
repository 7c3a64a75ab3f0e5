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
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import {
  CapturedAuditEvent,
  capturingAuditor,
  serviceHeader,
} from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ADMIN = 'user:default/admin';
const DENIED = 'user:default/denied';
/** What each user owns, as a catalog IS_ENTITY_OWNER condition would decide it. */
const OWNS: Record<string, string[]> = {
  [ALICE]: ['component:default/a'],
  [BOB]: ['component:default/b', 'component:default/b2'],
};

/** Actors recording runs below, each given namespaces `<slug>-1` … `<slug>-10` by the platform. */
const ACTORS = {
  jane: 'user:default/jane',
  'ci-bot': 'service:external:ci-bot',
  alice: ALICE,
};
/** `kubechart.clusters.dev.namespaces`: the actors' namespaces, and those entities a and b deploy to. */
const ASSIGNED: Record<string, { owner: string }> = Object.fromEntries([
  ...Object.entries(ACTORS).flatMap(([slug, owner]) =>
    Array.from({ length: 10 }, (_, i) => [`${slug}-${i + 1}`, { owner }]),
  ),
  ...['alice-a', 'alice-a2'].map(n => [n, { owner: ALICE }]),
  ...['bob-b', 'bob-b2'].map(n => [n, { owner: BOB }]),
]);
/** A catalog component owned by `owner` that may deploy to two namespaces. */
const entity = (name: string, owner: string, ns: string, ns2: string) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: {
      'kubechart.io/namespace': ns,
      'backstage.io/kubernetes-namespace': ns2,
    },
  },
  spec: { type: 'service', lifecycle: 'production', owner },
});

/**
 * A permission service deciding like the example policy: admins ALLOW, `denied` DENY, everyone
 * else a catalog condition on the entity (owners only) for kubechart's entity-scoped reads.
 */
const rolePermissions = createServiceFactory({
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
        return requests.map(() => {
          if (u === ADMIN) return { result: AuthorizeResult.ALLOW };
          if (u === DENIED) return { result: AuthorizeResult.DENY };
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
        });
      },
      async authorize(
        requests: any[],
        options?: { credentials: BackstageCredentials },
      ) {
        const u = user(options?.credentials);
        return requests.map(r => {
          if (!r.resourceRef)
            return {
              result:
                u === DENIED ? AuthorizeResult.DENY : AuthorizeResult.ALLOW,
            };
          if (u === ADMIN) return { result: AuthorizeResult.ALLOW };
          return {
            result:
              u && OWNS[u]?.includes(r.resourceRef)
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
  'kubechart identity, read scope and audit on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    const audit: CapturedAuditEvent[] = [];
    const as = (who: string) => mockCredentials.user.header(who);
    /** A GET request signed in as `who`. */
    const getAs = (who: string, path: string) =>
      request(server).get(path).set('Authorization', as(who));

    beforeAll(async () => {
      sim = await startSim();
      const base = testConfig(sim, {
        health: { startOnBoot: false },
        onBehalfOf: { allowedServices: ['plugin:scaffolder'] },
        clusters: { dev: { namespaces: ASSIGNED } },
      });
      // A second cluster (the same simulated API server): a tenant code can exist on both.
      const [dev] = base.kubernetes.clusterLocatorMethods[0].clusters;
      // (Named by another host: the same URL under two names is refused at start-up.)
      base.kubernetes.clusterLocatorMethods[0].clusters.push({
        ...dev,
        name: 'dev2',
        url: dev.url.replace('127.0.0.1', 'localhost'),
      });
      base.kubechart.limits = {
        runsPerUserPerMinute: 1,
        runsPerUserAtOnce: 100,
        maxTenants: 20,
      };
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data: base }),
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          rolePermissions,
          catalogServiceMock.factory({
            entities: [
              entity('a', ALICE, 'alice-a', 'alice-a2'),
              entity('b', BOB, 'bob-b', 'bob-b2'),
              entity('b2', BOB, 'bob-b', 'bob-b2'),
            ],
          }),
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
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    const recorded: Record<string, number> = {};
    /**
     * Records a run in `namespace`, or in the next namespace the platform gave `slug`'s actor (each on
     * a namespace of its own: a recorded run holds its target's lock until it finishes).
     */
    const record = (
      auth: string,
      body: Record<string, unknown>,
      where: { slug: keyof typeof ACTORS } | { namespace: string },
    ) =>
      request(server)
        .post('/api/kubechart/runs/record')
        .set('Authorization', auth)
        .send({
          kind: 'custom',
          action: 'acme:thing:make',
          target: {
            cluster: 'dev',
            namespace:
              'namespace' in where
                ? where.namespace
                : `${where.slug}-${(recorded[where.slug] =
                    (recorded[where.slug] ?? 0) + 1)}`,
          },
          ...body,
        });
    const actorOf = async (id: string) =>
      (await getAs(ADMIN, `/api/kubechart/runs/${id}`)).body.actor;

    describe('onBehalfOf', () => {
      it('is honoured from the scaffolder only; from any other principal it is refused and nothing is recorded', async () => {
        const fromScaffolder = await record(
          serviceHeader('plugin:scaffolder'),
          { onBehalfOf: 'user:default/jane' },
          { slug: 'jane' },
        );
        expect(fromScaffolder.status).toBe(201);
        expect(await actorOf(fromScaffolder.body.id)).toBe('user:default/jane');

        const listed = async () =>
          (await getAs(ADMIN, '/api/kubechart/runs?limit=200')).body.items
            .length;
        const before = await listed();
        const fromOther = await record(
          serviceHeader('external:ci-bot'),
          { onBehalfOf: 'user:default/ceo' },
          { namespace: 'ci-bot-10' },
        );
        expect(fromOther.status).toBe(403);
        expect(fromOther.body.error.message).toBe(
          "service:external:ci-bot may not act on behalf of user:default/ceo: onBehalfOf is honoured only from the services listed in kubechart.onBehalfOf.allowedServices; nothing was done. Call without onBehalfOf to act as service:external:ci-bot (with only what service:external:ci-bot owns), or with the user's own token",
        );
        expect(audit).toContainEqual(
          expect.objectContaining({
            eventId: 'run-record',
            status: 'failed',
            meta: expect.objectContaining({
              actor: 'service:external:ci-bot',
              outcome: 'refused',
              onBehalfOf: 'user:default/ceo',
            }),
          }),
        );
        // Without onBehalfOf it records as itself.
        const asItself = await record(
          serviceHeader('external:ci-bot'),
          {},
          { slug: 'ci-bot' },
        );
        expect(asItself.status).toBe(201);
        expect(await actorOf(asItself.body.id)).toBe('service:external:ci-bot');

        const fromUser = await record(
          as(ALICE),
          { onBehalfOf: 'user:default/ceo' },
          { namespace: 'alice-10' },
        );
        expect(fromUser.status).toBe(403);
        expect(fromUser.body.error.message).toContain(
          `${ALICE} may not act on behalf of user:default/ceo`,
        );
        expect(await listed()).toBe(before + 1);
      });

      it('must name a user', async () => {
        const r = await record(
          serviceHeader('plugin:scaffolder'),
          { onBehalfOf: 'group:default/admins' },
          { slug: 'jane' },
        );
        expect(r.status).toBe(400);
        expect(r.body.error.message).toContain('expected a user entity ref');
      });

      it('keys the rate limit on the effective user', async () => {
        const tenant = (code: string, onBehalfOf: string) => ({
          kind: 'tenant',
          cluster: 'dev',
          tenant: code,
          releases: [],
          onBehalfOf,
        });
        const post = (auth: string, body: object) =>
          request(server)
            .post('/api/kubechart/runs')
            .set('Authorization', auth)
            .send(body);
        const scaffolder = serviceHeader('plugin:scaffolder');
        expect(
          (await post(scaffolder, tenant('rl-a', 'user:default/carol'))).status,
        ).toBe(202);
        const second = await post(
          scaffolder,
          tenant('rl-b', 'user:default/carol'),
        );
        expect(second.status).toBe(429);
        expect(second.body.error.message).toContain(
          'user:default/carol started 1 runs in the last minute',
        );
        // Same service token, another user: a budget of its own.
        expect(
          (await post(scaffolder, tenant('rl-c', 'user:default/dave'))).status,
        ).toBe(202);
        // Another service cannot spend carol's budget (refused: it may not relay), nor escape its own.
        const relayed = await post(
          serviceHeader('external:deployer'),
          tenant('rl-d', 'user:default/carol'),
        );
        expect(relayed.status).toBe(403);
        const { onBehalfOf: _none, ...own } = tenant('rl-d', '');
        expect(
          (await post(serviceHeader('external:deployer'), own)).status,
        ).toBe(202);
        const again = await post(serviceHeader('external:deployer'), {
          ...own,
          tenant: 'rl-e',
        });
        expect(again.status).toBe(429);
        expect(again.body.error.message).toContain(
          'service:external:deployer started 1 runs',
        );
      });
    });

    describe('read scope', () => {
      const ids: Record<string, string> = {};
      beforeAll(async () => {
        ids.a = (
          await record(
            as(ALICE),
            { entityRef: 'component:default/a' },
            { namespace: 'alice-a' },
          )
        ).body.id;
        ids.b = (
          await record(
            as(BOB),
            { entityRef: 'component:default/b' },
            { namespace: 'bob-b' },
          )
        ).body.id;
        ids.aliceLoose = (
          await record(as(ALICE), {}, { slug: 'alice' })
        ).body.id;
      });

      it('records the runs read below', () => {
        expect(Object.values(ids)).toEqual([
          expect.any(String),
          expect.any(String),
          expect.any(String),
        ]);
      });
      const listed = async (who: string) =>
        (
          await getAs(who, '/api/kubechart/runs?kind=custom&limit=200')
        ).body.items.map((r: any) => r.id);

      it('lets an admin read every run', async () => {
        expect(await listed(ADMIN)).toEqual(
          expect.arrayContaining([ids.a, ids.b, ids.aliceLoose]),
        );
        expect(
          (await getAs(ADMIN, `/api/kubechart/runs/${ids.b}`)).status,
        ).toBe(200);
      });

      it("lets an owner read their entities' runs and their own runs without an entity, nothing else", async () => {
        const seen = await listed(ALICE);
        expect(seen).toEqual(expect.arrayContaining([ids.a, ids.aliceLoose]));
        expect(seen).not.toContain(ids.b);
        expect(
          (await getAs(ALICE, `/api/kubechart/runs/${ids.a}`)).status,
        ).toBe(200);
        for (const path of [
          `/runs/${ids.b}`,
          `/runs/${ids.b}/events`,
          `/runs/${ids.a}/diff/${ids.b}`,
        ]) {
          // As a run that does not exist: a 403 would say it does, and name its entity.
          const r = await getAs(ALICE, `/api/kubechart${path}`);
          expect({
            path,
            status: r.status,
            message: r.body.error?.message,
          }).toEqual({
            path,
            status: 404,
            message: `Run ${ids.b} not found`,
          });
        }
        expect(await listed(BOB)).toEqual(expect.arrayContaining([ids.b]));
        expect(await listed(BOB)).not.toEqual(expect.arrayContaining([ids.a]));
      });

      it("lists an owner's newest failures in the metrics summary, however many newer failures are others'", async () => {
        // Each finishes before the next: they share the entity's second namespace.
        const fail = async (who: string, entityRef: string) => {
          const namespace = who === ALICE ? 'alice-a2' : 'bob-b2';
          const id = (await record(as(who), { entityRef }, { namespace })).body
            .id;
          const finished = await request(server)
            .post(`/api/kubechart/runs/${id}/finish`)
            .set('Authorization', as(who))
            .send({ status: 'failed', failureReason: `failed for ${who}` });
          expect(finished.status).toBe(204);
          return id;
        };
        const alices = await fail(ALICE, 'component:default/a');
        // ten newer failures, all bob's: the platform's newest ten
        const bobs: string[] = [];
        for (let i = 0; i < 10; i++)
          bobs.push(await fail(BOB, 'component:default/b'));
        const failures = async (who: string) =>
          (
            await getAs(who, '/api/kubechart/metrics/summary')
          ).body.recentFailures.map((f: any) => f.id);
        expect(await failures(ALICE)).toEqual([alices]);
        // runs recorded within one millisecond have no order between them
        expect((await failures(BOB)).sort()).toEqual([...bobs].sort());
        expect((await failures(ADMIN)).sort()).toEqual([...bobs].sort());
      });

      it("refuses to record a run for another owner's entity or in another owner's namespace, and records nothing", async () => {
        const before = (await listed(ADMIN)).length;
        const intoEntity = await record(
          as(BOB),
          { entityRef: 'component:default/a' },
          { namespace: 'alice-a2' },
        );
        expect(intoEntity.status).toBe(403);
        expect(intoEntity.body.error.message).toBe(
          `A run for component:default/a may deploy only where that entity may deploy; component:default/a is owned by ${ALICE} and ${BOB} is not a member of it`,
        );
        // bob's own entity, alice's namespace
        const intoNamespace = await record(
          as(BOB),
          { entityRef: 'component:default/b' },
          { namespace: 'alice-a2' },
        );
        expect(intoNamespace.status).toBe(403);
        const noEntity = await record(as(BOB), {}, { namespace: 'alice-a2' });
        expect(noEntity.status).toBe(403);
        // Bob may not read every tenant: whom the platform assigned the namespace to is not named.
        expect(noEntity.body.error.message).toBe(
          'Namespace alice-a2 on cluster dev is not one you may deploy to; runs there need membership of its owner',
        );
        expect(await listed(ADMIN)).toHaveLength(before);
        expect(audit).toContainEqual(
          expect.objectContaining({
            eventId: 'run-record',
            status: 'failed',
            meta: expect.objectContaining({
              actor: BOB,
              namespace: 'alice-a2',
              requestedEntityRef: 'component:default/a',
            }),
          }),
        );
      });

      it('refuses a reader the policy denies', async () => {
        expect((await getAs(DENIED, '/api/kubechart/runs')).status).toBe(403);
        expect(
          (await getAs(DENIED, `/api/kubechart/runs/${ids.a}`)).status,
        ).toBe(403);
      });

      /**
       * Starts a tenant run owned by `owner` for `entityRef`, as a platform service acting as itself
       * (a tenants admin, as Backstage makes every service; one service per call, each with a run
       * budget of its own). A user the scaffolder acts for could not: the entity is not theirs.
       */
      const mk = async (
        code: string,
        owner: string,
        entityRef: string,
        cluster = 'dev',
      ) => {
        const r = await request(server)
          .post('/api/kubechart/runs')
          // A tenants admin (one a run, for the rate limit): a service acting as itself holds
          // kubechart.tenants.admin only when its token names it.
          .set(
            'Authorization',
            mockCredentials.user.header(`user:default/ops-${code}-${cluster}`),
          )
          .send({
            kind: 'tenant',
            cluster,
            tenant: code,
            entityRef,
            releases: [],
            owner,
          });
        expect(r.status).toBe(202);
        return r.body.id as string;
      };
      let aliceRun: string;
      it('scopes tenants to their entity owners', async () => {
        aliceRun = await mk(
          'scope-a',
          'user:default/frank',
          'component:default/a',
        );
        await mk('scope-b', 'user:default/gina', 'component:default/b');
        const codes = async (who: string) =>
          (await getAs(who, '/api/kubechart/tenants')).body.items.map(
            (t: any) => t.code,
          );
        expect(await codes(ADMIN)).toEqual(
          expect.arrayContaining(['scope-a', 'scope-b']),
        );
        expect(await codes(ALICE)).toContain('scope-a');
        expect(await codes(ALICE)).not.toContain('scope-b');
        // Another owner's tenant is answered as one that does not exist.
        expect(
          (await getAs(ALICE, '/api/kubechart/tenants/scope-b')).status,
        ).toBe(404);
        expect(
          (await getAs(ALICE, '/api/kubechart/tenants/scope-a')).status,
        ).toBe(200);
        expect((await getAs(DENIED, '/api/kubechart/tenants')).status).toBe(
          403,
        );
      });

      it("shows a tenant's recent runs only from the clusters where the caller may read that tenant", async () => {
        // The same code on another cluster, for another of bob's entities (component:default/b is
        // tenant scope-b's, owned by gina: a tenant of another owner may not name it too).
        const bobRun = await mk(
          'scope-a',
          'user:default/hank',
          'component:default/b2',
          'dev2',
        );
        const recent = async (who: string) => {
          for (let i = 0; i < 100; i++) {
            const r = await getAs(who, '/api/kubechart/tenants/scope-a');
            if (r.status === 200 && r.body.recentRuns.length)
              return r.body.recentRuns.map((x: any) => x.id);
            await new Promise(res => setTimeout(res, 100));
          }
          throw new Error(`${who} never read tenant scope-a`);
        };
        expect(await recent(BOB)).toEqual([bobRun]);
        expect(await recent(ALICE)).toEqual([aliceRun]);
        expect((await recent(ADMIN)).sort()).toEqual([aliceRun, bobRun].sort());
      });

      it('counts in the metrics summary only the runs and tenants the caller may read, and says so', async () => {
        const kindsListed = async (who: string) => {
          const page = (await getAs(who, '/api/kubechart/runs?limit=200')).body;
          expect(page.nextCursor).toBeUndefined();
          const kinds: Record<string, number> = {};
          for (const r of page.items) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
          return kinds;
        };
        const tenantsListed = async (who: string) =>
          (await getAs(who, '/api/kubechart/tenants')).body.items.length;
        const summary = async (who: string) => {
          const r = await getAs(who, '/api/kubechart/metrics/summary');
          expect(r.status).toBe(200);
          return r.body;
        };
        const sum = (counts: Record<string, number>) =>
          Object.values(counts).reduce((a, b) => a + b, 0);

        const alice = await summary(ALICE);
        const admin = await summary(ADMIN);
        expect(alice.scope).toBe('readable');
        expect(admin.scope).toBe('platform');
        expect(alice.runs.byKind).toEqual(await kindsListed(ALICE));
        expect(sum(alice.runs.byStatus)).toBe(sum(alice.runs.byKind));
        expect(alice.tenants.total).toBe(await tenantsListed(ALICE));
        expect(admin.runs.byKind).toEqual(await kindsListed(ADMIN));
        expect(admin.tenants.total).toBe(await tenantsListed(ADMIN));
        // bob's runs and tenant are in the platform's counts, not in alice's
        expect(sum(alice.runs.byKind)).toBeLessThan(sum(admin.runs.byKind));
        expect(alice.tenants.total).toBeLessThan(admin.tenants.total);
        expect(
          (await getAs(DENIED, '/api/kubechart/metrics/summary')).status,
        ).toBe(403);
      });
    });

    describe('audit trail', () => {
      it('records the outcome of every run at severity high, policy refusals included', async () => {
        const admin = as(ADMIN);
        const refused = await request(server)
          .post('/api/kubechart/runs')
          .set('Authorization', admin)
          .send({
            kind: 'tenant',
            cluster: 'dev',
            tenant: 'audit-risky',
            releases: [
              { name: 'risky', chart: 'webapp', values: { secure: false } },
            ],
          });
        expect(refused.status).toBe(202);
        let finished: CapturedAuditEvent | undefined;
        for (let i = 0; i < 300 && !finished; i++) {
          finished = audit.find(
            e =>
              e.eventId === 'run-finished' && e.meta.runId === refused.body.id,
          );
          if (!finished) await new Promise(r => setTimeout(r, 100));
        }
        // Blocked at its release, after it created the tenant's namespace: failed, not refused (see
        // runOutcomeAudit.test.ts for a run refused before it changed anything).
        expect(finished).toMatchObject({
          severityLevel: 'high',
          status: 'failed',
          meta: {
            outcome: 'failed',
            applied: expect.arrayContaining([
              'created Namespace/tenant-audit-risky',
            ]),
            kind: 'tenant',
            actor: ADMIN,
            policy: {
              blocking: true,
              failedRules: expect.arrayContaining(['no-privileged']),
            },
          },
        });
        expect(finished!.error).toContain(
          'Chart policy (enforce) blocked release risky',
        );
        // The run-create event alone does not claim the run went through: its outcome is the event above.
        expect(
          audit
            .filter(e => e.meta.runId === refused.body.id)
            .map(e => e.eventId)
            .sort(),
        ).toEqual(['run-create', 'run-finished']);
      });

      it('records a dry run the policy would refuse', async () => {
        const before = audit.length;
        const preview = await request(server)
          .post('/api/kubechart/runs/preview')
          .set('Authorization', as(ADMIN))
          .send({
            kind: 'chart',
            cluster: 'dev',
            namespace: 'audit-test',
            release: {
              name: 'risky',
              chart: 'webapp',
              values: { secure: false },
            },
          });
        expect(preview.status).toBe(200);
        expect(preview.body.policyReport.blocking).toBe(true);
        expect(audit.slice(before)).toContainEqual(
          expect.objectContaining({
            eventId: 'run-preview',
            status: 'failed',
            meta: expect.objectContaining({
              outcome: 'refused',
              actor: ADMIN,
              policy: expect.objectContaining({ blocking: true }),
            }),
          }),
        );
        const fine = await request(server)
          .post('/api/kubechart/runs/preview')
          .set('Authorization', as(ADMIN))
          .send({
            kind: 'chart',
            cluster: 'dev',
            namespace: 'audit-test',
            release: { name: 'fine', chart: 'webapp' },
          });
        expect(fine.body.policyReport.blocking).toBe(false);
        expect(
          audit.slice(before).filter(e => e.eventId === 'run-preview'),
        ).toHaveLength(1);
      });
    });
  },
);
