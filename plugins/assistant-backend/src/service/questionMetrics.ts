import type { MetricsService } from '@backstage/backend-plugin-api/alpha';
import type { QuestionOutcome } from './AssistantService';

/**
 * `kube_assistant.questions`: questions asked, by `outcome` (planned, refused, no-plan,
 * not-allowed, error) and the plan's `safety` class (safe, warning, dangerous; none without a
 * plan), through Backstage's metrics service (OpenTelemetry meters).
 */
export function createQuestionMetrics(
  metrics: MetricsService,
): (answered: QuestionOutcome) => void {
  const questions = metrics.createCounter<QuestionOutcome>(
    'kube_assistant.questions',
    {
      description:
        'Questions asked to the Kubernetes assistant, by outcome and safety class of the plan',
    },
  );
  return answered =>
    questions.add(1, { outcome: answered.outcome, safety: answered.safety });
}
