import { PlanAnswer, PlanResource } from '@kubechart/plugin-assistant-common';

/**
 * Where a question was asked from; the plan is scoped to it.
 *
 * @public
 */
export type AssistantQuestionContext = {
  /** Cluster the entity runs on, from its annotations or the only cluster. */
  cluster?: string;
  /** Namespace the entity runs in. */
  namespace?: string;
  /** Label selector that finds the entity's resources. */
  labelSelector?: string;
  /** The entity the question was asked from, e.g. `component:default/checkout`. */
  entityRef?: string;
  /** Names of the clusters the assistant can reach. */
  clusters: string[];
  /**
   * Looks up which of these words name objects in the cluster (kind and
   * namespace), so a provider can tell a deployment called `cron` from the
   * word; a workload comes with its selector as `-l` takes it (its
   * matchLabels, when it has no matchExpressions), so "pods of deployment
   * web" can be listed by it. Bounded and cached by the backend; absent in
   * offline evaluation.
   */
  lookupNames?: (words: string[]) => Promise<
    Array<{
      name: string;
      resource: PlanResource;
      namespace?: string;
      selector?: string;
    }>
  >;
};

/**
 * Turns a question into a plan. Providers may call models; whatever they
 * answer is validated against the plan schema before it is used, and safety
 * is always derived from the plan, never from the provider.
 *
 * @public
 */
export interface AssistantProvider {
  /** Unique id, used in configuration (`kubeAssistant.providers[].id`) and the audit trail. */
  readonly id: string;
  /**
   * Answers with a plan, or throws. Throw a `PlanRefusal` to refuse for good
   * (the next provider is not asked). The answer is validated again by the
   * backend, so a malformed answer only makes it try the next provider. Must stop work when
   * `signal` aborts; the provider's timeout is applied through it.
   */
  plan(
    question: string,
    context: AssistantQuestionContext,
    options: { signal: AbortSignal },
  ): Promise<PlanAnswer>;
}
