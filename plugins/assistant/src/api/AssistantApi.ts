import { createApiRef } from '@backstage/core-plugin-api';
import {
  AskRequest,
  AskResponse,
  Conversation,
  ConversationSummary,
  ExecuteRequest,
  ExecuteResponse,
} from '@kubechart/plugin-assistant-common';

/**
 * Talks to the `kube-assistant` backend.
 *
 * @public
 */
export interface AssistantApi {
  /** Turns a question into a plan; runs nothing. */
  ask(request: AskRequest): Promise<AskResponse>;
  /** Runs the plan of an earlier answer, with the confirmation it needs. */
  execute(request: ExecuteRequest): Promise<ExecuteResponse>;
  listConversations(): Promise<{ items: ConversationSummary[] }>;
  /**
   * A conversation with its newest messages (at most `limit`, default and most 200), oldest first;
   * `olderCursor` is set when there are older ones: pass it as `before` to read them.
   */
  getConversation(
    id: string,
    options?: { limit?: number; before?: string },
  ): Promise<Conversation>;
}

/** @public */
export const assistantApiRef = createApiRef<AssistantApi>({
  id: 'plugin.kube-assistant.api',
});
