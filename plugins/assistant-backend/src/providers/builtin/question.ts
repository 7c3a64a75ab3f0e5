import { KubectlFlags, readCommandLine } from './flagReading';
import { TypoCorrector } from './fuzzy';
import { CHANGE_RULES, IRREGULAR_PAST } from './rules/changes';
import { numberValue } from './rules/numbers';
import { CORRECTION_VOCABULARY } from './vocabulary';

/**
 * A typo is never corrected into a word that names a change (the words of the change rules and of
 * their phrases): "ill" would be "kill", "stale" "scale", and a read would be planned as a delete or a
 * scale. A word a typo away from one is left as typed, and a question it leaves without a clear
 * request is refused. The verb's other forms ("deletes", "deleted", "shrunk") are still read as it,
 * so that a change named but not asked for is refused as such (mutations.ts).
 */
export const corrector = new TypoCorrector(CORRECTION_VOCABULARY, {
  words: CHANGE_RULES.flatMap(rule => [
    ...rule.words,
    ...(rule.phrases ?? []).flatMap(phrase => phrase.split(' ')),
  ]),
  isFormOf: (token, word) => formsOf(word).includes(token),
});

/** The forms of a change verb that are read as it, each refused as not asking for it: -s, -ed, irregular past. */
function formsOf(verb: string): string[] {
  return [
    /(s|sh|ch|x|z)$/.test(verb) ? `${verb}es` : `${verb}s`,
    /e$/.test(verb) ? `${verb}d` : `${verb}ed`,
    ...IRREGULAR_PAST,
  ];
}

/** The words a contraction stands for ("I'll" is "i will"); "n't" and "'s" stay joined ("dont", "its"). */
const CONTRACTED: Record<string, string> = {
  ll: 'will',
  re: 'are',
  ve: 'have',
  d: 'would',
  m: 'am',
};

export const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const KEY_VALUE = /^([a-z0-9.\-/]+)(!?=)([a-z0-9._\-/]*)$/i;

// Multi-word resource names people type, joined into kubectl's word.
const PHRASE_MAP: Record<string, string> = {
  'limit range': 'limitrange',
  'limit ranges': 'limitranges',
  'replica set': 'replicaset',
  'replica sets': 'replicasets',
  'stateful set': 'statefulset',
  'stateful sets': 'statefulsets',
  'daemon set': 'daemonset',
  'daemon sets': 'daemonsets',
  'config map': 'configmap',
  'config maps': 'configmaps',
  'cron job': 'cronjob',
  'cron jobs': 'cronjobs',
  'persistent volume claim': 'pvc',
  'persistent volume claims': 'pvcs',
  'persistent volume': 'pv',
  'persistent volumes': 'pvs',
  'volume claims': 'pvcs',
  'horizontal pod autoscaler': 'hpa',
  'horizontal pod autoscalers': 'hpas',
  'resource quota': 'quota',
  'resource quotas': 'quotas',
  'end points': 'endpoints',
  'endpoint slice': 'endpointslice',
  'endpoint slices': 'endpointslices',
  'network policy': 'networkpolicy',
  'network policies': 'networkpolicies',
  'pod disruption budget': 'pdb',
  'pod disruption budgets': 'pdbs',
  'disruption budgets': 'pdbs',
  'service account': 'serviceaccount',
  'service accounts': 'serviceaccounts',
  'role binding': 'rolebinding',
  'role bindings': 'rolebindings',
  'cluster role binding': 'clusterrolebinding',
  'cluster role bindings': 'clusterrolebindings',
  'cluster roles': 'clusterroles',
  'cluster role': 'clusterrole',
  'custom resource definition': 'crd',
  'custom resource definitions': 'crds',
  'custom resources': 'crds',
  'crash loop': 'crashloop',
  'crash looping': 'crashlooping',
  'crash loop back off': 'crashloopbackoff',
  'crash loop backoff': 'crashloopbackoff',
  'name space': 'namespace',
  'name spaces': 'namespaces',
  'roll back': 'rollback',
  'rolled back': 'rollback',
  'blow away': 'nuke',
  'get rid of': 'remove',
};
const PHRASES = new RegExp(
  `\\b(${Object.keys(PHRASE_MAP)
    .sort((a, b) => b.length - a.length)
    .map(p => p.replace(/ /g, '\\s+'))
    .join('|')})\\b`,
  'gi',
);

export type Token = {
  /** As typed (lowercased), for names. */
  raw: string;
  /** Typo-corrected, for intent. */
  word: string;
  /** Which clause of the question it is in: a `,` `;` `:` `?` `!` or a full stop ends one. */
  clause: number;
};

/** A question: its kubectl flags read as typed, the rest split into tokens (lower-cased) and key=value pairs (case kept). */
export class Question {
  readonly text: string;
  readonly tokens: Token[];
  readonly keyValues: Array<{
    key: string;
    op: string;
    value: string;
    /** Token index the pair came after ("-l app=x" is a selector). */
    after: string | undefined;
  }> = [];
  /** A JSON object body, as typed (case kept). */
  readonly jsonBody?: string;
  /**
   * Its kubectl flags, read as kubectl reads them, case kept (flagReading.ts); the tokens and pairs are
   * the rest of the question. A word starting with `-` that is no flag read is one of its problems.
   */
  readonly flags: KubectlFlags;
  /** The question without its flags and body, as typed: the words a condition is looked for in. */
  readonly prose: string;
  /** The question as typed, flags and body included: where a selector negated in words is looked for. */
  readonly asked: string;

