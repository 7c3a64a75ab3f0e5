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
import { KubechartRunsClient } from '@kubechart/plugin-kubechart-node';
import { randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { NewRun } from '../database/RunStore';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';
import { collectVisibleApprovals } from './approvalInbox';

jest.setTimeout(180_000);

describe('collectVisibleApprovals', () => {
  /**
   * `total` open approvals, newest first, each made in its own millisecond unless `sameMs` says
   * (by index) that it was made in the millisecond of the one before; every `every`-th is visible.
   */
  const platform = (
    total: number,
    sameMs: (i: number) => boolean = () => false,
  ) => {
    let ms = Date.parse('2030-01-01T00:00:00.000Z');
    return Array.from({ length: total }, (_, i) => {
      if (i > 0 && !sameMs(i)) ms -= 1;
      return {
        id: `r${String(i).padStart(5, '0')}`,
        createdAt: new Date(ms).toISOString(),
      } as RunListItem;
    });
  };
  /** The store's cursor over `runs`: after a run. */
  const cursors = {
    after: (r: Pick<RunListItem, 'id'>) => `after:${r.id}`,
  };
  const pager = (runs: RunListItem[], pageSize: number) => {
    const reads: Array<string | undefined> = [];
    const readPage = async (cursor?: string) => {
      reads.push(cursor);
      let from = 0;
      if (cursor?.startsWith('after:'))
        from = runs.findIndex(r => r.id === cursor.slice('after:'.length)) + 1;
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
      cursors,
      { wanted: 3, pageSize: 5, maxPages: 10 },
    );
    expect(result).toEqual({
      items: [runs[12], runs[13], runs[14]],
      truncated: false,
    });
    // On to the end of the list, to know that no other request is the caller's.
    expect(reads).toEqual([
      undefined,
      'after:r00004',
      'after:r00009',
      'after:r00014',
      'after:r00019',
      'after:r00024',
    ]);
  });

  it('says the list is cut when the caller may see more requests than it lists, and reads on after its last item', async () => {
    const runs = platform(25);
    const { reads, readPage } = pager(runs, 5);
    const visible = visibleIf(r => r.id >= 'r00011');
    // The fourth visible request is on the page that filled the list.
    const first = await collectVisibleApprovals(readPage, visible, cursors, {
      wanted: 3,
      pageSize: 5,
      maxPages: 10,
    });
    expect(first).toEqual({
      items: [runs[11], runs[12], runs[13]],
      truncated: true,
      nextCursor: 'after:r00013',
    });
    expect(reads).toEqual([undefined, 'after:r00004', 'after:r00009']);
    // The fourth is on the page after it.
    expect(
      await collectVisibleApprovals(
        pager(runs, 5).readPage,
        visibleIf(r => r.id >= 'r00012'),
        cursors,
        { wanted: 3, pageSize: 5, maxPages: 10 },
      ),
    ).toMatchObject({
      items: [runs[12], runs[13], runs[14]],
      truncated: true,
      nextCursor: 'after:r00014',
    });
    // Following the cursor lists the rest, each once.
    expect(
      await collectVisibleApprovals(pager(runs, 5).readPage, visible, cursors, {
        cursor: first.nextCursor,
        wanted: 20,
        pageSize: 5,
        maxPages: 10,
      }),
    ).toEqual({ items: runs.slice(14), truncated: false });
  });

  it('stops at the end of the list, not truncated', async () => {
    const { reads, readPage } = pager(platform(12), 5);
    expect(
      await collectVisibleApprovals(
        readPage,
        visibleIf(() => false),
        cursors,
        { wanted: 3, pageSize: 5, maxPages: 10 },
      ),
    ).toEqual({ items: [], truncated: false });
    expect(reads).toHaveLength(3);
  });

  it('reads at most maxPages pages, and gives a cursor after the last request it listed, never one naming a request the caller may not see', async () => {
    // r00019 to r00021 were made in one millisecond; the fourth page ends on r00019.
    const runs = platform(100, i => i === 20 || i === 21);
    const visible = visibleIf(
      r => r.id === 'r00001' || r.id === 'r00016' || r.id === 'r00030',
    );
    const { reads, readPage } = pager(runs, 5);
    const result = await collectVisibleApprovals(readPage, visible, cursors, {
      wanted: 3,
      pageSize: 5,
      maxPages: 4,
    });
    // The cursor is read back by whoever holds it: it names r00016, which the caller was given, and
    // nothing of r00017 to r00019 (not their ids, not when they were made).
    expect(result).toEqual({
      items: [runs[1], runs[16]],
      truncated: true,
      nextCursor: 'after:r00016',
    });
    expect(reads).toHaveLength(4);
    // Following it reads on, past more pages of others' requests, to the older ones the caller
    // sees; each cursor after the last request listed.
    const second = await collectVisibleApprovals(readPage, visible, cursors, {
      cursor: result.nextCursor,
      wanted: 3,
      pageSize: 5,
      maxPages: 4,
    });
    expect(second).toEqual({
      items: [runs[30]],
      truncated: true,
      nextCursor: 'after:r00030',
    });
  });

  it('says the list is cut, with no cursor, when the pages it may read hold no request the caller may see', async () => {
    const runs = platform(100);
    const { readPage } = pager(runs, 5);
    const visible = visibleIf(r => r.id === 'r00001' || r.id === 'r00099');
    const first = await collectVisibleApprovals(readPage, visible, cursors, {
      wanted: 3,
      pageSize: 5,
      maxPages: 4,
    });
    expect(first).toEqual({
      items: [runs[1]],
      truncated: true,
      nextCursor: 'after:r00001',
    });
    // A cursor past others' requests would tell where they are: none is given, the list says it is cut.
    expect(
      await collectVisibleApprovals(readPage, visible, cursors, {
        cursor: first.nextCursor,
        wanted: 3,
        pageSize: 5,
        maxPages: 4,
      }),
    ).toEqual({ items: [], truncated: true });
  });
});

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const EVE = 'user:default/eve';
const CAROL = 'user:default/carol';
const DAVE = 'user:default/dave';
const PAYMENTS = 'group:default/payments';
const OPS = 'group:default/ops';
const GROUPS: Record<string, string[]> = {
  [ALICE]: [PAYMENTS],
  [BOB]: [PAYMENTS],
  [CAROL]: [OPS],
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

    it('gives a cursor past the 200 listed, and following it reads every request the caller may see', async () => {
      const asked: string[] = [];
      for (let i = 0; i < 205; i++)
        asked.push((await awaiting(ALICE, `payments-${i}`, [PAYMENTS])).id);
      const page = async (query = '') => {
        const r = await request(server)
          .get(`/api/kubechart/approvals${query}`)
          .set('Authorization', mockCredentials.user.header(BOB));
        expect(r.status).toBe(200);
        return r.body;
      };
      const first = await page();
      expect(first.items).toHaveLength(200);
      expect(first).toMatchObject({
        truncated: true,
        nextCursor: expect.any(String),
      });
      const second = await page(
        `?cursor=${encodeURIComponent(first.nextCursor)}`,
      );
      expect(second.nextCursor).toBeUndefined();
      expect(second.truncated).toBeUndefined();
      const ids = [...first.items, ...second.items].map(
        (r: RunListItem) => r.id,
      );
      // Each once: these 205 and the one listed above.
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.filter(id => asked.includes(id)).sort()).toEqual(
        [...asked].sort(),
      );
      expect(ids).toHaveLength(206);
      // A cursor the caller made up is refused, not read as the first page.
      expect(
        (
          await request(server)
            .get('/api/kubechart/approvals?cursor=not-a-cursor')
            .set('Authorization', mockCredentials.user.header(BOB))
        ).status,
      ).toBe(400);
    });

    it("reads every page through kubechart-node's client, following its cursor", async () => {
      const asked = new Set<string>();
      for (let i = 0; i < 201; i++)
        asked.add((await awaiting(DAVE, `ops-${i}`, [OPS])).id);
      const port = (server.address() as AddressInfo).port;
      const runs = new KubechartRunsClient({
        auth: mockServices.auth(),
        discovery: {
          getBaseUrl: async () => `http://localhost:${port}/api/kubechart`,
          getExternalBaseUrl: async () => '',
        },
      });
      const credentials = mockCredentials.user(CAROL);
      const first = await runs.listApprovals({ credentials });
      expect(first.items).toHaveLength(200);
      expect(first).toMatchObject({
        truncated: true,
        nextCursor: expect.any(String),
      });
      const second = await runs.listApprovals({
        credentials,
        cursor: first.nextCursor,
      });
      expect(second).toEqual({ items: [expect.anything()], truncated: false });
      const ids = [...first.items, ...second.items].map(r => r.id);
      expect(new Set(ids)).toEqual(asked);
      expect(ids).toHaveLength(201);
    });
  },
);
