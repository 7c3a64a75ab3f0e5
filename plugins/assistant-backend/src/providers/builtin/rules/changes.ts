/**
 * Rules as data: the words and phrases that ask for each kind of change,
 * checked in this order (the first that matches wins, so "undo" comes before
 * "delete" and "uncordon" before "cordon").
 */
export type ChangeKind =
  | 'patch'
  | 'undo'
  | 'delete'
  | 'drain'
  | 'exec'
  | 'uncordon'
  | 'cordon'
  | 'scale'
  | 'restart'
  | 'label'
  | 'annotate';

export const CHANGE_RULES: Array<{
  kind: ChangeKind;
  /** Single (typo-corrected) words. */
  words: string[];
  /** Phrases, matched with spaces around them. */
  phrases?: string[];
  /** What the person asked, for refusals. */
  understood: string;
  /** A request for it, shown when a question names the change without asking for it. */
  example: string;
}> = [
  {
    kind: 'patch',
    words: ['patch'],
    understood: 'patch an object',
    example: 'patch deployment web in shop {"spec":{"replicas":2}}',
  },
  {
    kind: 'undo',
    words: ['undo', 'rollback', 'revert'],
    understood: 'roll a workload back to its previous revision',
    example: 'roll back deployment web in shop',
  },
  {
    kind: 'delete',
    words: [
      'delete',
      'remove',
      'kill',
      'nuke',
      'destroy',
      'terminate',
      'rm',
      'purge',
      'trash',
    ],
    understood: 'delete something',
    example: 'delete pod web-1 in shop',
  },
  {
    kind: 'drain',
    words: ['drain', 'evacuate'],
    understood: 'drain a node',
    example: 'drain node node-1',
  },
  {
    kind: 'exec',
    words: ['exec', 'shell', 'ssh'],
    phrases: ['attach to'],
    understood: 'run a command inside a container',
    example: 'exec into pod web-1 in shop',
  },
  {
    kind: 'uncordon',
    words: ['uncordon'],
    phrases: ['schedulable again'],
    understood: 'make a node schedulable again',
    example: 'uncordon node node-1',
  },
  {
    kind: 'cordon',
    words: ['cordon', 'unschedulable'],
    understood: 'stop new pods from landing on a node',
    example: 'cordon node node-1',
  },
  {
    kind: 'scale',
    words: [
      'scale',
      'grow',
      'shrink',
      'bump',
      'increase',
      'decrease',
      'resize',
    ],
    phrases: ['down to', 'up to'],
    understood: 'change how many replicas run',
    example: 'scale deployment web to 3 in shop',
  },
  {
    kind: 'restart',
    words: ['restart', 'bounce', 'redeploy', 'recycle'],
    understood: 'restart a workload',
    example: 'restart deployment web in shop',
  },
  {
    kind: 'label',
    words: ['label'],
    phrases: ['add label', 'add a label', 'set label'],
    understood: 'set a label',
    example: 'label deployment web in shop team=core',
  },
  {
    kind: 'annotate',
    words: ['annotate'],
    phrases: ['add annotation', 'add an annotation'],
    understood: 'set an annotation',
    example: 'annotate deployment web in shop owner=team-a',
  },
];

/** The changes the assistant plans, in words, for refusals that name them. */
export const CHANGES_IN_WORDS =
  'delete, scale, rollout restart and undo, label, annotate, cordon, uncordon, drain, exec, patch';

/** Words before "restart" that make it a noun ("the last restart"). */
export const RESTART_AS_NOUN = [
  'the',
  'a',
  'last',
  'before',
  'after',
  'since',
  'each',
  'by',
  'most',
];

/** Words after "restart" that make it a noun ("restart count of pods in shop"). */
export const RESTART_COUNT_WORDS = [
  'count',
  'counts',
  'counter',
  'counters',
  'number',
  'numbers',
  'total',
  'totals',
];

/**
 * Words that make a question of what comes after them: a restart word after one is what the
 * objects did ("did any pod restart", "which pods in shop restart the most"), not a request.
 */
export const RESTART_QUESTION = [
  'did',
  'does',
  'do',
  'has',
  'have',
  'had',
  'is',
  'are',
  'was',
  'were',
  'will',
  'would',
  'should',
  'can',
  'could',
  'how',
  'which',
  'what',
  'when',
  'why',
  'who',
  'whether',
  'if',
];

/** Words right before a restart word that make it the asker's request ("how do I restart web"). */
export const RESTART_ASKER = ['i', 'we', 'you'];

/**
 * Words that negate a change verb after them in its clause ("don't delete pod web-1", "never scale
 * web to 0", "nobody deletes …"): the question says not to make the change. As typed: "don't" is
 * read as "dont".
 */
