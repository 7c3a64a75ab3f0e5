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
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import type { RunListItem } from '@kubechart/plugin-kubechart-common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { NewRun } from '../database/RunStore';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';
import { collectVisibleApprovals } from './approvalInbox';

jest.setTimeout(180_000);

describe('collectVisibleApprovals', () => {
  /** `total` open approvals, newest first; every `every`-th is visible. */
  const platform = (total: number) =>
    Array.from(
      { length: total },
      (_, i) => ({ id: `r${String(i).padStart(5, '0')}` } as RunListItem),
    );
  const pager = (runs: RunListItem[], pageSize: number) => {
    const reads: Array<string | undefined> = [];
    const readPage = async (before?: RunListItem) => {
      reads.push(before?.id);
      const from = before ? runs.findIndex(r => r.id === before.id) + 1 : 0;
      return runs.slice(from, from + pageSize);
    };
    return { reads, readPage };
  };
  const visibleIf =
    (keep: (r: RunListItem) => boolean) => async (page: RunListItem[]) =>
      page.filter(keep);

  it('reads on past pages of others’ requests until it has found enough', async () => {
    const runs = platform(25);
    const { reads, readPage } = pager(runs, 5);
    const result = await collectVisibleApprovals(
      readPage,
      visibleIf(r => r.id >= 'r00012' && r.id <= 'r00014'),
      { wanted: 3, pageSize: 5, maxPages: 10 },
    );
    expect(result).toEqual({
      items: [runs[12], runs[13], runs[14]],
      truncated: false,
    });
    // On to the end of the list, to know that no other request is the caller's.
    expect(reads).toEqual([
      undefined,
      'r00004',
      'r00009',
      'r00014',
      'r00019',
      'r00024',
    ]);
  });

  it('says the list is cut when the caller may see more requests than it lists', async () => {
    const runs = platform(25);
    const { reads, readPage } = pager(runs, 5);
    // The fourth visible request is on the page that filled the list.
    expect(
      await collectVisibleApprovals(
        readPage,
        visibleIf(r => r.id >= 'r00011'),
        { wanted: 3, pageSize: 5, maxPages: 10 },
      ),
    ).toEqual({ items: [runs[11], runs[12], runs[13]], truncated: true });
    expect(reads).toEqual([undefined, 'r00004', 'r00009']);
    // The fourth is on the page after it.
    expect(
      await collectVisibleApprovals(
        pager(runs, 5).readPage,
        visibleIf(r => r.id >= 'r00012'),
        { wanted: 3, pageSize: 5, maxPages: 10 },
      ),
    ).toEqual({ items: [runs[12], runs[13], runs[14]], truncated: true });
  });

  it('stops at the end of the list, not truncated', async () => {
    const { reads, readPage } = pager(platform(12), 5);
    expect(
      await collectVisibleApprovals(
        readPage,
        visibleIf(() => false),
        { wanted: 3, pageSize: 5, maxPages: 10 },
      ),
    ).toEqual({ items: [], truncated: false });
    expect(reads).toHaveLength(3);
  });

  it('reads at most maxPages pages, and says so', async () => {
    const runs = platform(100);
    const { reads, readPage } = pager(runs, 5);
    const result = await collectVisibleApprovals(
      readPage,
      visibleIf(r => r.id === 'r00001' || r.id === 'r00099'),
      { wanted: 3, pageSize: 5, maxPages: 4 },
    );
    expect(result).toEqual({ items: [runs[1]], truncated: true });
    expect(reads).toHaveLength(4);
  });
});

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const EVE = 'user:default/eve';
const PAYMENTS = 'group:default/payments';
const GROUPS: Record<string, string[]> = {
  [ALICE]: [PAYMENTS],
  [BOB]: [PAYMENTS],
};

const allowAll = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const decide = async (requests: any[]) =>
      requests.map(() => ({ result: AuthorizeResult.ALLOW }));
    return { authorize: decide, authorizeConditional: decide } as any;
  },
});

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

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'GET /approvals on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let store: DatabaseRunStore;

    beforeAll(async () => {
      sim = await startSim();
      const knex = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({
            data: testConfig(sim, { health: { startOnBoot: false } }),
          }),
          mockServices.database.factory({ knex }),
          allowAll,
          userInfo,
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => {} }),
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
      // The requests below are recorded as the engine records them, on the plugin's own database.
      store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    const awaiting = (actor: string, namespace: string, approvers: string[]) =>
      store.createAwaitingRun(
        {
          id: randomUUID(),
          kind: 'chart',
          status: 'awaiting-approval',
          actor,
          target: { cluster: 'dev', namespace, release: 'web' },
          input: { release: { name: 'web' } },
        } as NewRun,
        {
          rule: 'production',
          required: 1,
          approvers,
          planHash: 'h',
          planSalt: 's',
          expiresAt: new Date(Date.now() + 3_600_000),
          exec: {},
        },
        {},
      );

    it("lists an approver's request however many newer ones are others'", async () => {
      const mine = await awaiting(ALICE, 'payments', [PAYMENTS]);
      await new Promise(r => setTimeout(r, 5));
      for (let i = 0; i < 250; i++)
        await awaiting(EVE, `other-${i}`, ['group:default/others']);

      const listed = async (who: string) =>
        (
          await request(server)
            .get('/api/kubechart/approvals')
            .set('Authorization', mockCredentials.user.header(who))
        ).body;
      // Bob may decide on alice's request; alice sees her own.
      expect(await listed(BOB)).toEqual({
        items: [
          expect.objectContaining({
            id: mine.id,
            actor: ALICE,
            approval: expect.objectContaining({ viewer: { mayDecide: true } }),
          }),
        ],
      });
      expect((await listed(ALICE)).items.map((r: RunListItem) => r.id)).toEqual(
        [mine.id],
      );
    });
  },
);
