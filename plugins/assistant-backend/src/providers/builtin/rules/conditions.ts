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
    // "restart the pods with the most restarts": kubectl selects no object by its restarts.
    pattern:
      /\brestarts\b|\brestarted\b|\brestart\s+(?:counts?|counters?|numbers?|totals?)\b/,
    what: 'a number of restarts',
    changesOnly: true,
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

/**
 * Words that negate or exclude what follows them ("not matching app=web", "but keep app=web",
 * "lacking app=web", "all pods but the app=web ones", "don't restart deployments with app=web"). Matched against one lower-cased
 * word, apostrophes kept as typed. A label selector within `NEGATION_REACH` words after one is
 * refused: the plan would select by the selector itself, the very objects meant to be left out.
 */
export const NEGATION_WORDS =
  /^(?:not|but|no|none|never|nor|cannot|(?:do|does|did|is|are|was|were|have|has|had|wo|would|should|ca|could|must|need)n'?t|without|lacking|lacks?|missing|keep|keeps|keeping|kept|leave|leaves|leaving|spare|spares|sparing|save|saving|excluding|exclude|excluded|except|besides|unless|skip|skipping|ignore|ignoring|omit|omitting|preserve|preserving|protect|protecting|avoid|avoiding|instead|rather)$/;

/** How many words after a negating word a selector is taken to be what it negates. */
export const NEGATION_REACH = 4;

/**
 * Words after a negating word that say what it negates when they are not a selector: the scan for a
 * negated selector stops at them ("pods that are not running with app=web" negates running).
 */
export const NEGATION_STOPS = new Set([
  'in',
  'on',
  'from',
  'and',
  'or',
  'running',
  'runing',
  'ready',
  'available',
  'fully',
  'healthy',
  'started',
  'starting',
  'scheduled',
  'needed',
  'used',
  'working',
]);
