import { useApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  AskResponse,
  ExecuteResponse,
} from '@kubechart/plugin-assistant-common';
import { useCallback, useRef, useState } from 'react';
import { assistantApiRef } from '../api';
import { errorMessage } from '../lib/errorMessage';

/** An answer of 409 Conflict from the backend. */
function isConflict(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ResponseError' &&
    (error as ResponseError).response?.status === 409
  );
}

/** One question in the widget, with its answer and runs. */
export type AssistantTurn = {
  key: number;
  question: string;
  answer?: AskResponse;
  askError?: Error;
  running: boolean;
  execution?: ExecuteResponse;
  runError?: Error;
};

/**
 * The conversation shown in a widget: asks questions (keeping them in one
 * conversation) and runs answers with the confirmation the user gave.
 */
export function useAssistant(entityRef?: string) {
  const api = useApi(assistantApiRef);
  const [turns, setTurns] = useState<AssistantTurn[]>([]);
  const [asking, setAsking] = useState(false);
  const conversationId = useRef<string | undefined>(undefined);
  const nextKey = useRef(0);

  const update = useCallback(
    (key: number, patch: Partial<AssistantTurn>) =>
      setTurns(all => all.map(t => (t.key === key ? { ...t, ...patch } : t))),
    [],
  );

  const ask = useCallback(
    async (question: string) => {
      const key = nextKey.current++;
      setTurns(all => [...all, { key, question, running: false }]);
      setAsking(true);
      try {
        const answer = await api.ask({
          question,
          ...(conversationId.current
            ? { conversationId: conversationId.current }
            : {}),
          ...(entityRef ? { entityRef } : {}),
        });
        conversationId.current = answer.conversationId;
        update(key, { answer });
      } catch (error) {
        // 409: the conversation holds as many questions as the backend keeps in one
        // (kubeAssistant.limits.messagesPerConversation); the next question starts a new one.
        if (conversationId.current && isConflict(error)) {
          conversationId.current = undefined;
          update(key, {
            askError: new Error(
              `${errorMessage(
                error as Error,
              )} Your next question starts a new conversation.`,
            ),
          });
        } else {
          update(key, { askError: error as Error });
        }
      } finally {
        setAsking(false);
      }
    },
    [api, entityRef, update],
  );

  const run = useCallback(
    async (
      turn: AssistantTurn,
      confirmation: { confirm?: boolean; typedConfirmation?: string } = {},
    ) => {
      if (!turn.answer) return;
      update(turn.key, { running: true, runError: undefined });
      try {
        const token = turn.answer.requirements.confirmationToken;
        const execution = await api.execute({
          messageId: turn.answer.messageId,
          ...confirmation,
          // The single-use token bound to the plan that was shown.
          ...(confirmation.confirm && token
            ? { confirmationToken: token }
            : {}),
        });
        update(turn.key, { running: false, execution });
      } catch (error) {
        update(turn.key, { running: false, runError: error as Error });
      }
    },
    [api, update],
  );

  return { turns, asking, ask, run };
}
