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
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import {
  catalogUsers,
  permissionsDenying,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const PAYMENTS = 'group:default/payments';
const GROUPS: Record<string, string[]> = {
  [ALICE]: [PAYMENTS],
  [BOB]: [PAYMENTS],
};

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/** Everyone may do everything. */
const permissions = permissionsDenying(() => false);

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

const as = (who: string) => mockCredentials.user.header(who);
/** The user's credentials as the scaffolder passes them on (a template step). */
const passedOn = (user: string, plugin: string) =>
  `Bearer ${mockCredentials.user.token(user, { actor: { subject: plugin } })}`;

describe.each(databases.eachSupportedId())(
  'POST /runs/:id/withdraw on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    const audit: CapturedAuditEvent[] = [];
    const sent: NotificationSendOptions[] = [];
    const post = (path: string, auth: string, body: object = {}) =>
      request(server)
        .post(`/api/kubechart${path}`)
        .set('Authorization', auth)
        .send(body);
    const requestTenant = async (tenant: string, auth = as(ALICE)) => {
      const created = await post('/runs', auth, {
        kind: 'tenant',
        cluster: 'dev',
        tenant,
        owner: PAYMENTS,
        releases: [],
      });
      expect(created.body).toMatchObject({ status: 'awaiting-approval' });
      return created.body.id as string;
    };

    beforeAll(async () => {
      sim = await startSim();
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          catalogServiceMock.factory({ entities: catalogUsers(GROUPS) }),
          mockServices.rootConfig.factory({
            data: testConfig(sim, {
              health: { startOnBoot: false },
              approvals: {
                rules: [{ name: 'production', namespaces: ['tenant-prod-*'] }],
              },
            }),
          }),
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

    it('lets the requester withdraw her request, audited at high; anyone else gets 403 and a withdrawn run 409', async () => {
      const id = await requestTenant('prod-wrong');
      // Her page of the run offers her, and only her, to withdraw it.
      const viewer = async (who: string) =>
        (
          await request(server)
            .get(`/api/kubechart/runs/${id}`)
            .set('Authorization', as(who))
        ).body.approval.viewer;
      expect(await viewer(ALICE)).toMatchObject({
        mayDecide: false,
        mayWithdraw: true,
      });
      expect((await viewer(BOB)).mayWithdraw).toBeUndefined();

      audit.length = 0;
      const byBob = await post(`/runs/${id}/withdraw`, as(BOB), {
        comment: 'not mine',
      });
      expect(byBob.status).toBe(403);
      expect(byBob.body.error.message).toBe(
        `You may not withdraw run ${id}: only ${ALICE}, who requested it, may withdraw it`,
      );
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-withdraw',
          status: 'failed',
          meta: expect.objectContaining({ runId: id, actor: BOB }),
        }),
      );

      audit.length = 0;
      const withdrawn = await post(`/runs/${id}/withdraw`, as(ALICE), {
        comment: 'wrong values',
      });
      expect(withdrawn.status).toBe(200);
      expect(withdrawn.body).toMatchObject({
        id,
        status: 'failed',
        failureReason: `Withdrawn by ${ALICE}: wrong values; nothing was applied`,
        approval: { state: 'withdrawn' },
      });
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-withdraw',
          severityLevel: 'high',
          status: 'succeeded',
          meta: expect.objectContaining({
            runId: id,
            actor: ALICE,
            comment: 'wrong values',
            status: 'failed',
            approval: 'withdrawn',
          }),
        }),
      );
      // The approvers' notice of the request now says it was withdrawn.
      expect(sent).toContainEqual(
        expect.objectContaining({
          recipients: expect.objectContaining({ entityRef: [PAYMENTS] }),
          payload: expect.objectContaining({
            title: expect.stringMatching(/^Approval request withdrawn: /),
            scope: `kubechart-approval:${id}`,
          }),
        }),
      );

      expect((await post(`/runs/${id}/withdraw`, as(ALICE))).status).toBe(409);
      const approve = await post(`/runs/${id}/approve`, as(BOB), {
        comment: 'looks fine',
      });
      expect(approve.status).toBe(409);
      const read = await request(server)
        .get(`/api/kubechart/runs/${id}`)
        .set('Authorization', as(BOB));
      expect(read.body).toMatchObject({
        status: 'failed',
        approval: { state: 'withdrawn', decisions: [] },
      });
      expect((await viewer(ALICE)).mayWithdraw).toBeUndefined();
    });

    it("lets a template step withdraw with the requester's credentials the scaffolder passes on", async () => {
      const id = await requestTenant(
        'prod-task',
        passedOn(ALICE, 'plugin:scaffolder'),
      );
      const withdrawn = await post(
        `/runs/${id}/withdraw`,
        passedOn(ALICE, 'plugin:scaffolder'),
        { comment: 'the task was cancelled' },
      );
      expect(withdrawn.status).toBe(200);
      expect(withdrawn.body.failureReason).toBe(
        `Withdrawn by ${ALICE}: the task was cancelled; nothing was applied`,
      );
      expect(audit).toContainEqual(
        expect.objectContaining({
          eventId: 'run-withdraw',
          status: 'succeeded',
          meta: expect.objectContaining({
            runId: id,
            actor: ALICE,
            relayedBy: 'plugin:scaffolder',
          }),
        }),
      );
    });

    it('refuses a run that needs no approval (409) and an unknown field (400)', async () => {
      const plain = await post('/runs', as(ALICE), {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'free',
        owner: PAYMENTS,
        releases: [],
      });
      expect(plain.status).toBe(202);
      const notGated = await post(`/runs/${plain.body.id}/withdraw`, as(ALICE));
      expect(notGated.status).toBe(409);
      expect(notGated.body.error.message).toMatch(
        /needs no approval .*nothing was withdrawn/,
      );

      const gated = await requestTenant('prod-odd');
      const odd = await post(`/runs/${gated}/withdraw`, as(ALICE), {
        reason: 'a field the route does not know',
      });
      expect(odd.status).toBe(400);
      expect(
        (
          await request(server)
            .get(`/api/kubechart/runs/${gated}`)
            .set('Authorization', as(ALICE))
        ).body.status,
      ).toBe('awaiting-approval');
    });
  },
);
