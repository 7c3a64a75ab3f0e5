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

/** Keeps each user's conversations with the assistant. */
export interface ConversationStore {
  /** Creates a conversation, or checks the user owns the given one. */
  ensureConversation(options: {
    id?: string;
    userRef: string;
    title: string;
    entityRef?: string;
  }): Promise<string>;
  addMessage(message: StoredMessage): Promise<void>;
  getMessage(options: {
    id: string;
    userRef: string;
  }): Promise<StoredMessage | undefined>;
  /**
   * Who asked the question of a message, whoever looks: only for the audit trail of a refused
   * attempt to run it, never for an answer to the caller.
   */
  messageOwner(id: string): Promise<string | undefined>;
  addExecution(options: {
    messageId: string;
    record: ExecutionRecord;
  }): Promise<void>;
  listConversations(options: {
    userRef: string;
    limit: number;
  }): Promise<ConversationSummary[]>;
  getConversation(options: {
    id: string;
    userRef: string;
  }): Promise<Conversation | undefined>;
}
