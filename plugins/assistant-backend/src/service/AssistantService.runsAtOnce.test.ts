import {
  TestDatabaseId,
  TestDatabases,
  mockCredentials,
  mockServices,
} from '@backstage/backend-test-utils';
import {
  AuditorService,
  AuditorServiceCreateEventOptions,
} from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Plan } from '@kubechart/plugin-assistant-common';
import knexFactory, { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { NamespaceOwners } from '../context/namespaceOwners';
import { ConfirmationStore } from '../database/ConfirmationStore';
import { DatabaseConversationStore } from '../database/DatabaseConversationStore';
import { ClusterRegistry } from '../execution/clusters';
import { PlanExecutor } from '../execution/PlanExecutor';
import { ProviderChain } from '../providers/ProviderChain';
import { AssistantService } from './AssistantService';
import { readRunsAtOncePerUser } from './questionLimits';

jest.setTimeout(60_000);

type Event = {
  options: AuditorServiceCreateEventOptions;
  success: jest.Mock;
  fail: jest.Mock;
};

const LIST: Plan = {
  verb: 'get',
  resource: 'pods',
  namespace: 'shop',
  cluster: 'sim',
};

const alice = 'user:default/alice';
const bob = 'user:default/bob';
const callerOf = (userRef: string) => ({
  credentials: mockCredentials.user(userRef),
  userRef,
});

/** How long a run may be under way before a `running` record no longer counts (the test's setting). */
const LONGEST_RUN_MS = 60_000;

/** The summary of a run that did not report within `LONGEST_RUN_MS`. */
const NOT_REPORTED_IN_60_S =
  "Not reported within 60 s, longer than a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it): it may still be under way, and no longer counts among its user's runs at once. Its outcome replaces this if it is reported; if not, the backend that ran it stopped or could not save it (the audit trail and the cluster tell what happened).";

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * `POST /execute` runs at most `kubeAssistant.limits.runsAtOncePerUser` commands of one user at
 * once, counted in the database (the runs recorded as `running`) in the transaction that takes the
 * run, so that several backends on one database allow that many in all. The next is answered 429,
 * nothing taken or run, and recorded as a refusal; a run that ends, however it ends, gives its place
 * back; a `running` record older than a run may take (its backend stopped) does not count.
 */
describe.each(databases.eachSupportedId())(
  'AssistantService: the runs of one user at once, two backends on one %p database',
  databaseId => {
    let events: Event[];
    /** Runs under way on the cluster, each ended by calling its function. */
    let underWay: { end: (failure?: Error) => void }[];
    let knexB: Knex | undefined;
    /** Holds the start of an audit event (a slow audit backend) until the promise it returns settles. */
    let holdEvent:
      | ((
          options: AuditorServiceCreateEventOptions,
        ) => Promise<void> | undefined)
      | undefined;

    afterEach(async () => {
      // PostgreSQL: backend B's own connection pool.
      if (knexB) await knexB.destroy();
      knexB = undefined;
    });

    /** Two services (backends A and B), each with its own store and connections, on one database. */
    async function twoBackends(
      id: TestDatabaseId,
      { longestRunMs = LONGEST_RUN_MS }: { longestRunMs?: number } = {},
    ) {
      events = [];
      underWay = [];
      holdEvent = undefined;
      const knexA = await databases.init(id);
      // SQLite in memory lives in one connection: the two backends share it.
      const knexForB = id.startsWith('POSTGRES')
        ? knexFactory(knexA.client.config)
        : knexA;
      if (knexForB !== knexA) knexB = knexForB;
      const storeA = await DatabaseConversationStore.create({
        database: mockServices.database({ knex: knexA }),
        longestRunMs,
      });
      const storeB = await DatabaseConversationStore.create({
        database: mockServices.database({ knex: knexForB }),
        skipMigrations: true,
        longestRunMs,
      });
      const auditor: AuditorService = {
        createEvent: async options => {
          const held = holdEvent?.(options);
          if (held) await held;
          const event: Event = { options, success: jest.fn(), fail: jest.fn() };
          events.push(event);
          return event;
        },
      };
      const loggers: ReturnType<typeof mockServices.logger.mock>[] = [];
      const service = (store: DatabaseConversationStore) => {
        const executor = new PlanExecutor({ maxRows: 200 });
        executor.executeReporting = jest.fn(
          () =>
            new Promise((resolve, reject) => {
              underWay.push({
                end: failure =>
                  failure
                    ? reject(failure)
                    : resolve({ result: { type: 'text', text: 'ran' } }),
              });
            }),
        );
        const logger = mockServices.logger.mock();
        loggers.push(logger);
        return new AssistantService({
          chain: new ProviderChain([], logger),
          store,
          clusters: ClusterRegistry.fromConfig(
            new ConfigReader({
              kubernetes: {
                clusterLocatorMethods: [
                  {
                    type: 'config',
                    clusters: [
                      {
                        name: 'sim',
                        url: 'https://127.0.0.1:1',
                        serviceAccountToken: 'token',
                      },
                    ],
                  },
                ],
              },
            }),
          ),
          executor,
          permissions: mockServices.permissions.mock({
            authorize: jest.fn(async requests =>
              requests.map(() => ({ result: AuthorizeResult.ALLOW })),
            ) as any,
          }),
          auditor,
          catalog: catalogServiceMock({ entities: [] }),
          userInfo: mockServices.userInfo(),
          logger,
          allowDangerous: false,
          confirmations: {} as ConfirmationStore,
          confirmationTtlMs: 60_000,
          namespaceOwners: NamespaceOwners.fromConfig(new ConfigReader({})),
        });
      };
      /** An answer of `userRef` in a conversation of its own, as `/ask` keeps it. */
      const answerOf = async (userRef: string) => {
        const conversationId = await storeA.ensureConversation({
          userRef,
          title: 'list pods in shop',
        });
        const messageId = randomUUID();
        await storeA.addMessage({
          id: messageId,
          conversationId,
          userRef,
          question: 'list pods in shop',
          createdAt: new Date().toISOString(),
          plan: LIST,
          command: 'kubectl get pods --context sim -n shop',
          planSalt: 'salt',
          executions: [],
        });
        return { id: messageId, conversationId };
      };
      return {
        knex: knexA,
        a: service(storeA),
        b: service(storeB),
        store: storeA,
        answerOf,
        /** The loggers of backends A and B. */
        loggers,
      };
    }

    /**
     * How a run sent now ends: what it was answered, or `sent to the cluster` as soon as it is under
     * way (not waiting for the cluster to answer).
     */
    async function attempt(run: Promise<unknown>) {
      const before = underWay.length;
      let outcome: unknown;
      run.then(
        value => (outcome = { value }),
        reason => (outcome = { reason }),
      );
      for (let i = 0; i < 1000 && !outcome && underWay.length === before; i++)
        await new Promise(resolve => setTimeout(resolve, 1));
      return outcome ?? 'sent to the cluster';
    }

    /** Lets the runs started get as far as they can. */
    async function settle(runs: number) {
      for (let i = 0; i < 1000 && underWay.length < runs; i++) {
        await new Promise(resolve => setTimeout(resolve, 1));
      }
      expect(underWay).toHaveLength(runs);
    }

    it('answers a fourth run of one user 429 while three run on either backend, runs nothing of it, and records the refusal', async () => {
      const { a, b, store, answerOf } = await twoBackends(databaseId);
      const first = await answerOf(alice);
      const second = await answerOf(alice);
      const run = (
        service: AssistantService,
        messageId: string,
        userRef = alice,
      ) => service.execute({ messageId }, callerOf(userRef));

      const running = [run(a, first.id), run(a, second.id), run(b, first.id)];
      await settle(3);
      const eventsBefore = events.length;

      for (const [service, answer] of [
        [b, second],
        [a, first],
      ] as const) {
        expect(await attempt(run(service, answer.id))).toMatchObject({
          reason: {
            name: 'TooManyRequestsError',
            statusCode: 429,
            message:
              'user:default/alice has 3 commands running; the limit is 3 at once (kubeAssistant.limits.runsAtOncePerUser). Wait for one to finish, then run it again.',
          },
        });
      }
      expect(underWay).toHaveLength(3);
      // Recorded as refusals, and nothing is added to the answers' runs.
      const refusals = events.slice(eventsBefore);
      expect(refusals).toHaveLength(2);
      for (const refusal of refusals) {
        expect(refusal.options).toMatchObject({
          eventId: 'execution',
          meta: { user: alice },
        });
        expect(refusal.fail.mock.calls[0][0].meta).toMatchObject({
          outcome: 'refused',
          stage: 'runs-at-once',
        });
      }
      const runsOf = async (id: string) =>
        (await store.getMessage({ id, userRef: alice }))!.runCount;
      expect([await runsOf(first.id), await runsOf(second.id)]).toEqual([2, 1]);

      // Another user is not held up by them.
      const bobs = await answerOf(bob);
      const bobsRun = run(b, bobs.id, bob);
      await settle(4);

      // A run that ends, however it ends, gives its place back, on the other backend too.
      const ended: unknown[] = [];
      for (const r of running)
        r.then(
          value => ended.push(value),
          reason => ended.push(reason),
        );
      underWay[0].end();
      underWay[1].end(new Error('connect ECONNREFUSED'));
      for (let i = 0; i < 1000 && ended.length < 2; i++)
        await new Promise(resolve => setTimeout(resolve, 1));
      expect(ended).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ result: { type: 'text', text: 'ran' } }),
          expect.objectContaining({ message: 'connect ECONNREFUSED' }),
        ]),
      );
      const again = [run(b, second.id), run(b, first.id)];
      await settle(6);
      expect(await attempt(run(a, second.id))).toMatchObject({
        reason: { statusCode: 429 },
      });
      for (const { end } of underWay.slice(2)) end();
      await Promise.all([bobsRun, ...again]);
      expect(ended).toHaveLength(3);
    });

    it('allows three runs in all when runs are sent to both backends at once', async () => {
      const { a, b, answerOf } = await twoBackends(databaseId);
      const answers = [await answerOf(alice), await answerOf(alice)];
      const runs = Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).execute(
          { messageId: answers[i % 2].id },
          callerOf(alice),
        ),
      );
      const outcomes: PromiseSettledResult<unknown>[] = [];
      runs.forEach((r, i) =>
        r.then(
          value => (outcomes[i] = { status: 'fulfilled', value }),
          reason => (outcomes[i] = { status: 'rejected', reason }),
        ),
      );
      // Seven are refused and three run.
      for (let i = 0; i < 2000; i++) {
        if (outcomes.filter(Boolean).length >= 7 && underWay.length >= 3) break;
        await new Promise(resolve => setTimeout(resolve, 1));
      }
      expect(underWay).toHaveLength(3);
      const refused = outcomes.filter(Boolean);
      expect(refused).toHaveLength(7);
      for (const outcome of refused)
        expect(outcome).toMatchObject({
          status: 'rejected',
          reason: { statusCode: 429 },
        });
      for (const { end } of underWay) end();
      await Promise.allSettled(runs);
      expect(outcomes.filter(o => o.status === 'fulfilled')).toHaveLength(3);
    });

    it('does not count a run left `running` longer than a run may take (its backend stopped), and records it as interrupted', async () => {
      const { a, b, knex, store, answerOf } = await twoBackends(databaseId);
      const answer = await answerOf(alice);
      // Three runs taken by a backend that stopped before it recorded their outcome: two long ago,
      // one just now (it may still be under way).
      const takenAt = (ago: number) =>
        knex('kube_assistant_executions').insert({
          message_id: answer.id,
          status: 'running',
          summary: 'Its outcome was not recorded: …',
          created_at: new Date(Date.now() - ago),
        });
      await takenAt(LONGEST_RUN_MS + 60_000);
      await takenAt(10 * LONGEST_RUN_MS);
      await takenAt(0);

      const runs = [
        a.execute({ messageId: answer.id }, callerOf(alice)),
        b.execute({ messageId: answer.id }, callerOf(alice)),
      ];
      await settle(2);
      // The one taken just now still counts: with the two under way, three run.
      expect(
        await attempt(a.execute({ messageId: answer.id }, callerOf(alice))),
      ).toMatchObject({ reason: { statusCode: 429 } });

      const message = await store.getMessage({ id: answer.id, userRef: alice });
      const interrupted = message!.executions.filter(
        r => r.status === 'failed',
      );
      expect(interrupted).toHaveLength(2);
      for (const record of interrupted)
        expect(record.summary).toBe(NOT_REPORTED_IN_60_S);
      expect(
        message!.executions.filter(r => r.status === 'running'),
      ).toHaveLength(3);
      for (const { end } of underWay) end();
      await Promise.all(runs);
    });

    it('keeps the outcome of a run reported after it was taken as not reported, and records the marking in the audit trail', async () => {
      const longestRunMs = 400;
      const { a, b, store, answerOf, loggers } = await twoBackends(databaseId, {
        longestRunMs,
      });
      const answer = await answerOf(alice);
      const runs = async () =>
        (await store.getMessage({ id: answer.id, userRef: alice }))!.executions;
      // Run 1, on A: its audit event is slow to start (the audit backend is slow), for longer
      // than a run may take.
      let release!: () => void;
      const slowAudit = new Promise<void>(resolve => (release = resolve));
      holdEvent = options =>
        options.eventId === 'execution' && !('outcome' in (options.meta ?? {}))
          ? slowAudit
          : undefined;
      const first = a.execute({ messageId: answer.id }, callerOf(alice));
      for (let i = 0; i < 1000 && (await runs()).length === 0; i++)
        await new Promise(resolve => setTimeout(resolve, 5));
      holdEvent = undefined;
      await new Promise(resolve => setTimeout(resolve, 2 * longestRunMs));

      // Three more on B: run 1 no longer counts, and is recorded as not reported.
      const more = [1, 2, 3].map(() =>
        b.execute({ messageId: answer.id }, callerOf(alice)),
      );
      await settle(3);
      const [run1] = await runs();
      expect(run1).toMatchObject({
        status: 'failed',
        summary:
          "Not reported within 0.4 s, longer than a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it): it may still be under way, and no longer counts among its user's runs at once. Its outcome replaces this if it is reported; if not, the backend that ran it stopped or could not save it (the audit trail and the cluster tell what happened).",
      });
      const marked = events.filter(
        e => e.options.eventId === 'runs-not-reported',
      );
      expect(marked).toHaveLength(1);
      expect(marked[0].options).toMatchObject({
        severityLevel: 'medium',
        meta: {
          user: alice,
          runs: [
            {
              messageId: answer.id,
              takenAt: run1.at,
              runId: expect.any(String),
            },
          ],
        },
      });
      expect(marked[0].success).toHaveBeenCalledTimes(1);

      // Run 1 goes on, and succeeds: its outcome replaces the marking, the user is told it ran.
      release();
      await settle(4);
      for (const { end } of underWay) end();
      const outcome = (await first) as { notice?: string; result: unknown };
      expect(outcome.notice).toBeUndefined();
      expect(outcome.result).toEqual({ type: 'text', text: 'ran' });
      await Promise.all(more);
      expect((await runs()).map(r => [r.status, r.summary])).toEqual(
        Array.from({ length: 4 }, () => ['succeeded', '1 lines of text']),
      );
      expect(loggers[0].warn).toHaveBeenCalledWith(
        expect.stringMatching(
          new RegExp(
            `^The outcome of a run of answer ${answer.id} \\(it ran\\) was reported after it was recorded as not reported`,
          ),
        ),
      );
    });

    it('reads how long a run has been under way on the database clock, whatever the clocks of the backends', async () => {
      const { a, b, store, answerOf } = await twoBackends(databaseId);
      const answer = await answerOf(alice);
      const realNow = Date.now();
      // Only the clock is faked (the database's connections keep their timers).
      const clockAt = (at: number) =>
        jest.useFakeTimers({
          now: at,
          doNotFake: [
            'hrtime',
            'nextTick',
            'performance',
            'queueMicrotask',
            'requestAnimationFrame',
            'cancelAnimationFrame',
            'requestIdleCallback',
            'cancelIdleCallback',
            'setImmediate',
            'clearImmediate',
            'setInterval',
            'clearInterval',
            'setTimeout',
            'clearTimeout',
          ],
        });
      try {
        // A's clock is 10 minutes behind when it takes a run, B's 10 minutes ahead when it takes
        // the next ones: the run taken by A is under way all along.
        clockAt(realNow - 10 * 60_000);
        const runs = [a.execute({ messageId: answer.id }, callerOf(alice))];
        await settle(1);
        clockAt(realNow + 10 * 60_000);
        runs.push(b.execute({ messageId: answer.id }, callerOf(alice)));
        await settle(2);
        runs.push(b.execute({ messageId: answer.id }, callerOf(alice)));
        await settle(3);
        expect(
          await attempt(b.execute({ messageId: answer.id }, callerOf(alice))),
        ).toMatchObject({ reason: { statusCode: 429 } });
        jest.useRealTimers();
        const message = await store.getMessage({
          id: answer.id,
          userRef: alice,
        });
        expect(message!.executions.map(r => r.status)).toEqual([
          'running',
          'running',
          'running',
        ]);
        for (const { end } of underWay) end();
        await Promise.all(runs);
      } finally {
        jest.useRealTimers();
      }
    });
  },
);

describe('kubeAssistant.limits.runsAtOncePerUser', () => {
  it('defaults to 3, and refuses to start with a value that is not a whole number of at least 1', () => {
    expect(readRunsAtOncePerUser(new ConfigReader({}))).toBe(3);
    expect(
      readRunsAtOncePerUser(
        new ConfigReader({
          kubeAssistant: { limits: { runsAtOncePerUser: 1 } },
        }),
      ),
    ).toBe(1);
    expect(() =>
      readRunsAtOncePerUser(
        new ConfigReader({
          kubeAssistant: { limits: { runsAtOncePerUser: 0 } },
        }),
      ),
    ).toThrow(
      'kubeAssistant.limits.runsAtOncePerUser must be a whole number of at least 1, not 0',
    );
  });
});