export const NEGATING_WORDS = [
  'not',
  'no',
  'dont',
  'doesnt',
  'didnt',
  'never',
  'nobody',
  'noone',
  'none',
  'neither',
  'nor',
  'cant',
  'cannot',
  'wont',
  'shouldnt',
  'mustnt',
  'avoid',
  'without',
  'refrain',
  'prevent',
];

/**
 * Words that, before a change verb in its clause, ask about the change rather than for it: a
 * question word ("who deleted", "how do I restart"), the change as done or as a state ("was …
 * scaled", "has … been", "did someone delete", "is it safe to"), whether it is allowed, the command
 * for it. "have" is one except in "have to" (a need: "we have to roll back web"), "do" only before
 * who would do it ("do I delete").
 */
export const ASKING_WORDS = [
  'who',
  'whom',
  'whose',
  'whos',
  'what',
  'whats',
  'which',
  'when',
  'whens',
  'why',
  'whys',
  'how',
  'hows',
  'where',
  'wheres',
  'was',
  'wasnt',
  'were',
  'werent',
  'been',
  'being',
  'did',
  'does',
  'is',
  'isnt',
  'are',
  'arent',
  'am',
  'has',
  'hasnt',
  'have',
  'havent',
  'had',
  'hadnt',
  'got',
  'safe',
  'allowed',
  'permitted',
  'permission',
  'permissions',
  'rights',
  'possible',
  'command',
  'commands',
  'syntax',
];

/** The askers after "do" that make a question of it ("do I delete", "do we need to scale"). */
export const DO_ASKERS = ['i', 'we', 'you', 'they'];

/**
 * Modal verbs: before a change they ask about it ("should I delete", "can we scale", "may I
 * drain"), except in a request to the assistant: next to "you" ("can you delete", "you may
 * restart") or wishing it ("I would like to scale").
 */
export const MODALS = [
  'can',
  'could',
  'would',
  'will',
  'should',
  'shall',
  'may',
  'might',
];
export const MODAL_REQUEST_WORDS = ['you', 'like', 'love'];

/**
 * Words that make a change after them, in any clause, a hypothesis or a condition ("if I delete pod
 * web-1 …", "if web-1 is stuck, delete it"): the plan cannot hold the condition.
 */
export const CONDITIONAL_WORDS = [
  'if',
  'whether',
  'unless',
  'suppose',
  'supposing',
  'hypothetically',
  'imagine',
  'pretend',
];

/**
 * Words that put a condition on a change wherever they stand, followed by the condition in their
 * clause ("scale web to 3 if needed", "restart web when it is slow", "… unless it is busy", "… in
 * case it hangs", "when web is slow, scale it to 3"): the plan carries no condition, and the
 * assistant does not judge one, so the change is refused rather than planned without it. Matched
 * against the words as typed. An "if" before the change is read first as a hypothesis
 * (`CONDITIONAL_WORDS`).
 */
export const CONDITION_OPENERS: string[][] = [
  ['if'],
  ['unless'],
  ['when'],
  ['whenever'],
  ['once'],
  ['until'],
  ['till'],
  ['provided'],
  ['providing'],
  ['assuming'],
  ['in', 'case'],
  ['as', 'soon', 'as'],
  ['as', 'long', 'as'],
];

/** Conditions that are only a courtesy, as the whole rest of their clause ("… if you can"). */
export const COURTESY_CONDITIONS: string[][] = [
  ['if', 'you', 'can'],
  ['if', 'you', 'could'],
  ['if', 'you', 'would'],
  ['if', 'you', 'please'],
  ['if', 'you', 'dont', 'mind'],
  ['if', 'possible'],
  ['when', 'you', 'can'],
  ['when', 'possible'],
  ['when', 'you', 'get', 'a', 'chance'],
  ['when', 'you', 'have', 'a', 'moment'],
  ['as', 'soon', 'as', 'possible'],
  ['as', 'soon', 'as', 'you', 'can'],
];

/** Words after "once" that make it a count, not a condition ("restart web once more"). */
export const ONCE_AS_COUNT = ['more', 'again'];

/**
 * Phrases anywhere in a question that ask about a change rather than for it: a dry run, `kubectl auth
 * can-i`, what it would do, whether it is safe, whether one should or may. Matched against the words
 * as typed, lower-cased, one space between them and around.
 */
export const ASKING_PHRASES: RegExp[] = [
  / dry[- ]?run /,
  / (?:auth )?can-i /,
  / what (?:happens|would happen|will happen|if) /,
  / (?:would|will|could) (?:that|it|this) (?:happen|break|cause|do) /,
  / (?:is|was|would|will) (?:it|that|this) (?:be )?(?:safe|ok|okay|fine|wise|risky|allowed|a good idea|a bad idea) /,
  / (?:should|shall|can|could|may|might) (?:i|we) /,
  / (?:simulate|simulated|simulating|simulation|hypothetical|hypothetically) /,
];

/** Past forms of change verbs that do not end in -ed ("shrunk"). */
export const IRREGULAR_PAST = ['shrunk', 'shrank'];
