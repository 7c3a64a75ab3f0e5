import { Plan } from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { Question } from './question';
import {
  NEGATION_REACH,
  NEGATION_STOPS,
  NEGATION_WORDS,
  RELATIVE_CLAUSE,
  SELECTOR_WORDS,
  STATE_WORDS,
  UNSUPPORTED_CONDITIONS,
} from './rules/conditions';

/** A label key: an optional DNS prefix and `/`, then a name. */
const LABEL_KEY =
  /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[a-z0-9](?:[-_.a-z0-9]*[a-z0-9])?$/;

/**
 * Label keys given alone as a selector (kubectl `-l key`: the objects that
 * have the label): a prefixed key after a selector word ("matching
 * backstage.io/kubernetes-id", "with label example.com/team"). A key after
 * `-l`/`--selector` is the selector flag's (flagReading.ts).
 */
export function keyOnlySelectors(q: Question): string[] {
  const out: string[] = [];
  for (let i = 1; i < q.tokens.length; i++) {
    const prev = q.tokens[i - 1].raw;
    const raw = q.tokens[i].raw;
    if (!SELECTOR_WORDS.has(prev) || !LABEL_KEY.test(raw)) continue;
    // A key=value right after the selector word was the selector.
    if (q.keyValues.some(kv => kv.after === prev)) continue;
    if (raw.includes('/')) out.push(raw);
  }
  return out;
}

const CHANGE_VERBS = new Set([
  'apply',
  'delete',
  'scale',
  'label',
  'annotate',
  'cordon',
  'uncordon',
  'patch',
  'drain',
  'exec',
]);

/** Whether a plan changes something (every verb but the reads, rollout status and history). */
export function isChange(plan: Plan): boolean {
  return (
    CHANGE_VERBS.has(plan.verb) ||
    (plan.verb === 'rollout' &&
      (plan.rolloutAction === 'restart' || plan.rolloutAction === 'undo'))
  );
}

const INTENT: Record<string, string> = {
  get: 'list',
  events: 'list',
  describe: 'describe',
  logs: 'read the logs of',
  top: 'see the resource usage of',
  diagnose: 'diagnose',
  exec: 'run a command in',
};
const ROLLOUT_INTENT: Record<string, string> = {
  restart: 'restart',
  undo: 'roll back',
  status: 'see the rollout status of',
  history: 'see the rollout history of',
};

/** What a plan does, in words ("restart deployments"), for the refusals that say what was understood. */
export function intent(plan: Plan): string {
  const verb =
    plan.verb === 'rollout'
      ? ROLLOUT_INTENT[plan.rolloutAction ?? 'status']
      : INTENT[plan.verb] ?? plan.verb;
  return `${verb} ${plan.resource}`;
}

/** Words that end the phrase quoted for a condition. */
const PHRASE_END = new Set(['in', 'on', 'and']);
/** Words of a clause that carry no condition of their own. */
const CLAUSE_FILLER = new Set([
  'the',
  'a',
  'an',
  'label',
  'labels',
  'labelled',
  'labeled',
  'selector',
  'with',
  'set',
  'to',
  'by',
  // "that match app=web": the selector after it is the condition, held by the plan or refused.
  'match',
  'matches',
  'matching',
]);

/** The words of the question from `at`, up to the scope or four words on. */
function phraseAt(text: string, at: number, head: string): string {
  const words: string[] = [];
  for (const w of text
    .slice(at + head.length)
    .trim()
    .split(' ')) {
    if (!w || PHRASE_END.has(w) || w.includes('=') || words.length >= 4) break;
    words.push(w);
  }
  return [head.trim(), ...words].join(' ');
}

/** Whether a state word is what the plan selects by. */
function honouredState(word: string, plan: Plan): boolean {
  return word === 'failed' && plan.fieldSelector === 'status.phase=Failed';
}

/**
 * Fail closed on conditions: a question whose restricting condition the plan
 * does not hold — an exclusion, an age, a name pattern, "matching" something
 * that is not a selector, and for changes over several objects a state or a
 * "that …"/"where …" clause — is refused, saying which words could not be
 * applied. Planning without them would reach more than was asked ("restart
 * deployments matching x" restarting every deployment). Returns the plan
 * when nothing was dropped.
 */
