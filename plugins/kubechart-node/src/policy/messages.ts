/**
 * The most messages one result of a rule shows; the rest are counted in a last "…and N more". An
 * object can break a rule thousands of times (a PodDisruptionBudget selecting every workload of a
 * large manifest): the report names the first ones and stays small.
 */
export const MAX_MESSAGES_PER_RESULT = 10;

/** The message that stands for `count` messages not shown. */
export const moreMessages = (count: number) => `…and ${count} more`;

/** A last message counting the ones a rule left out (its own "and 12 more" or "…and 12 more"). */
const MORE = /^(?:…)?and (\d+) more$/;

/**
 * The first {@link MAX_MESSAGES_PER_RESULT} messages of a rule, then "…and N more" counting every
 * other one, those a rule already counted in such a last message included.
 */
export function capMessages(messages: string[]): string[] {
  const counted = MORE.exec(messages[messages.length - 1] ?? '');
  const named = counted ? messages.slice(0, -1) : messages;
  const unnamed =
    (counted ? Number(counted[1]) : 0) +
    Math.max(0, named.length - MAX_MESSAGES_PER_RESULT);
  return unnamed > 0
    ? [...named.slice(0, MAX_MESSAGES_PER_RESULT), moreMessages(unnamed)]
    : messages;
}
