import {
  AssistantProvider,
  AssistantQuestionContext,
} from '@kubechart/plugin-assistant-node';
import { PlanAnswer } from '@kubechart/plugin-assistant-common';
import { explainPlan } from './explainPlan';
import { parseQuestion } from './parseQuestion';

/**
 * The default provider: a deterministic, typo-tolerant parser for the
 * questions people ask most. Needs no model and answers in microseconds.
 */
export class BuiltinProvider implements AssistantProvider {
  readonly id = 'builtin';

  async plan(
    question: string,
    context: AssistantQuestionContext,
  ): Promise<PlanAnswer> {
    const plan = parseQuestion(question, {
      namespace: context.namespace,
      labelSelector: context.labelSelector,
    });
    return { plan, explanation: explainPlan(plan) };
  }
}