  /**
   * @param keep - words the cluster has as names: never typo-corrected
   * ("batch" stays a deployment, not "patch").
   */
  constructor(input: string, keep: ReadonlySet<string> = new Set()) {
    this.asked = input;
    const { flags, body, rest } = readCommandLine(input);
    if (body !== undefined) this.jsonBody = body;
    this.prose = rest;
    // Case is kept until the question is split: a key=value pair is a label selector or a label to
    // set, and keeps it as typed ("App=Web", as `-l App=Web` does); every other word is lower-cased.
    // A contraction is read as the words it stands for, never as another word: "I'll" without its
    // apostrophe is "ill", a typo of "kill"; "she'll" is "shell". "don't" and "it's" are read as typed
    // without it ("dont", "its": the rules' words) and never corrected. Other apostrophes are quotes.
    const text = rest
      .replace(/[’`]/g, "'")
      .replace(
        /\b([a-z]+)'(ll|re|ve|d|m)\b/gi,
        (_, word: string, end: string) =>
          `${word} ${CONTRACTED[end.toLowerCase()]}`,
      )
      .replace(/(?<![a-z0-9])'|'(?![a-z])/gi, '')
      .replace(/\b([a-z]+)\/([a-z0-9][-a-z0-9.]*)/gi, (m, kind, name) =>
        // kubectl's kind/name form: "deployment/web" is "deployment web".
        /^(deploy|deployment|deployments|pod|pods|po|svc|service|sts|statefulset|ds|daemonset|job|jobs|node|no|rs|replicaset|cronjob|cj|hpa|ingress|ing|cm|configmap|secret|ns|namespace)$/.test(
          kind.toLowerCase(),
        )
          ? `${kind} ${name}`
          : m,
      )
      .replace(
        PHRASES,
        (m: string) => PHRASE_MAP[m.toLowerCase().replace(/\s+/g, ' ')] ?? m,
      );
    const tokens: Token[] = [];
    let clause = 0;
    // "!" ends a word, except in a selector's "!=" ("tier!=db" is one pair). The separators are
    // kept (odd places) only to count clauses.
    const pieces = text.split(/((?:[\s,;:?()"]|!(?!=))+|\.(?=\s|$))/);
    for (let at = 0; at < pieces.length; at++) {
      const piece = pieces[at] ?? '';
      if (at % 2 === 1) {
        if (/[,;:?!.]/.test(piece)) clause++;
        continue;
      }
      const asTyped = piece.replace(/^[.]+|[.]+$/g, '');
      const typed = asTyped.replace(/'/g, '');
      // "don't", "it's": a contraction, or a possessive; read as typed, never corrected.
      const contraction = typed !== asTyped;
      const raw = typed.toLowerCase();
      if (!raw) continue;
      const kv = KEY_VALUE.exec(typed);
      if (kv && !raw.startsWith('-')) {
        this.keyValues.push({
          key: kv[1],
          op: kv[2],
          value: kv[3],
          after: tokens[tokens.length - 1]?.raw,
        });
        continue;
      }
      tokens.push({
        raw,
        word:
          keep.has(raw) || contraction ? raw : corrector.correct(raw) ?? raw,
        clause,
      });
    }
    this.tokens = tokens;
    this.flags = flags.withStray(tokens.map(t => t.raw));
    this.text = ` ${tokens.map(t => t.word).join(' ')} `;
  }

  has(...words: string[]): boolean {
    return words.some(w => this.text.includes(` ${w} `));
  }

  hasPrefix(...prefixes: string[]): boolean {
    return this.tokens.some(t => prefixes.some(p => t.word.startsWith(p)));
  }

  index(word: string): number {
    return this.tokens.findIndex(t => t.word === word);
  }

  /** The number right after one of `before` or right before one of `after`. */
  numberNear(before: string[], after: string[]): number | undefined {
    for (let i = 0; i < this.tokens.length; i++) {
      const t = this.tokens[i];
      const value = numberValue(t.raw);
      if (value === undefined) continue;
      const digits = /^\d+$/.test(t.raw);
      const prev = this.tokens[i - 1]?.word;
      const prev2 = this.tokens[i - 2]?.word;
      const next = this.tokens[i + 1]?.word;
      const next2 = this.tokens[i + 2]?.word;
      if (prev && before.includes(prev)) return value;
      if (prev2 && before.includes(prev2) && (prev === 'the' || prev === 'a'))
        return value;
      // Number words count only next to "to"/"replicas": "one" is also a pronoun.
      if (!digits && !(prev && before.includes(prev))) {
        if (next && after.includes(next)) return value;
        continue;
      }
      if (next && after.includes(next)) return value;
      if (next2 && after.includes(next2)) return value;
    }
    return undefined;
  }
}
