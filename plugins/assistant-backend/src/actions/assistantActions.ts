import type { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import { NotAllowedError } from '@backstage/errors';
import {
  kubeAssistantQueryPermission,
  MAX_QUESTION_LENGTH,
} from '@kubechart/plugin-assistant-common';
import { AssistantService } from '../service/AssistantService';

/** The name of the planning action (its id is `kube-assistant:plan-question`). */
export const PLAN_QUESTION_ACTION = 'plan-question';

/**
 * The assistant's planning as a read-only action of Backstage's actions registry (an MCP tool for
 * AI agents): a question becomes a kubectl-equivalent command and its safety class. Nothing is run:
 * executing stays in the portal, where the user confirms what the assistant classified, so nothing
 * the assistant calls dangerous can be executed through an action.
 */
export function registerAssistantActions(options: {
  actionsRegistry: ActionsRegistryService;
  service: AssistantService;
}) {
  const { actionsRegistry, service } = options;
  actionsRegistry.register({
    name: PLAN_QUESTION_ACTION,
    title: 'Plan a Kubernetes question (no execution)',
    description:
      'Turns a question about the Kubernetes clusters ("which pods of payments-api are crash-looping?") into the ' +
      'kubectl-equivalent command the portal assistant would run, with its safety class (safe, warning or dangerous) ' +
      'judged from the command itself, the objects it can touch, and whether the caller could run it. Runs nothing: ' +
      'the command can only be executed by the user in the portal.',
    // Hidden from (and refused with 404 to) a caller without it, by the registry itself; that
    // refusal is recorded by `createActionRefusalAuditor` (the action never sees the call).
    visibilityPermission: kubeAssistantQueryPermission,
    attributes: { readOnly: true, idempotent: false, destructive: false },
    schema: {
      input: z =>
        z.object({
          // As the REST API's askRequestSchema: trimmed, not empty, at most 2,000 characters.
          question: z.string().trim().min(1).max(MAX_QUESTION_LENGTH),
          entityRef: z
            .string()
            .min(3)
            .max(512)
            .optional()
            .describe(
              'Catalog entity the question is about; scopes the plan to its namespace.',
            ),
        }),
      output: z =>
        z.object({
          command: z.string().describe('The kubectl-equivalent command.'),
          explanation: z.string(),
          safety: z.object({
            level: z.enum(['safe', 'warning', 'dangerous']),
            reason: z.string(),
          }),
          scope: z
            .string()
            .describe('Which objects the command can touch, in words.'),
          blockedReason: z
            .string()
            .optional()
            .describe(
              'Set when the caller or this installation may not run the command.',
            ),
          planHash: z.string(),
          provider: z.string(),
          conversationId: z.string(),
        }),
    },
    action: async ({ input, credentials }) => {
      const principal = credentials.principal as {
        type?: string;
        userEntityRef?: string;
      };
      if (principal.type !== 'user' || !principal.userEntityRef) {
        throw new NotAllowedError(
          'The assistant plans questions for signed-in users only',
        );
      }
      const userRef = principal.userEntityRef;
      const answer = await service.ask(
        {
          question: input.question,
          ...(input.entityRef ? { entityRef: input.entityRef } : {}),
        },
        { credentials, userRef },
      );
      // The confirmation token is deliberately left out: it is the user's, for the portal.
      return {
        output: {
          command: answer.command,
          explanation: answer.explanation,
          safety: { level: answer.safety.level, reason: answer.safety.reason },
          scope: answer.scope,
          ...(answer.requirements.blockedReason
            ? { blockedReason: answer.requirements.blockedReason }
            : {}),
          planHash: answer.planHash,
          provider: answer.provider,
          conversationId: answer.conversationId,
        },
      };
    },
  });
}
