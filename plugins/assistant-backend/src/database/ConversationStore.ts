import {
  Conversation,
  ConversationMessage,
  ConversationSummary,
  ExecutionRecord,
} from '@kubechart/plugin-assistant-common';

/** A message as it is stored, with its owner. */
export type StoredMessage = ConversationMessage & {
  conversationId: string;
  userRef: string;
  /** The entity whose scope the question was asked in, checked again when it runs. */
  entityRef?: string;
  /** The salt of the plan's hash (see planHash); never shown. */
  planSalt?: string;
};

/**
 * A run still `running` after the longest a run may take, recorded as failed, not reported, when
 * another run of its user was taken (`reserveRun`): it may still be under way.
 */
export type NotReportedRun = {
  runId: string;
  messageId: string;
  /** When it was taken. */
  takenAt: string;
};

/** Keeps each user's conversations with the assistant. */
export interface ConversationStore {
  /**
   * Creates a conversation, or checks the user owns the given one (NotFoundError otherwise) and that
   * it takes one more message (ConflictError otherwise).
   */
  ensureConversation(options: {
    id?: string;
    userRef: string;
    title: string;
    entityRef?: string;
  }): Promise<string>;
  /**
   * Keeps a message in its conversation; a conversation that holds its limit of messages already
   * (`kubeAssistant.limits.messagesPerConversation`) is refused with a ConflictError (409), as
   * `ensureConversation` refuses it.
   */
  addMessage(message: StoredMessage): Promise<void>;
  /** A message, with its newest runs (see `ConversationMessage.executions`) and `runCount`. */
  getMessage(options: {
    id: string;
    userRef: string;
  }): Promise<StoredMessage | undefined>;
  /**
   * Who asked the question of a message, whoever looks: only for the audit trail of a refused
   * attempt to run it, never for an answer to the caller.
   */
  messageOwner(id: string): Promise<string | undefined>;
  /**
   * Refuses with a ConflictError (409) one more run of an answer that holds its limit of runs
   * already (`kubeAssistant.limits.runsPerAnswer`).
   */
  assertRunRoom(messageId: string): Promise<void>;
  /**
   * Takes one of an answer's runs before it runs, at the database's time: keeps its record as
   * `running` (the outcome not recorded yet) and returns its id, for `completeRun`. Its user's runs
   * under way are counted first (`kubeAssistant.limits.runsAtOncePerUser`; a record `running` for
   * longer than a run can take, on the database's clock, is recorded as failed, not reported, not
   * counted, and returned in `notReported`): a user who has that many is refused with a
   * TooManyRequestsError (429). An answer that holds its limit of runs already is refused with a
   * ConflictError (409), as `assertRunRoom` refuses it. Runs taken or saved at once, by any backend
   * of the database, are counted one after the other, so none goes beyond either limit.
   * `countedForMs`: how long, from when it is taken, the run counts among its user's runs at once
   * (the longest a run may take): it is to end within that.
   */
  reserveRun(options: { messageId: string }): Promise<{
    runId: string;
    notReported: NotReportedRun[];
    countedForMs: number;
  }>;
  /**
   * Records the outcome of a run taken by `reserveRun`, also over its record as not reported
   * (`wasNotReported`: it ran longer than a run may take); an error when that run is neither
   * (unknown, or completed already). A run never completed keeps reading as `running`.
   */
  completeRun(options: {
    runId: string;
    record: Omit<ExecutionRecord, 'at'>;
  }): Promise<{ wasNotReported: boolean }>;
  /**
   * Keeps the record of a run; an answer that holds its limit of runs already is refused with a
   * ConflictError (409), as `assertRunRoom` refuses it.
   */
  addExecution(options: {
    messageId: string;
    record: ExecutionRecord;
  }): Promise<void>;
  listConversations(options: {
    userRef: string;
    limit: number;
  }): Promise<ConversationSummary[]>;
  /**
   * A page of a conversation: its newest `limit` messages (at most, and by default,
   * `MAX_CONVERSATION_PAGE`) older than the message `before`, oldest first, with `olderCursor` when
   * there are older ones. A `before` that is not a message of the conversation is an InputError.
   */
  getConversation(options: {
    id: string;
    userRef: string;
    limit?: number;
    before?: string;
  }): Promise<Conversation | undefined>;
}
