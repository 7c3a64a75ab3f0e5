import {
  BackstageCredentials,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim } from '@internal/kube-sim';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { NewRun } from '../database/RunStore';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';
import { RUNS_LOOKED_AT } from './router';

jest.setTimeout(300_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const A = 'component:default/a';
const B = 'component:default/b';
/** What each user owns, as a catalog IS_ENTITY_OWNER condition would decide it. */
const OWNS: Record<string, string[]> = { [ALICE]: [A], [BOB]: [B] };
/** Who owns each entity in the catalog. */
const OWNER_OF: Record<string, string> = { [A]: ALICE, [B]: BOB };

/** Owners only: a conditional decision for reads, each entity allowed to its owner; creating runs is allowed. */
const ownersOnly = createServiceFactory({
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
        return requests.map(() => ({
          result: AuthorizeResult.CONDITIONAL,
          pluginId: 'catalog',
          resourceType: 'catalog-entity',
          conditions: {
            rule: 'IS_ENTITY_OWNER',
            resourceType: 'catalog-entity',
            params: { claims: [user(options?.credentials)] },
          },
        }));
      },
      async authorize(
        requests: any[],
        options?: { credentials: BackstageCredentials },
      ) {
        const u = user(options?.credentials);
        return requests.map(r => ({
          result:
            !r.resourceRef || (u && OWNS[u]?.includes(r.resourceRef))
              ? AuthorizeResult.ALLOW
              : AuthorizeResult.DENY,
        }));
      },
    } as any;
  },
});

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * Under an owners-only policy a page of `GET /runs` and the answers of the routes that change a run
 * tell a caller nothing about the runs it may not read: not their ids (through `nextCursor`), not
 * whether runs match a filter, not who requested or recorded them.
 */
