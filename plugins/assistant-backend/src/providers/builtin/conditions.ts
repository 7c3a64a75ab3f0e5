import { Plan } from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { Question } from './question';
import {
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

function isChange(plan: Plan): boolean {
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
