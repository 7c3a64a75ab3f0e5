import {
  classifySafety,
  renderKubectl,
} from '@kubechart/plugin-assistant-common';
import { isPlanRefusal } from '@kubechart/plugin-assistant-node';
import { ParseContext, parseQuestion } from './parseQuestion';
import { Question, corrector } from './question';
import { CHANGE_RULES, IRREGULAR_PAST } from './rules/changes';
import { CORRECTION_VOCABULARY } from './vocabulary';

/** The command a question plans, or why it is refused. */
function answer(question: string, context?: ParseContext): string {
  try {
    return renderKubectl(parseQuestion(question, context));
  } catch (e) {
    if (isPlanRefusal(e)) return `refused: ${(e as Error).message}`;
    throw e;
  }
}

/** Whether a question is planned as a change (anything but a read). */
function plannedAsChange(question: string, context?: ParseContext): boolean {
  try {
    return classifySafety(parseQuestion(question, context)).level !== 'safe';
  } catch (e) {
    if (isPlanRefusal(e)) return false;
    throw e;
  }
}

const cluster: ParseContext = {
  known: [
    { name: 'shop', resource: 'namespaces' },
    { name: 'staging', resource: 'namespaces' },
    { name: 'web-1', resource: 'pods', namespace: 'shop' },
    { name: 'checkout-web', resource: 'deployments', namespace: 'shop' },
    { name: 'api', resource: 'deployments', namespace: 'staging' },
  ] as ParseContext['known'],
};

/** Every word that names a change in the parser's rules (its words and the words of its phrases). */
const CHANGE_WORDS = new Set(
  CHANGE_RULES.flatMap(r => [
    ...r.words,
    ...(r.phrases ?? []).flatMap(p => p.split(' ')),
  ]),
);

