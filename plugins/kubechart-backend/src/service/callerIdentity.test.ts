import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { ConfigReader } from '@backstage/config';
import request from 'supertest';
import { readRelayingPlugins } from './identity';
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

const BOB = 'user:default/bob';
const LEAD = 'user:default/lead';
const ADMIN = 'user:default/admin';
const PAYMENTS = 'group:default/payments';
const GROUPS: Record<string, string[]> = {
  [BOB]: [PAYMENTS],
  [LEAD]: ['group:default/platform-leads'],
  [ADMIN]: [],
};
const CI_BOT = serviceHeader('external:ci-bot');
const CATALOG = serviceHeader('plugin:catalog');
/** A user's credentials as a plugin passes them on (`getPluginRequestToken({ onBehalfOf })`). */
const passedOn = (user: string, plugin: string) =>
  `Bearer ${mockCredentials.user.token(user, { actor: { subject: plugin } })}`;

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'who a request acts as, on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let core: CoreV1Api;
    const audit: CapturedAuditEvent[] = [];
    const as = (who: string) => mockCredentials.user.header(who);
    const post = (path: string, auth: string, body: object) =>
      request(server)
        .post(`/api/kubechart${path}`)
        .set('Authorization', auth)
        .send(body);
    const allRuns = async () =>
      (
        await request(server)
          .get('/api/kubechart/runs?limit=200')
          .set('Authorization', as(ADMIN))
      ).body.items as any[];
    const tenant = (code: string) =>
      request(server)
        .get(`/api/kubechart/tenants/${code}`)
        .set('Authorization', as(ADMIN));
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
    const namespaceExists = (name: string) =>
      core.readNamespace({ name }).then(
        () => true,
        (e: any) => (e.code === 404 ? false : Promise.reject(e)),
      );

    beforeAll(async () => {
      sim = await startSim();
      const config = testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: {
            namespaces: {
              'ci-bot-space': { owner: 'service:external:ci-bot' },
            },
          },
        },
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*'],
              approvers: ['group:default/platform-leads'],
            },
          ],
        },
      });
      core = simKubeConfig(sim).makeApiClient(CoreV1Api);
      const backend = await startKubechartBackend({
        config,
        knex: await databases.init(databaseId),
        features: [
          onlyAdminIsTenantsAdmin(ADMIN),
          userInfoWithGroups(GROUPS),
          capturingAuditor(audit),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
      const created = await post('/runs', as(BOB), {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'pay-shop',
        owner: PAYMENTS,
        releases: [],
      });
      if (created.status !== 202)
        throw new Error(`pay-shop was not created: ${created.status}`);
      await settle();
    });
    afterAll(async () => {
      if (server) await settle();
      await stop?.();
      await sim?.stop();
    });

    it("does not make a service acting as itself a tenants admin: it may not delete another team's tenant", async () => {
      for (const [service, auth] of [
        ['service:external:ci-bot', CI_BOT],
        ['service:plugin:catalog', CATALOG],
      ]) {
        const deletion = await post('/runs', auth, {
          kind: 'tenant-delete',
          cluster: 'dev',
          tenant: 'pay-shop',
        });
        expect(deletion.status).toBe(409);
        expect(audit).toContainEqual(
          expect.objectContaining({
            eventId: 'run-create',
            status: 'failed',
            meta: expect.objectContaining({
              kind: 'tenant-delete',
              actor: service,
            }),
          }),
        );
      }
      await settle();
      expect((await tenant('pay-shop')).body).toMatchObject({
        code: 'pay-shop',
        owner: PAYMENTS,
        status: 'active',
      });
      expect(await namespaceExists('tenant-pay-shop')).toBe(true);
      expect((await allRuns()).filter(r => r.kind === 'tenant-delete')).toEqual(
        [],
      );
    });

    it("refuses a user's credentials passed on by a plugin not allowed to act as a user, and records who relayed them", async () => {
      const refused = await post('/runs', passedOn(BOB, 'plugin:catalog'), {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'bob-via-catalog',
        releases: [],
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `plugin:catalog may not act on behalf of ${BOB}: a user's credentials are accepted when passed on only from the plugins listed in kubechart.onBehalfOf.relayingPlugins; nothing was done. ${BOB} calls kubechart with their own token`,
      );
      expect((await tenant('bob-via-catalog')).status).toBe(404);
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-create',
          status: 'failed',
          error: expect.stringContaining(
            'kubechart.onBehalfOf.relayingPlugins',
          ),
          meta: expect.objectContaining({
            actor: BOB,
            relayedBy: 'plugin:catalog',
            outcome: 'refused',
          }),
        }),
      );

      // The scaffolder passes the user's credentials on as its kubechart actions do: the run is
      // the user's, and the trail names the scaffolder as having relayed it.
      const relayed = await post('/runs', passedOn(BOB, 'plugin:scaffolder'), {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'bob-via-scaffolder',
        releases: [],
      });
      expect(relayed.status).toBe(202);
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-create',
          status: 'succeeded',
          meta: expect.objectContaining({
            actor: BOB,
            relayedBy: 'plugin:scaffolder',
            runId: relayed.body.id,
          }),
        }),
      );
      await settle();
      expect((await tenant('bob-via-scaffolder')).body).toMatchObject({
        code: 'bob-via-scaffolder',
        status: 'active',
      });
    });

    it("refuses a user's credentials passed on by a plugin not allowed to act as a user on every read route too", async () => {
      const [run] = (await allRuns()).filter(r => r.actor === BOB);
      const reads = [
        '/runs?limit=200',
        '/runs?entityRef=system:default/pay-shop',
        `/runs/${run.id}`,
        `/runs/${run.id}/events`,
        `/runs/${run.id}/diff/${run.id}`,
        `/runs/${run.id}/drift`,
        '/drift?cluster=dev',
        '/tenants',
        '/tenants/pay-shop',
        '/approvals',
        '/metrics/summary',
        '/policy/rules',
      ];
      const read = (path: string, plugin: string) =>
        request(server)
          .get(`/api/kubechart${path}`)
          .set('Authorization', passedOn(BOB, plugin));
      for (const path of reads) {
        const refused = await read(path, 'plugin:catalog');
        expect([path, refused.status, refused.body.error?.message]).toEqual([
          path,
          403,
          `plugin:catalog may not act on behalf of ${BOB}: a user's credentials are accepted when passed on only from the plugins listed in kubechart.onBehalfOf.relayingPlugins; nothing was done. ${BOB} calls kubechart with their own token`,
        ]);
        // Passed on by the scaffolder: read as Bob.
        expect([
          path,
          (await read(path, 'plugin:scaffolder')).status,
        ]).not.toEqual([path, 403]);
      }
      expect(
        (await read('/runs?limit=200', 'plugin:scaffolder')).body.items.map(
          (r: any) => r.id,
        ),
      ).toContain(run.id);
    });

    it('lets a service read only the runs it started or recorded itself, and every tenant', async () => {
      const recorded = await post('/runs/record', CI_BOT, {
        kind: 'chart',
        action: 'ci:deploy',
        target: { cluster: 'dev', namespace: 'ci-bot-space' },
      });
      expect(recorded.status).toBe(201);
      const get = (path: string, auth: string) =>
        request(server).get(`/api/kubechart${path}`).set('Authorization', auth);
      const [bobs] = (await allRuns()).filter(r => r.actor === BOB);
      // Its token names no kubechart.runs.read among access restrictions: its own runs only.
      expect(
        (await get('/runs?limit=200', CI_BOT)).body.items.map((r: any) => r.id),
      ).toEqual([recorded.body.id]);
      expect(
        (await get(`/runs?limit=200&actor=${BOB}`, CI_BOT)).body.items,
      ).toEqual([]);
      expect((await get('/runs?limit=200', CATALOG)).body.items).toEqual([]);
      const other = await get(`/runs/${bobs.id}`, CI_BOT);
      expect([other.status, other.body.error?.message]).toEqual([
        404,
        `Run ${bobs.id} not found`,
      ]);
      expect((await get(`/runs/${bobs.id}/events`, CI_BOT)).status).toBe(404);
      expect(
        (await get(`/runs/${recorded.body.id}`, CI_BOT)).body,
      ).toMatchObject({
        id: recorded.body.id,
        actor: 'service:external:ci-bot',
      });
      // It still reports on the run it recorded, and follows it.
      expect(
        (
          await post(`/runs/${recorded.body.id}/events`, CI_BOT, {
            events: [{ message: 'deployed' }],
          })
        ).status,
      ).toBe(204);
      expect(
        (await get(`/runs/${recorded.body.id}/events`, CI_BOT)).body.items.map(
          (e: any) => e.message,
        ),
      ).toEqual(['deployed']);
      expect(
        (
          await post(`/runs/${recorded.body.id}/finish`, CI_BOT, {
            status: 'succeeded',
          })
        ).status,
      ).toBe(204);
      // Every tenant, as the catalog module lists them with its own token.
      expect(
        (await get('/tenants', CATALOG)).body.items.map((t: any) => t.code),
      ).toContain('pay-shop');
      // But not the last run of a tenant, when that run is one it may not read.
      const paysLastRun = (await get('/tenants/pay-shop', as(ADMIN))).body
        .lastRunId;
      expect((await allRuns()).find(r => r.id === paysLastRun)?.actor).toBe(
        BOB,
      );
      for (const auth of [CATALOG, CI_BOT]) {
        const listed = (await get('/tenants', auth)).body.items.find(
          (t: any) => t.code === 'pay-shop',
        );
        const one = (await get('/tenants/pay-shop', auth)).body;
        for (const shown of [listed, one]) {
          expect(shown).toMatchObject({ code: 'pay-shop' });
          expect(shown).not.toHaveProperty('lastRunId');
          expect(shown).not.toHaveProperty('lastRunStatus');
        }
      }
      expect(
        (await get('/tenants', as(ADMIN))).body.items.find(
          (t: any) => t.code === 'pay-shop',
        ),
      ).toMatchObject({ lastRunId: paysLastRun, lastRunStatus: 'succeeded' });
    });

    it("refuses an approval decided with a user's credentials passed on by a plugin not allowed to act as a user", async () => {
      const waiting = await post('/runs', as(BOB), {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-bob',
        releases: [],
      });
      expect(waiting.body.status).toBe('awaiting-approval');
      const approved = await post(
        `/runs/${waiting.body.id}/approve`,
        passedOn(LEAD, 'plugin:catalog'),
        { comment: 'looks fine' },
      );
      expect(approved.status).toBe(403);
      expect(approved.body.error.message).toContain(
        `plugin:catalog may not act on behalf of ${LEAD}`,
      );
      const run = await request(server)
        .get(`/api/kubechart/runs/${waiting.body.id}`)
        .set('Authorization', as(ADMIN));
      expect(run.body.status).toBe('awaiting-approval');
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-approve',
          status: 'failed',
          meta: expect.objectContaining({
            runId: waiting.body.id,
            actor: LEAD,
            relayedBy: 'plugin:catalog',
            outcome: 'refused',
          }),
        }),
      );
    });

    it("decides no approval with a user's credentials passed on by any plugin, allowed ones included: approvals take the user's own token", async () => {
      const waiting = await post('/runs', as(BOB), {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-bob-relayed',
        releases: [],
      });
      expect(waiting.body.status).toBe('awaiting-approval');
      for (const decision of ['approve', 'reject']) {
        audit.length = 0;
        const decided = await post(
          `/runs/${waiting.body.id}/${decision}`,
          passedOn(LEAD, 'plugin:scaffolder'),
          { comment: 'from a template step' },
        );
        expect(decided.status).toBe(403);
        expect(decided.body.error.message).toBe(
          `Approvals are decided only with the approver's own token: ${LEAD}'s credentials were passed on by plugin:scaffolder; nothing was decided. ${LEAD} approves or rejects in the portal`,
        );
        expect(audit).toContainEqual(
          expect.objectContaining({
            eventId: `run-${decision}`,
            status: 'failed',
            meta: expect.objectContaining({
              runId: waiting.body.id,
              actor: LEAD,
              relayedBy: 'plugin:scaffolder',
              outcome: 'refused',
            }),
          }),
        );
      }
      const run = await request(server)
        .get(`/api/kubechart/runs/${waiting.body.id}`)
        .set('Authorization', as(ADMIN));
      expect(run.body.status).toBe('awaiting-approval');
      expect(run.body.approval.decisions).toEqual([]);
      // The lead's own token still decides.
      const own = await post(`/runs/${waiting.body.id}/reject`, as(LEAD), {
        comment: 'not now',
      });
      expect(own.status).toBe(200);
    });

    it('takes the Software Template a run came from only from the scaffolder, and no KubeChart action name on a recorded run', async () => {
      const target = { cluster: 'dev', namespace: 'tenant-pay-shop' };
      const golden = 'template:default/platform-approved-golden-path';
      const before = (await allRuns()).length;
      // A user's own token, or a plugin other than the scaffolder, cannot say which template ran.
      for (const auth of [as(BOB), passedOn(BOB, 'plugin:kubechart')]) {
        const claimed = await post('/runs/record', auth, {
          kind: 'chart',
          action: 'acme:cache:create',
          template: golden,
          target,
        });
        expect(claimed.status).toBe(403);
        expect(claimed.body.error.message).toMatch(
          /only the scaffolder \(plugin:scaffolder\) names the Software Template a run came from/,
        );
        const started = await post('/runs', auth, {
          kind: 'manifests',
          template: golden,
          cluster: 'dev',
          namespace: 'tenant-pay-shop',
          manifests:
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: claimed\ndata:\n  a: b\n',
        });
        expect(started.status).toBe(403);
      }
      // KubeChart's own actions start their runs through POST /runs; a record naming one is false.
      const impostor = await post('/runs/record', as(BOB), {
        kind: 'chart',
        action: 'kubechart:chart:install',
        target,
      });
      expect(impostor.status).toBe(400);
      expect(impostor.body.error.message).toMatch(
        /kubechart:chart:install is one of KubeChart's own actions/,
      );
      expect((await allRuns()).length).toBe(before);
      // The scaffolder passing the user's request on names the template, as before.
      const scaffolded = await post(
        '/runs/record',
        passedOn(BOB, 'plugin:scaffolder'),
        {
          kind: 'custom',
          action: 'acme:cache:create',
          template: golden,
          target,
        },
      );
      expect(scaffolded.status).toBe(201);
      await post(
        `/runs/${scaffolded.body.id}/finish`,
        passedOn(BOB, 'plugin:scaffolder'),
        { status: 'succeeded' },
      );
      const run = await request(server)
        .get(`/api/kubechart/runs/${scaffolded.body.id}`)
        .set('Authorization', as(BOB));
      expect(run.body.template).toBe(golden);
    });

    it('names the plugin that passed the credentials on as relayedBy in the events of a recorded run, its finish and the dry runs the policy would refuse', async () => {
      const scaffolder = passedOn(BOB, 'plugin:scaffolder');
      const recorded = await post('/runs/record', scaffolder, {
        kind: 'chart',
        action: 'acme:cache:create',
        target: { cluster: 'dev', namespace: 'tenant-pay-shop' },
      });
      expect(recorded.status).toBe(201);
      audit.length = 0;
      expect(
        (
          await post(`/runs/${recorded.body.id}/events`, scaffolder, {
            events: [{ message: 'created', step: 'cache' }],
          })
        ).status,
      ).toBe(204);
      expect(
        (
          await post(`/runs/${recorded.body.id}/finish`, scaffolder, {
            status: 'succeeded',
          })
        ).status,
      ).toBe(204);
      const risky = {
        cluster: 'dev',
        namespace: 'tenant-pay-shop',
        release: { name: 'risky', chart: 'webapp', values: { secure: false } },
      };
      const preview = await post('/runs/preview', scaffolder, {
        kind: 'chart',
        ...risky,
      });
      expect(preview.body.policyReport.blocking).toBe(true);
      const check = await post('/policy/check', scaffolder, risky);
      expect(check.status).toBe(200);
      expect(
        audit
          // The run's own end, recorded by kubechart whoever finished it.
          .filter(e => e.eventId !== 'run-finished')
          .map(e => [e.eventId, e.status, e.meta.relayedBy]),
      ).toEqual([
        ['run-events', 'succeeded', 'plugin:scaffolder'],
        ['run-finish', 'succeeded', 'plugin:scaffolder'],
        ['run-preview', 'failed', 'plugin:scaffolder'],
        ['policy-check', 'failed', 'plugin:scaffolder'],
      ]);
    });
  },
);

describe('kubechart.onBehalfOf.relayingPlugins', () => {
  it('holds only plugins: an entry that is not plugin:<id> stops the backend at start-up', () => {
    expect(readRelayingPlugins(new ConfigReader({}))).toEqual([
      'plugin:scaffolder',
      'plugin:kubechart',
      'plugin:mcp-actions',
    ]);
    for (const entry of ['external:ci-bot', 'scaffolder', 'plugin:']) {
      expect(() =>
        readRelayingPlugins(
          new ConfigReader({
            kubechart: {
              onBehalfOf: { relayingPlugins: ['plugin:scaffolder', entry] },
            },
          }),
        ),
      ).toThrow(
        `kubechart.onBehalfOf.relayingPlugins[1] is ${JSON.stringify(
          entry,
        )}, which is not a plugin: write plugin:<plugin id> (e.g. plugin:scaffolder); a user's credentials are passed on by a plugin, never by an external access subject`,
      );
    }
  });
});
