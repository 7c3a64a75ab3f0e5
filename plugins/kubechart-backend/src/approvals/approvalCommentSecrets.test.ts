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

/** A password, a token and a URL's password, as a comment might quote them. */
const SECRETS = ['hunter22-pw', 'tok-9f8e7d6c5b4a', 's3cret-in-url'];
const leaky = (prefix: string) =>
  `${prefix}: password=${SECRETS[0]}\ntoken: ${SECRETS[1]}\nsee https://bob:${SECRETS[2]}@git.example.com/values`;

/**
 * A decision's or a withdrawal's comment is user text like any other the run keeps: the secrets the
 * free-text rules find in it (a password, a token, a URL's password) are removed before it is stored,
 * shown, sent to the requester or approvers, or audited.
 */
describe.each(databases.eachSupportedId())(
  'comments of approval decisions and withdrawals on %p',
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
    const read = async (id: string) =>
      (
        await request(server)
          .get(`/api/kubechart/runs/${id}`)
          .set('Authorization', as(ALICE))
      ).body;
    const requestTenant = async (tenant: string) => {
      const created = await post('/runs', as(ALICE), {
        kind: 'tenant',
        cluster: 'dev',
        tenant,
        owner: PAYMENTS,
        releases: [],
      });
      expect(created.body).toMatchObject({ status: 'awaiting-approval' });
      return created.body.id as string;
    };
    /** Which of SECRETS `what` holds. */
    const leaked = (what: unknown) =>
      SECRETS.filter(s => JSON.stringify(what).includes(s));

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

    it("keeps no secret of an approver's comment in the run, the notification or the trail", async () => {
      const id = await requestTenant('prod-rejected');
      audit.length = 0;
      sent.length = 0;
      const rejected = await post(`/runs/${id}/reject`, as(BOB), {
        comment: leaky('rejected'),
      });
      expect(rejected.status).toBe(200);
      const decision = (await read(id)).approval.decisions[0];
      expect(decision).toMatchObject({
        by: BOB,
        decision: 'reject',
        comment: expect.stringContaining('rejected: password=***'),
      });
      expect({
        answer: leaked(rejected.body),
        shown: leaked(decision),
        notified: leaked(sent),
        audited: leaked(audit),
      }).toEqual({ answer: [], shown: [], notified: [], audited: [] });
      // An attempt refused before the decision (the requester may not decide) is audited scrubbed too.
      audit.length = 0;
      const own = await requestTenant('prod-own');
      expect(
        (
          await post(`/runs/${own}/approve`, as(ALICE), {
            comment: leaky('mine'),
          })
        ).status,
      ).toBe(403);
      expect(audit.length).toBeGreaterThan(0);
      expect(leaked(audit)).toEqual([]);
    });

    it("keeps no secret of the requester's withdraw comment in the run, the notification or the trail", async () => {
      const id = await requestTenant('prod-withdrawn');
      audit.length = 0;
      sent.length = 0;
      const withdrawn = await post(`/runs/${id}/withdraw`, as(ALICE), {
        comment: leaky('rotated'),
      });
      expect(withdrawn.status).toBe(200);
      const run = await read(id);
      expect(run.failureReason).toMatch(
        new RegExp(`^Withdrawn by ${ALICE}: rotated: password=\\*\\*\\*`),
      );
      expect({
        answer: leaked(withdrawn.body),
        shown: leaked(run),
        notified: leaked(sent),
        audited: leaked(audit),
      }).toEqual({ answer: [], shown: [], notified: [], audited: [] });
    });
  },
);
