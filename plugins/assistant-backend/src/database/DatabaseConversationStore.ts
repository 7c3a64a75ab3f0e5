import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  Conversation,
  ConversationSummary,
  ExecutionRecord,
  MAX_CONVERSATION_PAGE,
  RUNS_SHOWN_PER_MESSAGE,
} from '@kubechart/plugin-assistant-common';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import {
  ConversationStore,
  NotReportedRun,
  StoredMessage,
} from './ConversationStore';
import { DatabaseConfirmationStore } from './DatabaseConfirmationStore';
import {
  assertWholeAtLeast,
  DEFAULT_LONGEST_RUN_MS,
  DEFAULT_MESSAGES_PER_CONVERSATION,
  DEFAULT_RUNS_AT_ONCE_PER_USER,
  DEFAULT_RUNS_PER_ANSWER,
  TooManyRequestsError,
} from '../service/questionLimits';

const migrationsDir = resolvePackagePath(
  '@kubechart/plugin-assistant-backend',
  'migrations',
);

type ConversationRow = {
  id: string;
  user_ref: string;
  title: string;
  entity_ref: string | null;
  created_at: string | Date;
  updated_at: string | Date;
};

type MessageRow = {
  id: string;
  conversation_id: string;
  user_ref: string;
  question: string;
  provider: string | null;
  plan: string | null;
  command: string | null;
  explanation: string | null;
  safety: string | null;
  safety_reason: string | null;
  requirements: string | null;
  error: string | null;
  entity_ref?: string | null;
  plan_salt?: string | null;
  created_at: string | Date;
};

type ExecutionRow = {
  id: number;
  message_id: string;
  status: string;
  summary: string;
  created_at: string | number | Date;
  not_reported_at?: string | number | Date | null;
};

/**
 * The summary of a run taken and not completed yet: what it says when it stays so (the backend
 * stopped, or could not save the outcome). It says nothing of what the outcome was: a run is taken
 * before its checks, so one refused, or stopped before it was sent, reads so too.
 */
export const RUN_NOT_RECORDED =
  'Its outcome was not recorded: if it stays so, the backend stopped, or could not save it (the audit trail and the cluster tell what happened).';

/**
 * The summary of a run left `running` longer than a run may take (`longestRunMs`): it no longer counts
 * among its user's runs at once, and is recorded as failed, not reported, when a run of that user is
 * taken. Its backend gave it up before (see `RunTime`), or stopped; its record may still be saved
 * late (a slow database), and what it sent may still be applied: its outcome, if it is reported,
 * replaces this (see `completeRun`).
 */
export function runNotReported(longestRunMs: number): string {
  return `Not reported within ${
    longestRunMs / 1000
  } s, longer than a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it): it may still be under way, and no longer counts among its user's runs at once. Its outcome replaces this if it is reported; if not, the backend that ran it stopped or could not save it (the audit trail and the cluster tell what happened).`;
}

/**
 * The advisory lock ("ka", 1) whose second key is the hash of a user's ref: it serialises counting
 * a user's runs under way on PostgreSQL, whichever backend takes them.
 */
const RUNS_AT_ONCE_LOCK = 0x6b61;

/** Message ids in one `whereIn`: far below PostgreSQL's 65,535 bind parameters and SQLite's 32,766. */
const IDS_PER_QUERY = 500;

// SQLite hands timestamps back as strings or epoch numbers, PostgreSQL as Dates.
function iso(value: string | number | Date): string {
  return new Date(value).toISOString();
}

/**
 * The database's clock, in the form a timestamp column holds: how long a run has been under way is
 * read on one clock whichever backend took it and whichever counts it (their clocks may differ).
 * PostgreSQL's `clock_timestamp()` is the time of the statement, not of its transaction's start (a
 * wait for the lock of a user's runs is not counted); SQLite keeps knex's timestamps as epoch
 * milliseconds, and `julianday('now')` reads the clock to the millisecond.
 */
const DATABASE_NOW = {
  postgres: 'clock_timestamp()',
  sqlite: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
};

