/**
 * Rules as data: restricting conditions a plan has no field for. A question
 * that carries one is refused, never planned without it: the plan would reach
 * more than was asked (fail closed). Matched against the lower-cased
 * question; `what` says in words which kind of condition it is.
 *
 * `changes`: applied to changes over several objects only (a named object
 * cannot be broadened, and reads keep the filters of reads.ts).
 */
export const UNSUPPORTED_CONDITIONS: Array<{
  pattern: RegExp;
  what: string;
  changesOnly?: boolean;
}> = [
  {
    pattern:
      /\b(?:except(?:\s+for)?|excluding|exclude|other\s+than|apart\s+from|but\s+not|besides)\b/,
    what: 'an exclusion',
  },
  {
    pattern:
      /\b(?:not|never)\s+(?:in|from)\s+(?:the\s+)?(?:namespaces?|ns)\b|\boutside\s+(?:of\s+)?(?:the\s+)?(?:namespaces?|ns)\b/,
    what: 'a namespace to leave out',
  },
  {
    pattern:
      /\b(?:older|newer|younger)\s+than\b|\b\d+\s*(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)\s+old\b|\b(?:created|started|deployed|restarted|updated)\s+(?:before|after|since|more\s+than|less\s+than|over|within)\b/,
    what: 'an age',
  },
  {
    pattern:
      /\bnamed\s+like\b|\bnames?\s+(?:that\s+)?(?:starts?|starting|begins?|beginning|ends?|ending|contains?|containing|includes?|including|matches|matching)\b|\b(?:prefix|prefixed|suffix|suffixed)\b|[a-z0-9-]\*|\*[a-z0-9-]/,
    what: 'a name pattern',
  },
  {
    pattern: /\bwhose\b/,
    what: 'a condition on a field ("whose …")',
  },
  {
    pattern: /\bwithout\b|\b(?:with|have|has|having)\s+no\b/,
    what: 'a condition on what the objects lack',
    changesOnly: true,
  },
];

/**
 * States a change over several objects cannot select by (a read has filters
 * for some of them). `failed` is kept when the plan selects Failed pods.
 */
export const STATE_WORDS = new Set([
  'failing',
  'failed',
  'broken',
  'unhealthy',
  'healthy',
  'unready',
  'ready',
  'crashing',
  'crashed',
  'crashloop',
  'crashlooping',
  'crashloopbackoff',
  'crash-looping',
  'pending',
  'evicted',
  'completed',
  'succeeded',
  'finished',
  'stuck',
  'idle',
  'unused',
  'orphan',
  'orphaned',
  'old',
  'stale',
  'outdated',
  'restarting',
  'erroring',
  'errored',
  'oomkilled',
  'terminating',
]);

/** Words that start a relative clause restricting the objects of a change. */
export const RELATIVE_CLAUSE =
  /\b(?:that|which|who)\s+(?:are|is|were|was|have|has|had|arent|isnt|werent|wasnt|dont|doesnt|do|does|use|uses|run|runs|belong|belongs|show|got)\b/;

/** Words after which a label key alone is a selector ("matching backstage.io/kubernetes-id"). */
export const SELECTOR_WORDS = new Set([
  'matching',
  'match',
  'matches',
  'label',
  'labels',
  'labelled',
  'labeled',
  'selector',
]);