describe.each(databases.eachSupportedId())(
  'runs a caller may not read, on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    let store: DatabaseRunStore;

    beforeAll(async () => {
      sim = await startSim();
      knex = await databases.init(databaseId);
      const backend = await startKubechartBackend({
        config: testConfig(sim, { health: { startOnBoot: false } }),
        knex,
        features: [
          ownersOnly,
          catalogServiceMock.factory({
            entities: Object.entries(OWNER_OF).map(([ref, owner]) => ({
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: { name: ref.split('/')[1], namespace: 'default' },
              spec: { type: 'service', lifecycle: 'production', owner },
            })),
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
      store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    const as = (who: string) => mockCredentials.user.header(who);
    const get = (who: string, path: string) =>
      request(server)
        .get(`/api/kubechart${path}`)
        .set('Authorization', as(who));
    const post = (who: string, path: string, body: object) =>
      request(server)
        .post(`/api/kubechart${path}`)
        .set('Authorization', as(who))
        .send(body);

    /** Seeded runs are created `at` ms after this: the history's order is set by each run's `at`. */
    const START = Date.parse('2026-01-01T00:00:00.000Z');
    let seeded = 0;
    type Seeded = {
      at: number;
      /** Default: a random UUID. Runs of one millisecond are listed by id, the highest first. */
      id?: string;
      actor: string;
      entityRef?: string;
      kind?: NewRun['kind'];
      action?: string;
    };
    /** Records one finished run (in a namespace of its own) at `at` ms after START; its id. */
    const seedOne = async (r: Seeded, namespace: string) => {
      const created = await store.createRun(
        {
          id: r.id ?? randomUUID(),
          kind: r.kind ?? 'custom',
          status: 'succeeded',
          actor: r.actor,
          // Made while its entity had the owner the catalog below gives it.
          ...(r.entityRef
            ? { entityRef: r.entityRef, entityOwner: OWNER_OF[r.entityRef] }
            : {}),
          ...(r.action ? { action: r.action } : {}),
          target: { cluster: 'dev', namespace },
          input: {},
        },
        [],
      );
      await knex('kubechart_runs')
        .where({ id: created.id })
        .update({ created_at: START + r.at });
      return created.id;
    };
    /** Records finished runs directly in the store, 50 at a time; their ids, in order. */
    const seed = async (runs: Seeded[]) => {
      const first = seeded;
      seeded += runs.length;
      const ids: string[] = [];
      for (let i = 0; i < runs.length; i += 50) {
        ids.push(
          ...(await Promise.all(
            runs
              .slice(i, i + 50)
              .map((r, j) => seedOne(r, `seeded-${first + i + j}`)),
          )),
        );
      }
      return ids;
    };
    /** The `[createdAt ms, id]` a cursor names. */
    const decoded = (cursor: string) =>
      JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));

    /** Every page of `GET /runs?<query>` as `who` reads them, following `nextCursor`. */
    const pages = async (who: string, query: string) => {
      const read: Array<{
        items: string[];
        nextCursor?: string;
        truncated?: boolean;
      }> = [];
      let cursor: string | undefined;
      do {
        const r = await get(
          who,
          `/runs?${query}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(r.status).toBe(200);
        read.push({ ...r.body, items: r.body.items.map((i: any) => i.id) });
        cursor = r.body.nextCursor;
      } while (cursor && read.length < 100);
      return read;
    };

    describe('GET /runs', () => {
      const alices: string[] = [];
      const bobs: string[] = [];
      beforeAll(async () => {
        // Kind `tenant-delete` marks this test's history: newest first, alice's runs (on her
        // entity and without one) with 20 of bob's runs before each.
        const history: Seeded[] = [];
        for (let i = 0; i < 8; i++) {
          for (let j = 0; j < 20; j++)
            history.push({
              at: 100_000 - i * 100 - j,
              actor: BOB,
              entityRef: B,
              kind: 'tenant-delete',
            });
          history.push({
            at: 100_000 - i * 100 - 50,
            actor: ALICE,
            ...(i % 2 ? {} : { entityRef: A }),
            kind: 'tenant-delete',
          });
        }
        const ids = await seed(history);
        history.forEach((h, i) =>
          (h.actor === ALICE ? alices : bobs).push(ids[i]),
        );
      });

      it('pages an owner through their own runs with cursors that name only runs they read', async () => {
        const read = await pages(ALICE, 'kind=tenant-delete&limit=3');
        expect(read.flatMap(p => p.items)).toEqual(alices);
        expect(read.map(p => p.items.length)).toEqual([3, 3, 2]);
        // Each page's cursor names its own last run; the last page has none, and no page is cut.
        expect(
          read.map(p => [
            p.nextCursor && decoded(p.nextCursor)[1],
            p.truncated,
          ]),
        ).toEqual([
          [read[0].items[2], undefined],
          [read[1].items[2], undefined],
          [undefined, undefined],
        ]);
        // Bob, who owns his entity, pages his runs and none of alice's.
        expect(
          (await pages(BOB, 'kind=tenant-delete&limit=50')).flatMap(
            p => p.items,
          ),
        ).toEqual(bobs);
      });

      it('tells nothing through a filter on runs the caller may not read', async () => {
        for (const query of [
          `actor=${BOB}&limit=1`,
          `actor=${BOB}&kind=tenant-delete&limit=1`,
        ]) {
          const r = await get(ALICE, `/runs?${query}`);
          expect({ query, status: r.status, body: r.body }).toEqual({
            query,
            status: 200,
            body: { items: [] },
          });
        }
        // The same filters answer an owner of that entity.
        const own = await get(BOB, `/runs?entityRef=${B}&limit=1`);
        expect(own.body.items).toHaveLength(1);
        expect(decoded(own.body.nextCursor)[1]).toBe(own.body.items[0].id);
      });

      it('refuses the history of an entity the caller may not read, in the same words whether it has runs or not', async () => {
        const refusal = (entityRef: string) => ({
          status: 403,
          error: {
            name: 'NotAllowedError',
            message: `You may not read the runs of ${entityRef}: kubechart.runs.read is granted to you for some entities only, and not for this one`,
          },
        });
        // B holds bob's runs; C holds none and is not in the catalog.
        const C = 'component:default/c';
        for (const [entityRef, query] of [
          [B, `entityRef=${B}&limit=1`],
          [B, `entityRef=${B}&status=succeeded&limit=1`],
          [B, `entityRef=${encodeURIComponent('Component:B')}`],
          [C, `entityRef=${C}`],
        ]) {
          const r = await get(ALICE, `/runs?${query}`);
          expect({
            query,
            status: r.status,
            error: r.body.error && {
              name: r.body.error.name,
              message: r.body.error.message,
            },
          }).toEqual({ query, ...refusal(entityRef) });
        }
        // Her own entity is hers to read, with runs or without any that match.
        expect(
          (await get(ALICE, `/runs?entityRef=${A}`)).body.items,
        ).not.toEqual([]);
        const none = await get(ALICE, `/runs?entityRef=${A}&status=failed`);
        expect([none.status, none.body]).toEqual([200, { items: [] }]);
      });

      it(`looks at ${RUNS_LOOKED_AT} runs a page at most, says so, and pages on past any number of runs the caller may not read without naming one`, async () => {
        // Newest first: one of alice's runs, more than two pages' worth of bob's, then two of alice's.
        const [newest, ...rest] = await seed([
          { at: 50_000, actor: ALICE, kind: 'rollback' },
          ...Array.from({ length: 2 * RUNS_LOOKED_AT + 50 }, (_, i) => ({
            at: 49_000 - i,
            actor: BOB,
            entityRef: B,
            kind: 'rollback' as const,
          })),
          { at: 40_000, actor: ALICE, entityRef: A, kind: 'rollback' },
          { at: 39_000, actor: ALICE, kind: 'rollback' },
        ]);
        const older = rest.slice(-2);
        const bobsIds = new Set(rest.slice(0, -2));

        // Each page looks at 1,000 runs at most: hers on the first, none on the second (an empty
        // page that reads on), the older two on the third, which ends the history.
        const read = await pages(ALICE, 'kind=rollback&limit=5');
        expect(read.map(p => [p.items, p.truncated])).toEqual([
          [[newest], true],
          [[], true],
          [older, undefined],
        ]);
        // A cursor that reads on past runs left out names a time, never a run (of bob's or any).
        for (const p of read.slice(0, 2)) {
          const [, id] = decoded(p.nextCursor!);
          expect(id).toBe('');
          expect(bobsIds.has(id)).toBe(false);
        }
        expect(read[2].nextCursor).toBeUndefined();

        // A time range where alice has no run pages to its end, every page empty.
        const range = `kind=rollback&limit=5&to=${new Date(
          START + 49_500,
        ).toISOString()}&from=${new Date(START + 45_000).toISOString()}`;
        const none = await pages(ALICE, range);
        expect(none.map(p => [p.items, p.truncated])).toEqual([
          [[], true],
          [[], true],
          [[], undefined],
        ]);
        // Narrowed in time, the older runs are found at once.
        const narrowed = await get(
          ALICE,
          `/runs?kind=rollback&to=${new Date(START + 45_000).toISOString()}`,
        );
        expect(narrowed.body).toEqual({
          items: older.map(id => expect.objectContaining({ id })),
        });
      });

      it(`finds a run of the caller's in the millisecond where a page stopped looking`, async () => {
        // Newest first: one of alice's runs, bob's runs up to 1,000 looked at in the middle of one
        // millisecond's 50 runs, the last of which (the lowest id) is alice's.
        const millisecond = 20_000;
        const last = '00000000-0000-4000-8000-000000000000';
        const [newest, ...rest] = await seed([
          { at: 30_000, actor: ALICE, kind: 'manifests' },
          ...Array.from({ length: RUNS_LOOKED_AT - 10 }, (_, i) => ({
            at: 29_000 - i,
            actor: BOB,
            entityRef: B,
            kind: 'manifests' as const,
          })),
          ...Array.from({ length: 49 }, () => ({
            at: millisecond,
            actor: BOB,
            entityRef: B,
            kind: 'manifests' as const,
          })),
          { at: millisecond, id: last, actor: ALICE, kind: 'manifests' },
          { at: 10_000, actor: ALICE, kind: 'manifests' },
        ]);
        const oldest = rest[rest.length - 1];
        const read = await pages(
          ALICE,
          `kind=manifests&limit=5&from=${new Date(START).toISOString()}`,
        );
        expect(read.flatMap(p => p.items)).toEqual([newest, last, oldest]);
      });
    });

    describe('changes to a run the caller may not read', () => {
      /** What GET /runs/:id answers `who` for run `id`. */
      const readAnswer = async (who: string, id: string) => {
        const r = await get(who, `/runs/${id}`);
        return { status: r.status, message: r.body.error?.message };
      };
      const answer = (r: request.Response) => ({
        status: r.status,
        message: r.body.error?.message,
      });
      const manifests = {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'team-b',
        manifests:
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n',
      };

      it("answers appending to or finishing another team's run as reading it would", async () => {
        const [recorded, engineRun] = await seed([
          {
            at: 1,
            actor: BOB,
            entityRef: B,
            kind: 'custom',
            action: 'acme:thing:make',
          },
          { at: 2, actor: BOB, entityRef: B, kind: 'chart' },
        ]);
        await knex('kubechart_runs').where({ id: recorded }).update({
          recorded_by: 'service:plugin:scaffolder',
          status: 'running',
        });
        for (const id of [recorded, engineRun]) {
          const expected = await readAnswer(ALICE, id);
          // As a run that does not exist.
          expect(expected).toEqual({
            status: 404,
            message: `Run ${id} not found`,
          });
          const events = await post(ALICE, `/runs/${id}/events`, {
            events: [{ message: 'hello' }],
          });
          const finish = await post(ALICE, `/runs/${id}/finish`, {
            status: 'failed',
          });
          expect([answer(events), answer(finish)]).toEqual([
            expected,
            expected,
          ]);
        }
        // Nothing was changed.
        expect((await store.getRun(recorded))?.status).toBe('running');
        expect(
          await store.getEvents(recorded, { after: 0, limit: 10 }),
        ).toEqual([]);
        // A reader of the run still learns why it may not write to it.
        const own = await post(BOB, `/runs/${engineRun}/events`, {
          events: [{ message: 'hello' }],
        });
        expect(answer(own)).toEqual({
          status: 409,
          message: `Run ${engineRun} is executed by kubechart; only recorded runs accept events`,
        });
        // An unknown run is 404 either way.
        const unknown = randomUUID();
        expect(
          answer(
            await post(ALICE, `/runs/${unknown}/finish`, { status: 'failed' }),
          ),
        ).toEqual(await readAnswer(ALICE, unknown));
      });

      it("answers submitting the input of another team's approved run as reading it would", async () => {
        const gated = await store.createAwaitingRun(
          {
            id: randomUUID(),
            kind: 'manifests',
            status: 'awaiting-approval',
            actor: BOB,
            entityRef: B,
            entityOwner: BOB,
            target: { cluster: 'dev', namespace: 'team-b' },
            input: {},
          } as NewRun,
          {
            rule: 'production',
            required: 1,
            approvers: ['group:default/ops'],
            planHash: 'h',
            planSalt: 's',
            expiresAt: new Date(Date.now() + 3_600_000),
            exec: {},
          },
          {},
        );
        const expected = await readAnswer(ALICE, gated.id);
        expect(expected).toEqual({
          status: 404,
          message: `Run ${gated.id} not found`,
        });
        expect(
          answer(await post(ALICE, `/runs/${gated.id}/execute`, manifests)),
        ).toEqual(expected);
        const unknown = randomUUID();
        expect(
          answer(await post(ALICE, `/runs/${unknown}/execute`, manifests)),
        ).toEqual(await readAnswer(ALICE, unknown));
        // Its requester, who reads it, is told where it stands.
        expect(
          answer(await post(BOB, `/runs/${gated.id}/execute`, manifests)),
        ).toEqual({
          status: 409,
          message: `Run ${gated.id} is not approved (its approval is awaiting)`,
        });
      });
    });
  },
);
