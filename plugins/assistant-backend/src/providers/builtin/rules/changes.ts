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
}> = [
  { kind: 'patch', words: ['patch'], understood: 'patch an object' },
  {
    kind: 'undo',
    words: ['undo', 'rollback', 'revert'],
    understood: 'roll a workload back to its previous revision',
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
  },
  {
    kind: 'drain',
    words: ['drain', 'evacuate'],
    understood: 'drain a node',
  },
  {
    kind: 'exec',
    words: ['exec', 'shell', 'ssh'],
    phrases: ['attach to'],
    understood: 'run a command inside a container',
  },
  {
    kind: 'uncordon',
    words: ['uncordon'],
    phrases: ['schedulable again'],
    understood: 'make a node schedulable again',
  },
  {
    kind: 'cordon',
    words: ['cordon', 'unschedulable'],
    understood: 'stop new pods from landing on a node',
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
  },
  {
    kind: 'restart',
    words: ['restart', 'bounce', 'redeploy', 'recycle'],
    understood: 'restart a workload',
  },
  {
    kind: 'label',
    words: ['label'],
    phrases: ['add label', 'add a label', 'set label'],
    understood: 'set a label',
  },
  {
    kind: 'annotate',
    words: ['annotate'],
    phrases: ['add annotation', 'add an annotation'],
    understood: 'set an annotation',
  },
];

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