/** The words one typo away: a letter missing, extra, changed, or two swapped. */
function oneTypoAway(word: string): Set<string> {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const out = new Set<string>();
  for (let i = 0; i <= word.length; i++) {
    if (i < word.length) out.add(word.slice(0, i) + word.slice(i + 1));
    if (i + 1 < word.length) {
      out.add(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
    }
    for (const c of letters) {
      out.add(word.slice(0, i) + c + word.slice(i));
      if (i < word.length) out.add(word.slice(0, i) + c + word.slice(i + 1));
    }
  }
  out.delete(word);
  return out;
}

/** Ordinary words one typo away from a change verb (in brackets). */
const ORDINARY_WORDS = [
  'ill', // kill, from "I'll"
  'skill', // kill
  'stale', // scale
  'sale', // scale
  'scalp', // scale
  'remote', // remove
  'terminal', // terminate
  'path', // patch
  'batch', // patch
  'catch', // patch
  'pitch', // patch
  'hell', // shell, from "he'll"
  'spell', // shell
  'rain', // drain
  'grain', // drain
  'grown', // grow
  'exe', // exec
  'lapel', // label
  'shrine', // shrink
  'purse', // purge
  'ounce', // bounce
];

/** The forms of a change verb read as it: "deletes", "deleted", "shrunk" (then refused as not asked for). */
function isFormOf(token: string, verb: string): boolean {
  return (
    [`${verb}s`, `${verb}es`, `${verb}ed`].includes(token) ||
    (verb.endsWith('e') && token === `${verb}d`) ||
    IRREGULAR_PAST.includes(token)
  );
}

describe('a typo is never corrected into a change', () => {
  it('reads a contraction as its words, never as a change verb', () => {
    // Were: "I'll" read as "ill", corrected to "kill": `kubectl delete deployment/checkout-web -n shop`.
    expect(
      answer("describe deployment checkout-web in shop, I'll read it", cluster),
    ).toBe('kubectl describe deployments checkout-web -n shop');
    // Was planned as `kubectl delete deployment/api -n staging`.
    expect(
      answer(
        "give me the command to scale api to 2 in staging, I'll run it myself",
        cluster,
      ),
    ).toMatch(
      /^refused: .*names a change \(scale deployment api to 2 in staging\)/,
    );
    // "she'll" was read as "shell": a request to exec into a pod.
    expect(answer("list pods in shop, she'll check them", cluster)).toBe(
      'kubectl get pods -n shop',
    );
    expect(answer('list pods in shop, I’ll check them', cluster)).toBe(
      'kubectl get pods -n shop',
    );
    // The contracted words are the words they stand for, never corrected.
    expect(
      new Question("I'll, we'd, she'll, it's, don't, won't, can't").tokens.map(
        t => t.word,
      ),
    ).toEqual([
      'i',
      'will',
      'we',
      'would',
      'she',
      'will',
      'its',
      'dont',
      'wont',
      'cant',
    ]);
  });

  it('leaves a word a typo away from a change verb as typed, and refuses what is then not a clear request', () => {
    // "stale" was corrected to "scale".
    expect(new Question('show stale pods in shop').tokens[1].word).toBe(
      'stale',
    );
    expect(answer('delte pod web-1 in shop', cluster)).toMatch(/^refused: /);
    expect(answer('restrat deployment checkout-web in shop', cluster)).toMatch(
      /^refused: /,
    );
  });

  it('corrects no word one typo away from a change verb into a change verb', () => {
    // Ordinary words one typo away from a change verb ("remote" → "remove", "terminal" →
    // "terminate"), then every change verb with a letter dropped or two letters swapped.
    const typos = new Set(ORDINARY_WORDS);
    for (const verb of CHANGE_WORDS) {
      if (!CORRECTION_VOCABULARY.includes(verb)) continue;
      for (let i = 0; i < verb.length; i++) {
        typos.add(verb.slice(0, i) + verb.slice(i + 1));
        if (i + 1 < verb.length) {
          typos.add(
            verb.slice(0, i) + verb[i + 1] + verb[i] + verb.slice(i + 2),
          );
        }
      }
    }
    const corrected: string[] = [];
    for (const typo of typos) {
      if (CORRECTION_VOCABULARY.includes(typo)) continue;
      const word = corrector.correct(typo);
      if (word && CHANGE_WORDS.has(word) && !isFormOf(typo, word)) {
        corrected.push(`${typo} → ${word}`);
      }
    }
    expect(typos.size).toBeGreaterThan(300);
    expect(corrected).toEqual([]);
  });

  it('never turns a read into a change through a word one typo away from a change verb', () => {
    // The ordinary words, then every typo of the change verbs measured (a letter missing, extra,
    // changed, or two swapped), after a read.
    const typos = new Set(ORDINARY_WORDS);
    for (const verb of ['kill', 'scale', 'delete', 'shell', 'patch']) {
      for (const typo of oneTypoAway(verb)) typos.add(typo);
    }
    const planned: string[] = [];
    for (const typo of typos) {
      if (CORRECTION_VOCABULARY.includes(typo) || CHANGE_WORDS.has(typo)) {
        continue;
      }
      const question = `describe deployment checkout-web in shop, ${typo} it`;
      if (plannedAsChange(question, cluster)) planned.push(question);
    }
    expect(typos.size).toBeGreaterThan(1000);
    expect({ count: planned.length, first: planned.slice(0, 10) }).toEqual({
      count: 0,
      first: [],
    });
  });

  it('says that a misspelled change verb looks like one, names it, and plans nothing', () => {
    // Were refused as "The question does not mention anything Kubernetes knows about." or as an
    // action the assistant does not know, or ("pod web-1 is stuck, please delte it") planned as
    // `kubectl get pod/web-1 -n shop`.
    for (const [question, typed, verb, example] of [
      ['drian node-1', 'drian', 'drain', 'drain node node-1'],
      ['please drian node-1', 'drian', 'drain', 'drain node node-1'],
      ['delte deployment web', 'delte', 'delete', 'delete pod web-1 in shop'],
      ['sclae web to 3', 'sclae', 'scale', 'scale deployment web to 3 in shop'],
      [
        'can you sclae deployment checkout-web to 3',
        'sclae',
        'scale',
        'scale deployment web to 3 in shop',
      ],
      [
        'restrat deployment checkout-web in shop',
        'restrat',
        'restart',
        'restart deployment web in shop',
      ],
      ['cordn node-1', 'cordn', 'cordon', 'cordon node node-1'],
      [
        'lable pod web-1 team=core',
        'lable',
        'label',
        'label deployment web in shop team=core',
      ],
      [
        'pod web-1 is stuck, please delte it',
        'delte',
        'delete',
        'delete pod web-1 in shop',
      ],
      [
        'pacth deployment checkout-web {"spec":{"replicas":2}}',
        'pacth',
        'patch',
        'patch deployment web in shop {"spec":{"replicas":2}}',
      ],
    ]) {
      expect({ question, answer: answer(question, cluster) }).toEqual({
        question,
        answer: `refused: I understood that "${typed}" looks like a misspelling of the change verb "${verb}", but the assistant does not guess changes: it plans one only when its verb is spelled out, and plans nothing in its place. Ask again with "${verb}" spelled out, for example "${example}". Nothing was planned.`,
      });
    }
  });

  it('keeps a name the cluster has, and an ordinary word, from being taken for a misspelled change verb', () => {
    const withDrian: ParseContext = {
      known: [
        ...(cluster.known as ParseContext['known'] & object[]),
        { name: 'drian', resource: 'deployments', namespace: 'shop' },
      ] as ParseContext['known'],
    };
    expect(answer('drian deployment in shop', withDrian)).toBe(
      'kubectl get deployment/drian -n shop',
    );
    expect(answer('show stale pods in shop', cluster)).not.toContain(
      'misspelling',
    );
    expect(answer('describe deployment checkout-web in shop', cluster)).toBe(
      'kubectl describe deployments checkout-web -n shop',
    );
  });

  it('still reads the other forms of a change verb as it, to refuse them as not asked for', () => {
    expect(corrector.correct('deleted')).toBe('delete');
    expect(corrector.correct('scaled')).toBe('scale');
    expect(corrector.correct('cordoned')).toBe('cordon');
    expect(answer('who deleted pod web-1 in shop', cluster)).toContain(
      '"deleted" tells of a change made, not one to make',
    );
  });

  it('keeps correcting typos of read words and resource words', () => {
    expect(answer('descirbe deployment checkout-web in shop', cluster)).toBe(
      'kubectl describe deployments checkout-web -n shop',
    );
    expect(answer('show the lgos of pod web-1 in shop', cluster)).toBe(
      'kubectl logs web-1 -n shop --all-containers --tail=200',
    );
    expect(answer('list deplyoments in shop', cluster)).toBe(
      'kubectl get deployments -n shop',
    );
  });
});
