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
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import type { NotificationSendOptions } from '@backstage/plugin-notifications-node';
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
import {
  catalogUsers,
  permissionsDenying,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const NOBODY = 'user:default/nobody';
const PAYMENTS = 'group:default/payments';
const GROUPS: Record<string, string[]> = {
  [ALICE]: [PAYMENTS],
  [BOB]: [PAYMENTS],
  [NOBODY]: [PAYMENTS],
};

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** Everyone may do everything except `nobody`, who lacks kubechart.runs.approve. */
const permissions = permissionsDenying(
  (permission, principal) =>
    principal?.userEntityRef === NOBODY &&
    permission === 'kubechart.runs.approve',
);

/** Users' groups, as the sign-in token carries them. */
const userInfo = createServiceFactory({
  service: coreServices.userInfo,
  deps: {},
  factory: () => ({
    async getUserInfo(credentials: BackstageCredentials) {
      const ref = (credentials.principal as any).userEntityRef as string;
      return {
        userEntityRef: ref,
        ownershipEntityRefs: [ref, ...(GROUPS[ref] ?? [])],
      };
    },
  }),
});

describe.each(databases.eachSupportedId())(
  'approval routes on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    const audit: CapturedAuditEvent[] = [];
    const sent: NotificationSendOptions[] = [];
    const as = (who: string) => mockCredentials.user.header(who);

    beforeAll(async () => {
      sim = await startSim();
      const config = testConfig(sim, {
        health: { startOnBoot: false },
        approvals: {
          rules: [{ name: 'production', namespaces: ['tenant-prod-*'] }],
        },
      });
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          // The catalog a tenant run's entityRef is checked against: none of the tenants' entities
          // exist yet. Its users are in the groups their sign-in tokens name.
          catalogServiceMock.factory({ entities: catalogUsers(GROUPS) }),
          mockServices.rootConfig.factory({ data: config }),
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          permissions,
          userInfo,
          capturingAuditor(audit),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => {} }),
          }),
          createServiceFactory({
            service: notificationService,
            deps: {},
            factory: () => ({
              send: async (n: NotificationSendOptions) => {
                sent.push(n);
              },
            }),
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

    it('lets an approver, never the requester, decide with a comment, audited at high, and tells both sides', async () => {
      const created = await request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', as(ALICE))
        .send({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'prod-pay',
          owner: PAYMENTS,
          entityRef: 'system:default/pay',
          releases: [{ name: 'web', chart: 'webapp' }],
        });
      expect(created.status).toBe(202);
      expect(created.body.status).toBe('awaiting-approval');
      const id = created.body.id;
      expect(sent).toEqual([
        expect.objectContaining({
          recipients: {
            type: 'entity',
            entityRef: [PAYMENTS],
            excludeEntityRef: ALICE,
          },
          payload: expect.objectContaining({
            link: `/kubechart/runs?run=${id}`,
            severity: 'high',
            topic: 'kubechart-approvals',
          }),
        }),
      ]);

      const seenBy = async (who: string) =>
        (
          await request(server)
            .get(`/api/kubechart/runs/${id}`)
            .set('Authorization', as(who))
        ).body;
      expect((await seenBy(ALICE)).approval.viewer).toEqual({
        mayDecide: false,
        reason: 'you requested this run; another approver must decide',
        mayWithdraw: true,
      });
      expect((await seenBy(NOBODY)).approval.viewer).toEqual({
        mayDecide: false,
        reason: 'you do not hold the kubechart.runs.approve permission',
      });
      expect((await seenBy(BOB)).approval.viewer).toEqual({ mayDecide: true });

      const list = async (who: string) =>
        (
          await request(server)
            .get('/api/kubechart/approvals')
            .set('Authorization', as(who))
        ).body.items.map((r: any) => r.id);
      expect(await list(BOB)).toEqual([id]);
      expect(await list(ALICE)).toEqual([id]); // the requester sees their own open request
      expect(await list(NOBODY)).toEqual([]);
      // The list carries what the approvals card shows, not the plan's values and manifest: the run page reads those.
      const [listed] = (
        await request(server)
          .get('/api/kubechart/approvals')
          .set('Authorization', as(BOB))
      ).body.items;
      expect(listed).toMatchObject({
        id,
        actor: ALICE,
        status: 'awaiting-approval',
        approval: { state: 'awaiting', viewer: { mayDecide: true } },
      });
      expect(Object.keys(await seenBy(BOB))).toEqual(
        expect.arrayContaining(['values', 'manifest']),
      );
      for (const heavy of ['values', 'manifest', 'policyReport'])
        expect(listed).not.toHaveProperty(heavy);

      const approve = (auth: string, body: unknown) =>
        request(server)
          .post(`/api/kubechart/runs/${id}/approve`)
          .set('Authorization', auth)
          .send(body as object);
      const self = await approve(as(ALICE), { comment: 'mine' });
      expect(self.status).toBe(403);
      expect(self.body.error.message).toContain('you requested this run');
      // A service never decides; one not granted kubechart.runs.read does not read the run either.
      const fromService = await approve(serviceHeader('plugin:scaffolder'), {
        comment: 'bot',
      });
      expect([fromService.status, fromService.body.error.message]).toEqual([
        404,
        `Run ${id} not found`,
      ]);
      const noComment = await approve(as(BOB), { comment: '  ' });
      expect(noComment.status).toBe(400);
      expect(noComment.body.error.message).toContain('a comment is required');
      // Without kubechart.runs.approve: refused by the engine, recorded as refused with who tried.
      const withoutPermission = await approve(as(NOBODY), { comment: 'me' });
      expect(withoutPermission.status).toBe(403);
      const rejectWithout = await request(server)
        .post(`/api/kubechart/runs/${id}/reject`)
        .set('Authorization', as(NOBODY))
        .send({ comment: 'no' });
      expect(rejectWithout.status).toBe(403);
      expect(
        audit.filter(e => e.eventId === 'run-reject' && e.meta.runId === id),
      ).toEqual([
        expect.objectContaining({
          status: 'failed',
          meta: expect.objectContaining({
            entityRef: 'system:default/pay',
            decider: NOBODY,
            actor: NOBODY,
            outcome: 'refused',
          }),
        }),
      ]);
      expect((await seenBy(BOB)).status).toBe('awaiting-approval');
      // Submitted again before it is approved: 409, recorded under the run's entity.
      const early = await request(server)
        .post(`/api/kubechart/runs/${id}/execute`)
        .set('Authorization', as(ALICE))
        .send({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'prod-pay',
          owner: PAYMENTS,
          entityRef: 'system:default/pay',
          releases: [{ name: 'web', chart: 'webapp' }],
        });
      expect(early.status).toBe(409);
      expect(
        audit.filter(
          e => e.eventId === 'run-execute-approved' && e.meta.runId === id,
        ),
      ).toEqual([
        expect.objectContaining({
          status: 'failed',
          meta: expect.objectContaining({
            entityRef: 'system:default/pay',
            actor: ALICE,
          }),
        }),
      ]);

      const ok = await approve(as(BOB), { comment: 'CHG-1 reviewed' });
      expect(ok.status).toBe(200);
      expect(ok.body.approval.decisions).toEqual([
        expect.objectContaining({
          by: BOB,
          decision: 'approve',
          comment: 'CHG-1 reviewed',
        }),
      ]);
      expect(['pending', 'running', 'succeeded']).toContain(ok.body.status);
      expect(
        audit.filter(e => e.eventId === 'run-approve' && e.meta.runId === id),
      ).toEqual([
        expect.objectContaining({
          severityLevel: 'high',
          status: 'failed',
          meta: expect.objectContaining({
            entityRef: 'system:default/pay',
            decider: ALICE,
            actor: ALICE,
            outcome: 'refused',
          }),
        }),
        expect.objectContaining({
          severityLevel: 'medium',
          status: 'failed',
          meta: expect.objectContaining({
            runId: id,
            actor: 'service:plugin:scaffolder',
            outcome: 'refused',
          }),
        }),
        expect.objectContaining({
          severityLevel: 'high',
          status: 'failed',
          meta: expect.not.objectContaining({ outcome: 'refused' }),
        }),
        expect.objectContaining({
          severityLevel: 'high',
          status: 'failed',
          meta: expect.objectContaining({
            decider: NOBODY,
            actor: NOBODY,
            outcome: 'refused',
          }),
        }),
        expect.objectContaining({
          severityLevel: 'high',
          status: 'succeeded',
          meta: expect.objectContaining({
            entityRef: 'system:default/pay',
            requester: ALICE,
            decider: BOB,
            comment: 'CHG-1 reviewed',
          }),
        }),
      ]);
      expect(sent[1]).toEqual(
        expect.objectContaining({
          recipients: {
            type: 'entity',
            entityRef: ALICE,
            excludeEntityRef: BOB,
          },
          payload: expect.objectContaining({ description: 'CHG-1 reviewed' }),
        }),
      );
      expect(await list(BOB)).toEqual([]);
      const again = await approve(as(NOBODY), { comment: 'late' });
      expect(again.status).toBe(409);
    });
  },
);
