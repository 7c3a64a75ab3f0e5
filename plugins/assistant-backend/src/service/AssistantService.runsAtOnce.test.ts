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

    /** When set, the audit events complete only once it settles. */
    let completing: Promise<void> | undefined;
    /** When set, what a run does on the cluster (else it waits to be ended, see `underWay`). */
    let onCluster:
      | ((
          executor: PlanExecutor,
          ...args: Parameters<PlanExecutor['executeReporting']>
        ) => ReturnType<PlanExecutor['executeReporting']>)
      | undefined;

    afterEach(async () => {
      onCluster = undefined;
      completing = undefined;
      // PostgreSQL: backend B's own connection pool.
      if (knexB) await knexB.destroy();
      knexB = undefined;
    });

    /** Two services (backends A and B), each with its own store and connections, on one database. */
    async function twoBackends(
      id: TestDatabaseId,
      {
        longestRunMs = LONGEST_RUN_MS,
        atOnce,
      }: { longestRunMs?: number; atOnce?: number } = {},
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
        maxRunsAtOncePerUser: atOnce,
      });
      const storeB = await DatabaseConversationStore.create({
        database: mockServices.database({ knex: knexForB }),
        skipMigrations: true,
        longestRunMs,
        maxRunsAtOncePerUser: atOnce,
      });
      const auditor: AuditorService = {
        createEvent: async options => {
          const held = holdEvent?.(options);
          if (held) await held;
          // A slow audit backend completes an event only once `completing` settles.
          const completion = () => completing ?? Promise.resolve();
          const event: Event = {
            options,
            success: jest.fn(completion),
            fail: jest.fn(completion),
          };
          events.push(event);
          return event;
        },
      };
      const loggers: ReturnType<typeof mockServices.logger.mock>[] = [];
      const service = (store: DatabaseConversationStore) => {
        const executor = new PlanExecutor({ maxRows: 200 });
        executor.executeReporting = jest.fn((plan, kc, stop) =>
          onCluster
            ? onCluster(executor, plan, kc, stop)
            : new Promise((resolve, reject) => {
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

    /** Ends every run under way until `runs` settled (a run released late may start meanwhile). */
    async function endAll(runs: Promise<unknown>[]) {
      let settled = false;
      Promise.allSettled(runs).then(() => (settled = true));
      for (let i = 0; i < 1000 && !settled; i++) {
        for (const { end } of underWay) end();
        await new Promise(resolve => setTimeout(resolve, 5));
      }
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

    it('counts a run whose record is slow to save until it ends, which it does within the time a run counts, and keeps its outcome saved late', async () => {
      const longestRunMs = 1500;
      const { a, b, store, answerOf, loggers } = await twoBackends(databaseId, {
        longestRunMs,
        atOnce: 1,
      });
      const answer = await answerOf(alice);
      const runs = async () =>
        (await store.getMessage({ id: answer.id, userRef: alice }))!.executions;
      // Backend A saves the outcome of a run only once released (its database is slow).
      let release!: () => void;
      const slowSave = new Promise<void>(resolve => (release = resolve));
      const completeRun = store.completeRun.bind(store);
      store.completeRun = async options => {
        await slowSave;
        return completeRun(options);
      };
      // Run 1, on A: the cluster answers, then its outcome waits to be saved.
      const first = a.execute({ messageId: answer.id }, callerOf(alice));
      const more: Promise<unknown>[] = [first];
      try {
        let ended = false;
        first.then(
          () => (ended = true),
          () => (ended = true),
        );
        await settle(1);
        underWay[0].end();

        // Until run 1 ends, a further run of the user is refused 429; after, one runs.
        let admitted: string | undefined;
        const refusedBefore: unknown[] = [];
        for (let i = 0; i < 100 && !admitted; i++) {
          const endedBefore = ended;
          const next = b.execute({ messageId: answer.id }, callerOf(alice));
          const outcome = await attempt(next);
          if (outcome === 'sent to the cluster') {
            more.push(next);
            admitted = endedBefore
              ? 'after run 1 ended'
              : 'while run 1 was under way';
          } else {
            refusedBefore.push(outcome);
            await new Promise(resolve =>
              setTimeout(resolve, longestRunMs / 20),
            );
          }
        }
        expect(admitted).toBe('after run 1 ended');
        expect(refusedBefore.length).toBeGreaterThan(0);
        for (const refused of refusedBefore)
          expect(refused).toMatchObject({ reason: { statusCode: 429 } });

        // Run 1 was given up at its time: the user is told it ran, and that its record was not saved
        // in that time (it is still being saved).
        const outcome = (await first) as { notice?: string; result: unknown };
        expect(outcome.result).toEqual({ type: 'text', text: 'ran' });
        expect(outcome.notice).toBe(
          'The command ran, but its record was not saved within the time a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it): it may still be saved; until then this conversation shows the run as under way (the audit trail has it).',
        );
        expect(loggers[0].warn).toHaveBeenCalledWith(
          `Stopped waiting for the record of a run of answer ${answer.id} (it ran) to be saved: The run was given up at the longest a run may take (1.5 s: kubeAssistant.executionTimeoutSeconds and the time to record it), after which it no longer counts among its user's runs at once (kubeAssistant.limits.runsAtOncePerUser). It is still being saved; a failure to save it is logged.`,
        );
        // The run on B recorded it as not reported, in the conversation and in the audit trail.
        const [run1] = await runs();
        expect(run1).toMatchObject({
          status: 'failed',
          summary:
            "Not reported within 1.5 s, longer than a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it): it may still be under way, and no longer counts among its user's runs at once. Its outcome replaces this if it is reported; if not, the backend that ran it stopped or could not save it (the audit trail and the cluster tell what happened).",
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

        // Its outcome, saved late, replaces the marking.
        release();
        for (
          let i = 0;
          i < 1000 && (await runs())[0].status !== 'succeeded';
          i++
        )
          await new Promise(resolve => setTimeout(resolve, 5));
        expect((await runs())[0]).toMatchObject({
          status: 'succeeded',
          summary: '1 lines of text',
        });
        expect(loggers[0].warn).toHaveBeenCalledWith(
          expect.stringMatching(
            new RegExp(
              `^The outcome of a run of answer ${answer.id} \\(it ran\\) was reported after it was recorded as not reported`,
            ),
          ),
        );
      } finally {
        release();
        await endAll(more);
      }
    });

    it('does not send a run to the cluster whose audit event starts only after the time a run counts', async () => {
      const longestRunMs = 400;
      const { a, b, store, answerOf } = await twoBackends(databaseId, {
        longestRunMs,
        atOnce: 1,
      });
      const answer = await answerOf(alice);
      const runs = async () =>
        (await store.getMessage({ id: answer.id, userRef: alice }))!.executions;
      // The audit backend is slow to start the run's event.
      let release!: () => void;
      const slowAudit = new Promise<void>(resolve => (release = resolve));
      holdEvent = options =>
        options.eventId === 'execution' && !('outcome' in (options.meta ?? {}))
          ? slowAudit
          : undefined;
      const first = a.execute({ messageId: answer.id }, callerOf(alice));
      try {
        let outcome: unknown;
        first.then(
          value => (outcome = { value }),
          reason => (outcome = { reason }),
        );
        for (let i = 0; i < 1000 && !outcome; i++)
          await new Promise(resolve => setTimeout(resolve, 5));
        expect(outcome).toMatchObject({
          reason: {
            name: 'ServiceUnavailableError',
            message:
              "The run was given up at the longest a run may take (0.4 s: kubeAssistant.executionTimeoutSeconds and the time to record it), after which it no longer counts among its user's runs at once (kubeAssistant.limits.runsAtOncePerUser).",
          },
        });
        expect(underWay).toHaveLength(0);
        // Recorded as not run, and the user's next run runs.
        for (let i = 0; i < 1000 && (await runs())[0].status === 'running'; i++)
          await new Promise(resolve => setTimeout(resolve, 5));
        expect((await runs())[0]).toMatchObject({
          status: 'failed',
          summary: expect.stringMatching(
            /^Not run: The run was given up at the longest a run may take \(0\.4 s/,
          ),
        });
        holdEvent = undefined;
        const next = b.execute({ messageId: answer.id }, callerOf(alice));
        await settle(1);
        underWay[0].end();
        await next;

        // The event that started late says the run stopped.
        release();
        const failed = () =>
          events.filter(
            e =>
              e.options.eventId === 'execution' && e.fail.mock.calls.length > 0,
          );
        for (let i = 0; i < 1000 && failed().length === 0; i++)
          await new Promise(resolve => setTimeout(resolve, 5));
        const late = failed();
        expect(late).toHaveLength(1);
        expect(late[0].fail.mock.calls[0][0]).toMatchObject({
          meta: { outcome: 'error' },
          error: { name: 'ServiceUnavailableError' },
        });
        expect(underWay).toHaveLength(1);
      } finally {
        release();
        await endAll([first]);
      }
    });

    it('records a run stopped at its time before it sent anything to the cluster as not run', async () => {
      const longestRunMs = 400;
      const { a, store, answerOf } = await twoBackends(databaseId, {
        longestRunMs,
        atOnce: 1,
      });
      const answer = await answerOf(alice);
      const runs = async () =>
        (await store.getMessage({ id: answer.id, userRef: alice }))!.executions;
      // The executor is reached, but its time is up before it sends anything.
      onCluster = async (executor, plan, kc, stop) => {
        await new Promise(resolve =>
          stop!.addEventListener('abort', resolve, { once: true }),
        );
        return PlanExecutor.prototype.executeReporting.call(
          executor,
          plan,
          kc,
          stop,
        );
      };
      const error = await a
        .execute({ messageId: answer.id }, callerOf(alice))
        .catch(e => e);
      expect(error.message).toMatch(
        /^The run was given up at the longest a run may take \(0\.4 s.* Nothing was sent to the cluster\.$/,
      );
      for (let i = 0; i < 1000 && (await runs())[0].status === 'running'; i++)
        await new Promise(resolve => setTimeout(resolve, 5));
      expect((await runs())[0]).toMatchObject({
        status: 'failed',
        summary: expect.stringMatching(
          /^Not run: The run was given up at the longest a run may take \(0\.4 s.* Nothing was sent to the cluster\.$/,
        ),
      });
    });

    it('saves the record of a run whose audit event completed only at the end of its time, and does not tell the user it could not be saved', async () => {
      const longestRunMs = 3000;
      const { a, store, answerOf, loggers } = await twoBackends(databaseId, {
        longestRunMs,
        atOnce: 1,
      });
      const answer = await answerOf(alice);
      // The audit backend completes the run's event well after the run's time.
      let release!: () => void;
      completing = new Promise<void>(resolve => (release = resolve));
      const run = a.execute({ messageId: answer.id }, callerOf(alice));
      try {
        await settle(1);
        underWay[0].end();
        const outcome = (await run) as { notice?: string; result: unknown };
        expect(outcome.result).toEqual({ type: 'text', text: 'ran' });
        expect(outcome.notice).toBeUndefined();
        const [saved] = (await store.getMessage({
          id: answer.id,
          userRef: alice,
        }))!.executions;
        expect(saved).toMatchObject({
          status: 'succeeded',
          summary: '1 lines of text',
        });
        expect(loggers[0].error).not.toHaveBeenCalledWith(
          expect.stringMatching(/^Could not save the record/),
          expect.anything(),
        );
      } finally {
        release();
        await endAll([run]);
      }
    });

    it('logs a record that fails to save after its run stopped waiting for it', async () => {
      const longestRunMs = 400;
      const { a, store, answerOf, loggers } = await twoBackends(databaseId, {
        longestRunMs,
        atOnce: 1,
      });
      const answer = await answerOf(alice);
      // The database holds the save beyond the run's time and its grace, then fails it.
      let fail!: (error: Error) => void;
      const failing = new Promise<never>((_, reject) => (fail = reject));
      store.completeRun = () => failing;
      const run = a.execute({ messageId: answer.id }, callerOf(alice));
      try {
        await settle(1);
        underWay[0].end();
        const outcome = (await run) as { notice?: string };
        expect(outcome.notice).toBe(
          'The command ran, but its record was not saved within the time a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it): it may still be saved; until then this conversation shows the run as under way (the audit trail has it).',
        );
        fail(new Error('connection reset'));
        for (
          let i = 0;
          i < 1000 && loggers[0].error.mock.calls.length === 0;
          i++
        )
          await new Promise(resolve => setTimeout(resolve, 5));
        expect(loggers[0].error).toHaveBeenCalledWith(
          `Could not save the record of a run of answer ${answer.id} (it ran), after its run stopped waiting for it: connection reset`,
          expect.anything(),
        );
      } finally {
        fail(new Error('ended'));
        await endAll([run]);
      }
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
