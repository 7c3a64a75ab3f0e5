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
const BOB = 'user:default/bob';
const ADMIN = 'user:default/admin';
const PAYMENTS = 'group:default/payments';
const GROUPS: Record<string, string[]> = { [BOB]: [PAYMENTS], [ADMIN]: [] };
const SCAFFOLDER = serviceHeader('plugin:scaffolder');
const CI_BOT = serviceHeader('external:ci-bot');

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'an onBehalfOf that is not honoured, on %p',
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
    const tenant = async (code: string) =>
      (
        await request(server)
          .get(`/api/kubechart/tenants/${code}`)
          .set('Authorization', as(ADMIN))
      ).body;
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
        onBehalfOf: { allowedServices: ['plugin:scaffolder'] },
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*'],
              approvers: ['group:default/platform-leads'],
            },
          ],
        },
        clusters: {
          dev: {
            namespaces: { 'ci-bot-ns': { owner: 'service:external:ci-bot' } },
          },
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
    });
    afterAll(async () => {
      if (server) await settle();
      await stop?.();
      await sim?.stop();
    });

    it("refuses a service not in allowedServices with 403 instead of running with the service's own rights, and changes nothing", async () => {
      expect(
        (
          await post('/runs', as(BOB), {
            kind: 'tenant',
            cluster: 'dev',
            tenant: 'pay-shop',
            owner: PAYMENTS,
            releases: [],
          })
        ).status,
      ).toBe(202);
      await settle();
      const deletion = {
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'pay-shop',
        onBehalfOf: ALICE,
      };
      // Relayed by an allowed service: alice is confined to what alice may change.
      expect((await post('/runs', SCAFFOLDER, deletion)).status).toBe(409);
      const before = (await allRuns()).length;
      const refused = await post('/runs', CI_BOT, deletion);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `service:external:ci-bot may not act on behalf of ${ALICE}: onBehalfOf is honoured only from the services listed in kubechart.onBehalfOf.allowedServices; nothing was done. Call without onBehalfOf to act as service:external:ci-bot (with only what service:external:ci-bot owns), or with the user's own token`,
      );
      expect((await allRuns()).length).toBe(before);
      await settle();
      expect(await tenant('pay-shop')).toMatchObject({
        code: 'pay-shop',
        owner: PAYMENTS,
      });
      expect(await namespaceExists('tenant-pay-shop')).toBe(true);
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-create',
          status: 'failed',
          error: expect.stringContaining(
            'kubechart.onBehalfOf.allowedServices',
          ),
          meta: expect.objectContaining({
            actor: 'service:external:ci-bot',
            outcome: 'refused',
            onBehalfOf: ALICE,
          }),
        }),
      );
    });

    it('refuses it on every route that reads onBehalfOf: preview, record, execute', async () => {
      const preview = await post('/runs/preview', CI_BOT, {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'ci-bot-ns',
        manifests:
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n',
        onBehalfOf: ALICE,
      });
      expect(preview.status).toBe(403);
      expect(preview.body.error.message).toContain(
        'kubechart.onBehalfOf.allowedServices',
      );

      const before = (await allRuns()).length;
      const recorded = await post('/runs/record', CI_BOT, {
        kind: 'custom',
        action: 'acme:thing:make',
        target: { cluster: 'dev', namespace: 'ci-bot-ns' },
        onBehalfOf: ALICE,
      });
      expect(recorded.status).toBe(403);
      expect(recorded.body.error.message).toContain(
        'kubechart.onBehalfOf.allowedServices',
      );
      expect((await allRuns()).length).toBe(before);
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-record',
          status: 'failed',
          meta: expect.objectContaining({
            actor: 'service:external:ci-bot',
            outcome: 'refused',
          }),
        }),
      );

      // An approved run's input submitted again for its requester by a service not allowed to relay.
      const gated = {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-bob',
        releases: [],
      };
      const waiting = await post('/runs', as(BOB), gated);
      expect(waiting.body.status).toBe('awaiting-approval');
      const executed = await post(`/runs/${waiting.body.id}/execute`, CI_BOT, {
        ...gated,
        onBehalfOf: BOB,
      });
      expect(executed.status).toBe(403);
      expect(executed.body.error.message).toContain(
        'kubechart.onBehalfOf.allowedServices',
      );
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-execute-approved',
          status: 'failed',
          meta: expect.objectContaining({
            actor: 'service:external:ci-bot',
            outcome: 'refused',
          }),
        }),
      );
    });

    it("lets a service that may act for a user submit that user's approved run again, and read no other's", async () => {
      const gated = {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-bob-relayed',
        releases: [],
      };
      const waiting = await post('/runs', as(BOB), gated);
      expect(waiting.body.status).toBe('awaiting-approval');
      // For its requester: the run is read as Bob's, and the engine answers (nothing approved yet).
      const forBob = await post(
        `/runs/${waiting.body.id}/execute`,
        SCAFFOLDER,
        {
          ...gated,
          onBehalfOf: BOB,
        },
      );
      expect(forBob.status).toBe(409);
      // For anyone else: the scaffolder reads no run of Bob's, as for a run that does not exist.
      const forAlice = await post(
        `/runs/${waiting.body.id}/execute`,
        SCAFFOLDER,
        { ...gated, onBehalfOf: ALICE },
      );
      expect([forAlice.status, forAlice.body.error.message]).toEqual([
        404,
        `Run ${waiting.body.id} not found`,
      ]);
    });

    it('refuses a user sending onBehalfOf: a user acts only as itself', async () => {
      const refused = await post('/runs', as(BOB), {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'bob-for-admin',
        releases: [],
        onBehalfOf: ADMIN,
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `${BOB} may not act on behalf of ${ADMIN}: onBehalfOf is honoured only from the services listed in kubechart.onBehalfOf.allowedServices; nothing was done. Call without onBehalfOf`,
      );
      expect(
        (
          await request(server)
            .get('/api/kubechart/tenants/bob-for-admin')
            .set('Authorization', as(ADMIN))
        ).status,
      ).toBe(404);
    });
  },
);

describe.each(databases.eachSupportedId())(
  'kubechart.onBehalfOf.allowedServices, on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim?.stop());

    it('does not start with an entry that is not a service principal (plugin:<id> or external:<subject>)', async () => {
      await expect(
        startKubechartBackend({
          config: testConfig(sim, {
            health: { startOnBoot: false },
            onBehalfOf: {
              allowedServices: ['plugin:scaffolder', 'scaffolder'],
            },
          }),
          knex: await databases.init(databaseId),
        }),
      ).rejects.toThrow(
        'kubechart.onBehalfOf.allowedServices[1] is "scaffolder", which is not a service principal: write plugin:<plugin id> (e.g. plugin:scaffolder) or external:<subject> (an external access subject)',
      );
    });

    it('honours no service unless configured: the scaffolder relaying for a user is refused by default', async () => {
      const backend = await startKubechartBackend({
        config: testConfig(sim, { health: { startOnBoot: false } }),
        knex: await databases.init(databaseId),
      });
      try {
        const refused = await request(backend.server)
          .post('/api/kubechart/runs')
          .set('Authorization', SCAFFOLDER)
          .send({
            kind: 'tenant',
            cluster: 'dev',
            tenant: 'jane-default',
            releases: [],
            onBehalfOf: 'user:default/jane',
          });
        expect(refused.status).toBe(403);
        expect(refused.body.error.message).toContain(
          'service:plugin:scaffolder may not act on behalf of user:default/jane',
        );
      } finally {
        await backend.stop();
      }
    });
  },
);