export function refuseDroppedConditions(
  plan: Plan,
  q: Question,
  question: string,
): Plan {
  const text = ` ${question
    .toLowerCase()
    .replace(/[’'`]/g, '')
    .replace(/\s+/g, ' ')} `;
  const several = isChange(plan) && !plan.name;
  const dropped: string[] = [];
  const add = (words: string, what: string) => {
    if (!dropped.some(d => d.startsWith(`"${words}"`))) {
      dropped.push(`"${words}" (${what})`);
    }
  };

  for (const rule of UNSUPPORTED_CONDITIONS) {
    if (rule.changesOnly && !several) continue;
    const m = rule.pattern.exec(text);
    if (m) add(phraseAt(text, m.index, m[0]), rule.what);
  }

  // "matching X": X must be a selector the plan holds.
  const selectors = (plan.labelSelector ?? '').split(',');
  q.tokens.forEach((t, i) => {
    if (!['matching', 'match', 'matches'].includes(t.raw)) return;
    if (q.keyValues.some(kv => kv.after === t.raw)) return;
    const next = q.tokens[i + 1];
    if (next && selectors.includes(next.raw)) return;
    add(
      `${t.raw}${next ? ` ${next.raw}` : ''}`,
      'a match that is not a label selector',
    );
  });

  if (several) {
    for (const t of q.tokens) {
      if (
        STATE_WORDS.has(t.word) &&
        t.raw !== plan.namespace &&
        !honouredState(t.word, plan)
      ) {
        add(t.raw, 'a state the objects of a change cannot be selected by');
      }
    }
    const clauses = [RELATIVE_CLAUSE, /\bwhere\b/];
    for (const pattern of clauses) {
      const m = pattern.exec(text);
      if (!m) continue;
      const phrase = phraseAt(text, m.index, m[0]);
      const rest = phrase
        .split(' ')
        .slice(m[0].trim().split(' ').length)
        .filter(
          w =>
            !CLAUSE_FILLER.has(w) &&
            !w.includes('=') &&
            !honouredState(w, plan),
        );
      if (rest.length) add(phrase, 'a condition on the objects');
    }
  }

  if (!dropped.length) return plan;
  const it = dropped.length > 1 ? 'them' : 'it';
  throw new PlanRefusal(
    `I understood that you want to ${intent(
      plan,
    )}, but not how to apply ${dropped.join(
      ', ',
    )}: the plan has no field for ${it}, and without ${it} it would ${
      isChange(plan) ? 'change' : 'show'
    } more than you asked. Narrow it with a label selector (for example "with label app=web", "-l app=web" or "matching example.com/team"), or name the object. Nothing was planned.`,
  );
}

/** A selector given as a word of the question: a key=value pair, or the flag `-l`/`--selector` (with its value, glued or next). */
const SELECTOR_PAIR = /^[a-z0-9][-a-z0-9_./]*!?=/;
const SELECTOR_FLAG = /^(?:-l|--selector)(?:=?(.+))?$/;

/** The requirement a selector word gives, for the example of a refusal; `undefined` when it is not one. */
function selectorIn(
  words: ReadonlyArray<string>,
  at: number,
): { requirement: string; words: number } | undefined {
  const word = words[at];
  const flag = SELECTOR_FLAG.exec(word);
  if (flag) {
    const value = flag[1] ?? words[at + 1];
    return { requirement: value ?? '', words: flag[1] ? 1 : 2 };
  }
  if (SELECTOR_PAIR.test(word)) return { requirement: word, words: 1 };
  // A label key alone after a selector word ("not matching example.com/team"), as keyOnlySelectors reads it.
  if (
    at > 0 &&
    SELECTOR_WORDS.has(words[at - 1]) &&
    word.includes('/') &&
    LABEL_KEY.test(word)
  ) {
    return { requirement: word, words: 1 };
  }
  return undefined;
}

/**
 * Where the words naming the plan's namespace end, when they follow a negation at `at`: "in shop",
 * "from the shop namespace", `-n shop`, `-nshop`, `--namespace=shop` ("delete pods not in shop
 * with app=web" planned in shop).
 */
function namespaceLeftOut(
  words: ReadonlyArray<string>,
  at: number,
  plan: Plan,
): number | undefined {
  const ns = plan.namespace;
  if (!ns) return undefined;
  const flag = /^(?:-n|--namespace)(?:=?(.+))?$/.exec(words[at] ?? '');
  if (flag) {
    if (flag[1] === ns) return at + 1;
    return words[at + 1] === ns ? at + 2 : undefined;
  }
  if (words[at] !== 'in' && words[at] !== 'from') return undefined;
  let j = at + 1;
  while (['the', 'namespace', 'ns'].includes(words[j])) j++;
  if (words[j] !== ns) return undefined;
  return ['namespace', 'ns'].includes(words[j + 1]) ? j + 2 : j + 1;
}

/** How the requirement negated is typed as kubectl reads a negation: `app!=web`, `!app`. */
function negatedExample(requirement: string): string {
  const pair = /^([^=!,]+)(!?=)([^,]*)/.exec(requirement);
  if (pair?.[2] === '!=') return `-l '${pair[1]}=${pair[3]}'`;
  if (pair) {
    return `-l '${pair[1]}!=${pair[3]}' (or -l '!${pair[1]}' for those without the label)`;
  }
  const key = requirement.split(',')[0];
  return LABEL_KEY.test(key) ? `-l '!${key}'` : `-l 'app!=web'`;
}

/**
 * Refuses a question that negates or excludes in words a label selector ("delete pods not matching
 * app=web", "… but keep app=web", "… lacking app=web", "not -l app=web", "don't restart deployments
 * with app=web") or the plan's namespace ("delete pods not in shop with app=web"). The plan selects by
 * them as typed, so it would reach exactly the objects the question leaves out (a change of the
 * opposite objects, a list of the wrong ones). A selector negated as kubectl reads it (`-l 'app!=web'`,
 * `-l '!app'`) is planned. Returns the plan when no negation reaches a selector or the namespace.
 */
export function refuseNegatedSelector(plan: Plan, q: Question): Plan {
  const typed = q.asked
    .toLowerCase()
    .replace(/[’`]/g, "'")
    .split(/\s+/)
    .filter(Boolean);
  // Punctuation that ends a clause ends the reach of a negation.
  const ends = typed.map(w => /[,.;:?!)\]]$/.test(w));
  const words = typed.map(w =>
    w.replace(/^[(\["']+/, '').replace(/["')\],.;:?!]+$/, ''),
  );
  for (let i = 0; i < words.length; i++) {
    // The words after `--` are the command exec runs.
    if (words[i] === '--') break;
    if (!NEGATION_WORDS.test(words[i])) continue;
    // "why aren't the pods with app=web ready": the pods with app=web are the subject.
    if (words[i - 1] === 'why') continue;
    // "all pods but the app=web ones" leaves them out; "but only app=web" narrows to them, and
    // "but in shop" says where.
    const but = words[i] === 'but';
    if (but && ['only', 'just'].includes(words[i + 1])) continue;
    const left = but ? undefined : namespaceLeftOut(words, i + 1, plan);
    if (left) {
      const phrase = words.slice(i, left).join(' ');
      throw new PlanRefusal(
        `I understood that you want to ${intent(
          plan,
        )}, but "${phrase}" leaves out the namespace the plan is in: planned, it would ${
          isChange(plan) ? 'change' : 'show'
        } the very objects you want left out, and the plan has no field for a namespace to leave out; name the namespace you mean. Nothing was planned.`,
      );
    }
    for (
      let j = i + 1;
      j <= i + NEGATION_REACH && j < words.length && !ends[j - 1];
      j++
    ) {
      const selector = selectorIn(words, j);
      if (selector) {
        const phrase = words.slice(i, j + selector.words).join(' ');
        throw new PlanRefusal(
          `I understood that you want to ${intent(
            plan,
          )}, but "${phrase}" negates the selector, and the plan can only select by it: planned, it would ${
            isChange(plan) ? 'change' : 'show'
          } the very objects you want left out; ask with the selector negated as kubectl reads it, for example ${negatedExample(
            selector.requirement,
          )}. Nothing was planned.`,
        );
      }
      if (NEGATION_STOPS.has(words[j]) || words[j] === '--') break;
    }
  }
  return plan;
}
