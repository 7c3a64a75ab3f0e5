import {
  AssistantProvider,
  AssistantQuestionContext,
} from '@kubechart/plugin-assistant-node';
import { PlanAnswer } from '@kubechart/plugin-assistant-common';
import { explainPlan } from './explainPlan';
import { parseQuestion } from './parseQuestion';
import { DNS_NAME } from './question';

/** Most words of one question looked up in the cluster. */
const MAX_LOOKUP_WORDS = 16;

/** The words of a question that could name an object. */
export function candidateNames(question: string): string[] {
  const words = new Set<string>();
  for (const piece of question.toLowerCase().split(/[\s,;:!?()"'/]+/)) {
    const word = piece.replace(/^[.]+|[.]+$/g, '');
    if (word.length >= 2 && word.length <= 253 && DNS_NAME.test(word)) {
      words.add(word);
      if (words.size >= MAX_LOOKUP_WORDS) break;
    }
  }
  return [...words];
}

/**
 * The default provider: a deterministic, typo-tolerant parser for the
 * questions people ask most. Needs no model and answers in microseconds
 * (plus one bounded, cached name look-up when the backend offers one).
 */
export class BuiltinProvider implements AssistantProvider {
  readonly id = 'builtin';

  async plan(
    question: string,
    context: AssistantQuestionContext,
  ): Promise<PlanAnswer> {
    const known = context.lookupNames
      ? await context.lookupNames(candidateNames(question))
      : [];
    const plan = parseQuestion(question, {
      namespace: context.namespace,
      labelSelector: context.labelSelector,
      known,
    });
    return { plan, explanation: explainPlan(plan) };
  }
}