function toSummary(row: ConversationRow): ConversationSummary {
  return {
    id: row.id,
    title: row.title,
    ...(row.entity_ref ? { entityRef: row.entity_ref } : {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The newest runs of a message (at most `RUNS_SHOWN_PER_MESSAGE`, oldest first) and how many it has. */
type Runs = { executions: ExecutionRecord[]; runCount: number };

const NO_RUNS: Runs = { executions: [], runCount: 0 };

function toMessage(row: MessageRow, runs: Runs): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    userRef: row.user_ref,
    question: row.question,
    createdAt: iso(row.created_at),
    ...(row.provider ? { provider: row.provider } : {}),
    ...(row.plan ? { plan: JSON.parse(row.plan) } : {}),
    ...(row.command ? { command: row.command } : {}),
    ...(row.explanation ? { explanation: row.explanation } : {}),
    ...(row.safety
      ? {
          safety: { level: row.safety as any, reason: row.safety_reason ?? '' },
        }
      : {}),
    ...(row.requirements ? { requirements: JSON.parse(row.requirements) } : {}),
    ...(row.error ? { error: row.error } : {}),
    ...(row.entity_ref ? { entityRef: row.entity_ref } : {}),
    ...(row.plan_salt ? { planSalt: row.plan_salt } : {}),
    executions: runs.executions,
    runCount: runs.runCount,
  };
}

/** Conversations in the plugin's database (SQLite or PostgreSQL). */
export class DatabaseConversationStore implements ConversationStore {
  static async create(options: {
    database: DatabaseService;
    skipMigrations?: boolean;
    /** Questions one conversation keeps (`kubeAssistant.limits.messagesPerConversation`). Default 200. */
    maxMessagesPerConversation?: number;
    /** Runs one answer keeps (`kubeAssistant.limits.runsPerAnswer`). Default 50. */
    maxRunsPerAnswer?: number;
    /** Runs one user may have under way at once (`kubeAssistant.limits.runsAtOncePerUser`). Default 3. */
    maxRunsAtOncePerUser?: number;
    /**
     * How long a run can be under way, in milliseconds (see `longestRunOf`): a `running` record older
     * than that no longer counts among its user's runs at once. Default: `DEFAULT_LONGEST_RUN_MS`.
     */
    longestRunMs?: number;
  }): Promise<DatabaseConversationStore> {
    const client = await options.database.getClient();
    if (!options.skipMigrations && !options.database.migrations?.skip) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    const max =
      options.maxMessagesPerConversation ?? DEFAULT_MESSAGES_PER_CONVERSATION;
    assertWholeAtLeast('maxMessagesPerConversation', max, 1);
    const maxRuns = options.maxRunsPerAnswer ?? DEFAULT_RUNS_PER_ANSWER;
    assertWholeAtLeast('maxRunsPerAnswer', maxRuns, 1);
    const atOnce =
      options.maxRunsAtOncePerUser ?? DEFAULT_RUNS_AT_ONCE_PER_USER;
    assertWholeAtLeast('maxRunsAtOncePerUser', atOnce, 1);
    const longestRunMs = options.longestRunMs ?? DEFAULT_LONGEST_RUN_MS;
    assertWholeAtLeast('longestRunMs', longestRunMs, 1);
    return new DatabaseConversationStore(client, max, maxRuns, {
      atOnce,
      longestRunMs,
    });
  }

  private readonly isPostgres: boolean;

  private constructor(
    private readonly db: Knex,
    private readonly maxMessages: number,
    private readonly maxRuns: number,
    private readonly runsAtOnce: { atOnce: number; longestRunMs: number },
  ) {
    this.isPostgres = String(db.client.config.client).includes('pg');
  }

  /**
   * Refuses (409) one more row of `table` whose `column` is `id` when it holds `max` already: reads
   * at most that many of its index entries, whatever their number.
   */
  private async assertBelow(
    db: Knex,
    table: 'kube_assistant_messages' | 'kube_assistant_executions',
    column: 'conversation_id' | 'message_id',
    id: string,
    max: number,
    message: string,
  ): Promise<void> {
    const full = await db(table)
      .where({ [column]: id })
      .offset(max - 1)
      .first('id');
    if (full) throw new ConflictError(message);
  }

  /** Refuses (409) one more message in a conversation that holds `maxMessages` already. */
  private assertRoom(db: Knex, conversationId: string): Promise<void> {
    return this.assertBelow(
      db,
      'kube_assistant_messages',
      'conversation_id',
      conversationId,
      this.maxMessages,
      `This conversation has reached its limit of ${this.maxMessages} questions (kubeAssistant.limits.messagesPerConversation): start a new conversation to ask more.`,
    );
  }

  /** Refuses (409) one more run of an answer that holds `maxRuns` already. */
  assertRunRoom(messageId: string, db: Knex = this.db): Promise<void> {
    return this.assertBelow(
      db,
      'kube_assistant_executions',
      'message_id',
      messageId,
      this.maxRuns,
      `This answer has reached its limit of ${this.maxRuns} runs (kubeAssistant.limits.runsPerAnswer): ask the question again to run it more.`,
    );
  }

  /** The database's clock now (see `DATABASE_NOW`). */
  private now(db: Knex): Knex.Raw {
    return db.raw(
      this.isPostgres ? DATABASE_NOW.postgres : DATABASE_NOW.sqlite,
    );
  }

  /** The database's clock `ms` milliseconds ago. */
  private before(db: Knex, ms: number): Knex.Raw {
    return this.isPostgres
      ? db.raw(`${DATABASE_NOW.postgres} - ? * interval '1 millisecond'`, [ms])
      : db.raw(`${DATABASE_NOW.sqlite} - ?`, [ms]);
  }

  /**
   * Refuses (429) one more run of a user who has `runsAtOnce.atOnce` under way, in the transaction
   * `db` that takes it, counted in the database, so that backends sharing it allow that many in all:
   * on PostgreSQL under an advisory lock per user held to the transaction's end (SQLite writes one at
   * a time). A run under way is one recorded as `running`, unless it was taken longer ago than a run
   * can take (`runsAtOnce.longestRunMs`, on the database's clock): such a record is recorded as
   * failed, not reported (`runNotReported`), does not count, and is answered.
   */
  private async assertRunningRoom(
    db: Knex,
    userRef: string,
  ): Promise<NotReportedRun[]> {
    if (this.isPostgres) {
      await db.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [
        RUNS_AT_ONCE_LOCK,
        userRef,
      ]);
    }
    const { atOnce, longestRunMs } = this.runsAtOnce;
    const ofTheUser = () =>
      db<MessageRow>('kube_assistant_messages')
        .select('id')
        .where({ user_ref: userRef });
    const marked: Pick<ExecutionRow, 'id' | 'message_id' | 'created_at'>[] =
      await db<ExecutionRow>('kube_assistant_executions')
        .where({ status: 'running' })
        .where('created_at', '<', this.before(db, longestRunMs))
        .whereIn('message_id', ofTheUser())
        .update({
          status: 'failed',
          summary: runNotReported(longestRunMs),
          not_reported_at: this.now(db) as any,
        })
        .returning(['id', 'message_id', 'created_at']);
    const [{ running }] = await db<ExecutionRow>('kube_assistant_executions')
      .where({ status: 'running' })
      .whereIn('message_id', ofTheUser())
      .count<{ running: number | string }[]>({ running: '*' });
    // PostgreSQL counts in bigint, which pg hands back as a string.
    if (Number(running) >= atOnce) {
      throw new TooManyRequestsError(
        `${userRef} has ${running} commands running; the limit is ${atOnce} at once (kubeAssistant.limits.runsAtOncePerUser). Wait for one to finish, then run it again.`,
      );
    }
    return marked.map(row => ({
      runId: String(row.id),
      messageId: row.message_id,
      takenAt: iso(row.created_at),
    }));
  }

  /** Confirmation tokens, kept in the same database. */
  confirmations(): DatabaseConfirmationStore {
    return new DatabaseConfirmationStore(this.db);
  }

  async ensureConversation(options: {
    id?: string;
    userRef: string;
    title: string;
    entityRef?: string;
  }): Promise<string> {
    const now = new Date();
    if (options.id) {
      const id = options.id;
      // A full conversation takes no further question (409), before any provider is asked.
      await this.db.transaction(async tx => {
        const updated = await tx<ConversationRow>(
          'kube_assistant_conversations',
        )
          .where({ id, user_ref: options.userRef })
          .update({ updated_at: now });
        if (!updated) {
          throw new NotFoundError(`Conversation ${id} not found`);
        }
        await this.assertRoom(tx, id);
      });
      return id;
    }
    const id = randomUUID();
    await this.db<ConversationRow>('kube_assistant_conversations').insert({
      id,
      user_ref: options.userRef,
      title: options.title.slice(0, 255),
      entity_ref: options.entityRef ?? null,
      created_at: now,
      updated_at: now,
    });
    return id;
  }

  async addMessage(message: StoredMessage): Promise<void> {
    await this.db.transaction(async tx => {
      // Locks the conversation's row until the message is in (PostgreSQL; SQLite writes one at a
      // time): questions asked at once in one conversation are counted one after the other, so
      // none goes beyond the limit.
      await tx<ConversationRow>('kube_assistant_conversations')
        .where({ id: message.conversationId })
        .update({ updated_at: new Date() });
      await this.assertRoom(tx, message.conversationId);
      await this.insertMessage(tx, message);
    });
  }

  private async insertMessage(db: Knex, message: StoredMessage) {
    await db<MessageRow>('kube_assistant_messages').insert({
      id: message.id,
      conversation_id: message.conversationId,
      user_ref: message.userRef,
      question: message.question,
      provider: message.provider ?? null,
      plan: message.plan ? JSON.stringify(message.plan) : null,
      command: message.command ?? null,
      explanation: message.explanation ?? null,
      safety: message.safety?.level ?? null,
      safety_reason: message.safety?.reason ?? null,
      requirements: message.requirements
        ? JSON.stringify(message.requirements)
        : null,
      error: message.error ?? null,
      entity_ref: message.entityRef ?? null,
      plan_salt: message.planSalt ?? null,
      created_at: new Date(message.createdAt),
    });
  }

  async getMessage(options: { id: string; userRef: string }) {
    const row = await this.db<MessageRow>('kube_assistant_messages')
      .where({ id: options.id, user_ref: options.userRef })
      .first();
    if (!row) return undefined;
    const runs = await this.runsOf([row.id]);
    return toMessage(row, runs.get(row.id) ?? NO_RUNS);
  }

  async messageOwner(id: string) {
    const row = await this.db<MessageRow>('kube_assistant_messages')
      .where({ id })
      .first('user_ref');
    return row?.user_ref;
  }

  /**
   * Adds a run of an answer that has room for one in a transaction that locks the conversation's
   * row until the run is in (PostgreSQL; SQLite writes one at a time): runs taken or saved at once
   * are counted one after the other, so none goes beyond the limit. A run taken (`running`) is
   * first counted among its user's runs at once (see `assertRunningRoom`), and taken at the
   * database's time. The id of the run, and the runs of its user recorded as not reported.
   */
  private async insertRun(
    messageId: string,
    record: Omit<ExecutionRecord, 'at'> & { at?: string },
  ): Promise<{ runId: string; notReported: NotReportedRun[] }> {
    return this.db.transaction(async tx => {
      const message = await tx<MessageRow>('kube_assistant_messages')
        .where({ id: messageId })
        .first('conversation_id', 'user_ref');
      const taken = record.status === 'running';
      const notReported =
        message && taken
          ? await this.assertRunningRoom(tx, message.user_ref)
          : [];
      if (message) {
        await tx<ConversationRow>('kube_assistant_conversations')
          .where({ id: message.conversation_id })
          .update({ updated_at: new Date() });
      }
      await this.assertRunRoom(messageId, tx);
      const [inserted] = await tx<ExecutionRow>('kube_assistant_executions')
        .insert({
          message_id: messageId,
          status: record.status,
          summary: record.summary.slice(0, 2000),
          created_at: record.at ? new Date(record.at) : this.now(tx),
        } as any)
        .returning('id');
      // PostgreSQL hands a bigint back as a string; either hands back a row or the bare id.
      const runId = String(
        typeof inserted === 'object' && inserted !== null
          ? (inserted as { id: number | string }).id
          : inserted,
      );
      return { runId, notReported };
    });
  }

  async addExecution(options: { messageId: string; record: ExecutionRecord }) {
    await this.insertRun(options.messageId, options.record);
  }

  async reserveRun(options: { messageId: string }) {
    const taken = await this.insertRun(options.messageId, {
      status: 'running',
      summary: RUN_NOT_RECORDED,
    });
    return { ...taken, countedForMs: this.runsAtOnce.longestRunMs };
  }

  async completeRun(options: {
    runId: string;
    record: Omit<ExecutionRecord, 'at'>;
  }) {
    const outcome = {
      status: options.record.status,
      summary: options.record.summary.slice(0, 2000),
    };
    const runs = () =>
      this.db<ExecutionRow>('kube_assistant_executions').where({
        id: options.runId as any,
      });
    if (await runs().where({ status: 'running' }).update(outcome)) {
      return { wasNotReported: false };
    }
    // Recorded as not reported while it ran: what happened replaces that.
    const late = await runs()
      .where({ status: 'failed' })
      .whereNotNull('not_reported_at')
      .update({ ...outcome, not_reported_at: null });
    if (!late) throw new Error(`No run ${options.runId} under way`);
    return { wasNotReported: true };
  }

  async listConversations(options: { userRef: string; limit: number }) {
    const rows = await this.db<ConversationRow>('kube_assistant_conversations')
      .where({ user_ref: options.userRef })
      .orderBy([
        { column: 'updated_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit);
    return rows.map(toSummary);
  }

  async getConversation(options: {
    id: string;
    userRef: string;
    limit?: number;
    before?: string;
  }): Promise<Conversation | undefined> {
    const row = await this.db<ConversationRow>('kube_assistant_conversations')
      .where({ id: options.id, user_ref: options.userRef })
      .first();
    if (!row) return undefined;
    const limit = Math.min(
      options.limit ?? MAX_CONVERSATION_PAGE,
      MAX_CONVERSATION_PAGE,
    );
    const query = this.db<MessageRow>('kube_assistant_messages').where({
      conversation_id: row.id,
    });
    if (options.before) {
      const anchor = await this.db<MessageRow>('kube_assistant_messages')
        .where({ id: options.before, conversation_id: row.id })
        .first('id');
      if (!anchor) {
        throw new InputError(
          'Invalid request: before: not a message of this conversation',
        );
      }
      // Compared in the database, so a timestamp is never rounded on its way through JavaScript.
      const anchorTime = () =>
        this.db<MessageRow>('kube_assistant_messages')
          .select('created_at')
          .where({ id: anchor.id });
      query.where(older =>
        older
          .where('created_at', '<', anchorTime())
          .orWhere(same =>
            same
              .where('created_at', '=', anchorTime())
              .andWhere('id', '<', anchor.id),
          ),
      );
    }
    // The newest `limit` messages, and one more to know whether there are older ones.
    const newestFirst = await query
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit + 1);
    const messages = newestFirst.slice(0, limit).reverse();
    const runs = await this.runsOf(messages.map(m => m.id));
    return {
      ...toSummary(row),
      ...(newestFirst.length > limit ? { olderCursor: messages[0].id } : {}),
      messages: messages.map(m => {
        const {
          conversationId: _c,
          userRef: _u,
          entityRef: _e,
          planSalt: _s,
          ...message
        } = toMessage(m, runs.get(m.id) ?? NO_RUNS);
        return message;
      }),
    };
  }

  /**
   * The newest `RUNS_SHOWN_PER_MESSAGE` runs of each message, oldest first, and how many it has: an
   * answer run before `runsPerAnswer` (or under a higher one) is answered with as many as any other.
   */
  private async runsOf(ids: string[]) {
    const map = new Map<string, Runs>();
    for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
      const ranked = this.db<ExecutionRow>('kube_assistant_executions')
        .select('id', 'message_id', 'status', 'summary', 'created_at')
        .select(
          this.db.raw(
            'row_number() over (partition by message_id order by id desc) as newest',
          ),
          this.db.raw('count(*) over (partition by message_id) as runs'),
        )
        .whereIn('message_id', ids.slice(start, start + IDS_PER_QUERY));
      const rows: (ExecutionRow & { runs: number | string })[] = await this.db
        .from(ranked.as('ranked'))
        .where('newest', '<=', RUNS_SHOWN_PER_MESSAGE)
        .orderBy('id', 'asc');
      for (const row of rows) {
        const runs = map.get(row.message_id) ?? {
          executions: [],
          // PostgreSQL counts in bigint, which pg hands back as a string.
          runCount: Number(row.runs),
        };
        runs.executions.push({
          status: row.status as ExecutionRecord['status'],
          summary: row.summary,
          at: iso(row.created_at),
        });
        map.set(row.message_id, runs);
      }
    }
    return map;
  }
}
