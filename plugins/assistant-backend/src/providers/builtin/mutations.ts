import { Plan, PlanResource, kindOf } from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { KnownNames, NamespaceScope, findName } from './names';
import { Question, Token } from './question';
import {
  ASKING_PHRASES,
  ASKING_WORDS,
  CHANGES_IN_WORDS,
  CHANGE_RULES,
  CONDITIONAL_WORDS,
  CONDITION_OPENERS,
  COURTESY_CONDITIONS,
  ChangeKind,
  DO_ASKERS,
  IRREGULAR_PAST,
  MODALS,
  MODAL_REQUEST_WORDS,
  NEGATING_WORDS,
  ONCE_AS_COUNT,
  RESTART_AS_NOUN,
  RESTART_ASKER,
  RESTART_COUNT_WORDS,
  RESTART_QUESTION,
} from './rules/changes';
import {
  EntityParseContext,
  scoped,
  selectorFrom,
  splitSelectorAndValues,
} from './scope';
import { RESOURCE_WORDS } from './vocabulary';

const FILLER = new Set([
  'please',
  'can',
  'could',
  'you',
  'i',
  'want',
  'to',
  'go',
  'now',
  'kubectl',
  'just',
  'lets',
  'we',
  'need',
]);

/** A refusal that says what was understood and what is missing. */
export function refuse(intent: string, cannot: string): PlanRefusal {
  return new PlanRefusal(
    `I understood that you want to ${intent}, but ${cannot}. Nothing was planned.`,
  );
}

function startsWith(q: Question, words: string[]): boolean {
  const first = q.tokens.find(t => !FILLER.has(t.word))?.word;
  return !!first && words.includes(first);
}

/** The kind of change a question asks for, if any: the first of {@link changeKinds}. */
export function changeKind(q: Question): ChangeKind | undefined {
  return changeKinds(q)[0];
}

/** Every kind of change the question names, in the order of the change rules. */
export function changeKinds(q: Question): ChangeKind[] {
  const first = q.tokens.find(t => !FILLER.has(t.word))?.word;
  return CHANGE_RULES.filter(rule => {
    const byWord =
      rule.kind === 'label'
        ? first === 'label'
        : rule.words.some(w => q.has(w));
    const scaleByReplicas =
      rule.kind === 'scale' &&
      q.has('replicas', 'replica', 'instances') &&
      q.has('set', 'change', 'make');
    return (
      (byWord ||
        scaleByReplicas ||
        rule.phrases?.some(p => q.text.includes(` ${p} `))) &&
      (rule.kind !== 'restart' || isRestartVerb(q))
    );
  }).map(rule => rule.kind);
}

/**
 * The kinds of change a plan makes, as the change rules name them: a rollout restart or undo, the
 * verb's own (`delete`, `scale` …), and for the deletion of one named pod a restart too (the
 * builtin parser plans "restart pod web-1" so). None for `apply`, which no rule asks for.
 */
export function changeKindsOfPlan(plan: Plan): ChangeKind[] {
  if (plan.verb === 'rollout') {
    if (plan.rolloutAction === 'undo') return ['undo'];
    return plan.rolloutAction === 'restart' ? ['restart'] : [];
  }
  const kinds = CHANGE_RULES.filter(rule => rule.kind === plan.verb).map(
    rule => rule.kind,
  );
  if (plan.verb === 'delete' && plan.resource === 'pods' && plan.name) {
    kinds.push('restart');
  }
  return kinds;
}

/**
 * The refusal of a change another provider planned for a question that does not ask for that
 * change in words the change rules know: one that names none ("who evicted pod web-1?", "tidy up
 * shop" planned as a delete), or another ("scale web to 2" planned as a delete). Fail closed: a
 * change is planned only when the question's own words ask for it. Undefined when they do.
 */
export function changeNotNamed(
  q: Question,
  plan: Plan,
): PlanRefusal | undefined {
  const asked = changeKinds(q);
  const made = changeKindsOfPlan(plan);
  if (made.some(kind => asked.includes(kind))) return undefined;
  const change = askedAs(plan);
  return new PlanRefusal(
    `I understood that the question ${
      asked.length
        ? `asks to ${understood(asked[0])}`
        : 'does not ask for a change'
    }, but the plan made for it would ${change}: the assistant makes a change only when the question asks for that change in words (${CHANGES_IN_WORDS}), and plans nothing in its place.${
      made.length
        ? ` To have it planned, ask for it, for example "${change}".`
        : ''
    } Nothing was planned.`,
  );
}

/**
 * Whether a restart word names a restart. It does as the request's first word ("restart
 * deployments in shop", "can you restart web", "rollout restart sts db") or after the asker ("how
 * do I restart web", then refused as asked about, not for: `notAskedFor`). It does not as a noun
 * ("the last restart", "restart count of pods in shop") nor in a question about what restarted
 * ("did any pod in payments restart", "how many times did pods in staging restart"): those are
 * reads, and planned as a rollout restart they would restart every workload asked about.
 */
function isRestartVerb(q: Question): boolean {
  const words = q.tokens.map(t => t.word);
  const i = words.findIndex(w =>
    ['restart', 'bounce', 'redeploy', 'recycle'].includes(w),
  );
  if (i < 0) return false;
  if (RESTART_AS_NOUN.includes(words[i - 1] ?? '') || q.has('logs', 'log')) {
    return false;
  }
  if (RESTART_COUNT_WORDS.includes(words[i + 1] ?? '')) return false;
  const lead = words.findIndex(w => !FILLER.has(w) && w !== 'rollout');
  if (i === lead || RESTART_ASKER.includes(words[i - 1] ?? '')) return true;
  return !words.slice(0, i).some(w => RESTART_QUESTION.includes(w));
}

/** Where the words that name a change of this kind are ("scale", "down to" …). */
function changeWordsAt(kind: ChangeKind, q: Question): number[] {
  const rule = CHANGE_RULES.find(r => r.kind === kind)!;
  const at: number[] = [];
  // "label" names the change only as the first word (changeKind).
  const first = q.tokens.findIndex(t => !FILLER.has(t.word));
  q.tokens.forEach((t, i) => {
    if (
      kind === 'label'
        ? i === first && t.word === 'label'
        : rule.words.includes(t.word)
    ) {
      at.push(i);
    }
  });
  for (const phrase of rule.phrases ?? []) {
    const found = q.text.indexOf(` ${phrase} `);
    if (found >= 0)
      at.push(q.text.slice(0, found).split(' ').filter(Boolean).length);
  }
  if (kind === 'scale' && at.length === 0) {
    q.tokens.forEach((t, i) => {
      if (['set', 'change', 'make'].includes(t.word)) at.push(i);
    });
  }
  return at.sort((a, b) => a - b);
}

/** Whether the word at `i` asks about what follows it ("should I", "was", "how" …). */
function asksAbout(q: Question, i: number): boolean {
  const word = q.tokens[i].raw;
  const next = q.tokens[i + 1]?.raw ?? '';
  const previous = q.tokens[i - 1]?.raw ?? '';
  if (word === 'have' || word === 'havent') return next !== 'to';
  if (word === 'do') return DO_ASKERS.includes(next);
  if (MODALS.includes(word)) {
    return !MODAL_REQUEST_WORDS.includes(next) && previous !== 'you';
  }
  return ASKING_WORDS.includes(word);
}

/**
 * Why the change word `verb` is not said as a request, or undefined, given the first negating and
 * asking words before it in its clause and the first conditional word before it in the question.
 */
function notAnOrder(
  kind: ChangeKind,
  q: Question,
  verb: Token,
  before: { negation?: Token; asking?: Token; condition?: Token },
): string | undefined {
  const said = verb.raw;
  if (before.negation) {
    return `"${before.negation.raw}" before "${said}" says not to make it`;
  }
  // A change verb as typed other than as an order: "deleted", "scaled", "cordoned" (read as the
  // verb: typo correction maps these forms of a change verb to it, and no other word), "deletes",
  // "shrunk".
  if (said !== verb.word && /^[a-z]+$/.test(said)) {
    if (/ed$/.test(said) || IRREGULAR_PAST.includes(said)) {
      return `"${said}" tells of a change made, not one to make`;
    }
    if (/(s|ing)$/.test(said)) {
      return `"${said}" describes the change rather than asks for it`;
    }
  }
  // "rolled back" is read as the word "rollback", as "roll back" is.
  if (
    kind === 'undo' &&
    said === 'rollback' &&
    /\brolled\s+back\b/i.test(q.prose) &&
    !/\b(roll\s*back|undo|revert)\b/i.test(q.prose)
  ) {
    return `"rolled back" tells of a change made, not one to make`;
  }
  if (before.asking) {
    return `"${before.asking.raw}" before "${said}" asks about it`;
  }
  if (before.condition) {
    return `"${before.condition.raw}" before "${said}" makes it a hypothesis or a condition the plan cannot hold`;
  }
  return undefined;
}

/**
 * Why a question that names a change does not ask for it, or undefined when it does. A change verb
 * negated before it in its clause ("don't delete pod web-1", "never scale web to 0"), said as done
 * ("who deleted …", "was web scaled to 0", "has anyone rolled back web"), asked about ("should I",
 * "is it safe to", "how do I", "what's the command to", "am I allowed to"), after an "if" ("what
 * happens if I delete …"), or in a question about a dry run, `kubectl auth can-i`, or whether it
 * is safe, is not a request: planned, one confirmation would make the very change the question
 * asked about, or asked not to make. A request, however put, names the change as an order ("delete
 * pod web-1", "can you delete …", "please scale …", "I would like to scale …", "we have to roll
 * back …"); what an earlier clause says does not count ("web-1 is stuck, delete it"), except an
 * "if". Each time the change is named counts: the plan is read from the whole question, so "never
 * scale web to 0, scale it to 3" could be planned with the 0. One pass over the words.
 */
export function notAskedFor(kind: ChangeKind, q: Question): string | undefined {
  const named = new Set(changeWordsAt(kind, q));
  let before: { negation?: Token; asking?: Token; condition?: Token } = {};
  for (let i = 0; i < q.tokens.length; i++) {
    const t = q.tokens[i];
    if (i > 0 && t.clause !== q.tokens[i - 1].clause) {
      before = { condition: before.condition };
    }
    if (named.has(i)) {
      const why = notAnOrder(kind, q, t, before);
      if (why) return why;
    }
    if (!before.negation && NEGATING_WORDS.includes(t.raw)) before.negation = t;
    if (!before.asking && asksAbout(q, i)) before.asking = t;
    if (!before.condition && CONDITIONAL_WORDS.includes(t.raw)) {
      before.condition = t;
    }
  }
  const typed = ` ${q.tokens.map(t => t.raw).join(' ')} `;
  for (const phrase of ASKING_PHRASES) {
    const found = phrase.exec(typed);
    if (found) return `"${found[0].trim()}" asks about it`;
  }
  return undefined;
}

/** A change, in the words that would ask for it ("delete pod web-1 in shop"). */
export function askedAs(plan: Plan): string {
  let verb: string = plan.verb;
  if (plan.verb === 'rollout') {
    verb = plan.rolloutAction === 'undo' ? 'roll back' : 'restart';
  } else if (plan.verb === 'exec') verb = 'exec into';
  const object = plan.name
    ? `${kindOf(plan.resource)} ${plan.name}`
    : `${plan.fieldSelector ? 'failed ' : ''}${plan.resource}`;
  const values = plan.labels ?? plan.annotations;
  return [
    verb,
    object,
    plan.labelSelector ? `with ${plan.labelSelector}` : '',
    plan.verb === 'scale' ? `to ${plan.replicas}` : '',
    plan.namespace ? `in ${plan.namespace}` : '',
    values
      ? Object.entries(values)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')
      : '',
    plan.verb === 'patch' ? plan.patch ?? '' : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Words of a condition quoted in a refusal. */
const MAX_CONDITION_WORDS = 8;

/**
 * The condition a question puts on a change, as typed ("if needed", "when it is slow", "unless it is
 * busy"), or undefined: an opener (`CONDITION_OPENERS`) followed by words of its clause, at most 8
 * words quoted. A courtesy ("if you can", "as soon as possible") and "once" as a count ("restart web
 * once", "once more") are no condition. One pass over the words, each opener reading a bounded
 * number of words after it.
 */
function conditionOfChange(q: Question): string[] | undefined {
  const words = q.tokens;
  for (let i = 0; i < words.length; i++) {
    const opener = CONDITION_OPENERS.find(o =>
      o.every(
        (w, k) =>
          words[i + k]?.raw === w && words[i + k].clause === words[i].clause,
      ),
    );
    if (!opener) continue;
    // The condition up to the end of its clause; one word more than is quoted, to know it is cut.
    const condition: string[] = [];
    for (
      let j = i;
      j < words.length &&
      words[j].clause === words[i].clause &&
      condition.length <= MAX_CONDITION_WORDS;
      j++
    ) {
      condition.push(words[j].raw);
    }
    if (condition.length === opener.length) continue;
    if (
      COURTESY_CONDITIONS.some(
        c =>
          c.length === condition.length &&
          c.every((w, k) => condition[k] === w),
      )
    ) {
      continue;
    }
    if (opener[0] === 'once' && ONCE_AS_COUNT.includes(condition[1])) continue;
    return condition;
  }
  return undefined;
}

/** Why a change the question names is not planned as asked: it is not asked for, or only under a condition. */
type NotAsAsked = { notAskedFor: string } | { condition: string[] };

function notAsAsked(kind: ChangeKind, q: Question): NotAsAsked | undefined {
  const why = notAskedFor(kind, q);
  if (why) return { notAskedFor: why };
  const condition = conditionOfChange(q);
  return condition ? { condition } : undefined;
}

/**
 * The refusal of a question that names a change of `kind` without asking for it (`notAskedFor`),
 * or asks for it only under a condition (`conditionOfChange`), saying what it understood and how to
 * ask for the change; undefined when it asks for the change. `read` is true when the parser reads
 * the question as no change at all (`parseChange` answers undefined: "how do i restart?").
 * `parseChangeAskedFor` refuses with it, and so does the backend a change another provider planned
 * for such a question (AssistantService), in the same words.
 */
export function changeNotAsAsked(
  kind: ChangeKind,
  q: Question,
  ns: NamespaceScope,
  context: EntityParseContext,
  known: KnownNames,
): { refusal: PlanRefusal; read: boolean } | undefined {
  const reason = notAsAsked(kind, q);
  if (!reason) return undefined;
  let named: string | undefined;
  let read = false;
  try {
    const plan = parseChange(kind, q, ns, context, known);
    read = !plan;
    // A namespace read out of the condition alone ("restart web in case it hangs": -n case) is
    // not the change asked for.
    const fromCondition =
      'condition' in reason &&
      !!plan?.namespace &&
      reason.condition.includes(plan.namespace) &&
      q.tokens.filter(t => t.raw === plan.namespace).length <=
        reason.condition.filter(w => w === plan.namespace).length;
    if (plan && !fromCondition) named = askedAs(plan);
  } catch {
    // Refused as a change (no count, no object …): told in general words below.
  }
  const example = named ?? CHANGE_RULES.find(r => r.kind === kind)!.example;
  if ('notAskedFor' in reason) {
    return {
      read,
      refusal: new PlanRefusal(
        `I understood that the question names a change (${
          named ?? understood(kind)
        }), but ${
          reason.notAskedFor
        }: it does not ask for a change. To have it planned, ask for it, for example "${example}". Nothing was planned.`,
      ),
    };
  }
  const words = reason.condition.slice(0, MAX_CONDITION_WORDS).join(' ');
  const condition =
    reason.condition.length > MAX_CONDITION_WORDS ? `${words} …` : words;
  return {
    read,
    refusal: refuse(
      named ?? understood(kind),
      `only "${condition}": the plan has no field for a condition, and the assistant does not judge whether one holds, so it would make the change either way. Check the condition yourself, then ask for the change without it, for example "${example}"`,
    ),
  };
}

/**
 * Plans the change a question asks for (`parseChange`), or refuses a question that names one
 * without asking for it or asks for it under a condition (`changeNotAsAsked`). A question that
 * `parseChange` reads as no change at all (undefined) stays a read.
 */
export function parseChangeAskedFor(
  kind: ChangeKind,
  q: Question,
  ns: NamespaceScope,
  context: EntityParseContext,
  known: KnownNames,
): Plan | undefined {
  const notAsked = changeNotAsAsked(kind, q, ns, context, known);
  if (!notAsked) return parseChange(kind, q, ns, context, known);
  if (notAsked.read) return undefined;
  throw notAsked.refusal;
}

/** What a kind of change asks for, in words ("delete something"). */
export function understood(kind: ChangeKind): string {
  return CHANGE_RULES.find(r => r.kind === kind)!.understood;
}

/** Whether the question says "all"/"every" about the objects it changes. */
function saysAll(q: Question): boolean {
  return q.has('all', 'every', 'each', 'everything');
}

const SCALABLE: PlanResource[] = ['deployments', 'statefulsets', 'replicasets'];
const RESTARTABLE: PlanResource[] = [
  'deployments',
  'statefulsets',
  'daemonsets',
];

/**
 * Plans a change, or refuses it. Never returns a read for a question that
 * asks for a change: a change it cannot pin down exactly is refused.
 */
export function parseChange(
  kind: ChangeKind,
  q: Question,
  ns: NamespaceScope,
  context: EntityParseContext,
  known: KnownNames,
): Plan | undefined {
  const found = findName(q, ns.used, known);
  // The kind the question gives wins; else the kind the cluster has.
  const named = { ...found, resource: found.resource ?? found.knownKind };
  const contextOnly = !named.name && !!context.labelSelector;
  const mentioned = (): PlanResource | undefined => {
    for (const t of q.tokens) {
      const r = RESOURCE_WORDS[t.word];
      if (r && r !== 'namespaces' && t.word !== 'container') return r;
    }
    return undefined;
  };
  // "annotate namespace shop …", "delete the staging namespace": the
  // namespace is the object, not the scope.
  const namespaceIsObject =
    !named.name && !mentioned() && q.has('namespace', 'ns') && !!ns.namespace;
  const selector = selectorFrom(q);
  const fieldSelector =
    q.has('failed') && !named.name ? 'status.phase=Failed' : undefined;

  switch (kind) {
    case 'patch': {
      const resource = named.resource ?? mentioned();
      if (!named.name || !resource) {
        throw refuse(
          understood(kind),
          'not which object: name its kind and name',
        );
      }
      if (!q.jsonBody) {
        throw refuse(
          `patch ${resource} ${named.name}`,
          'the question holds no JSON patch body (for example {"spec":{"replicas":2}})',
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(q.jsonBody);
      } catch {
        throw refuse(
          `patch ${resource} ${named.name}`,
          'its body is not valid JSON',
        );
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) {
        throw refuse(
          `patch ${resource} ${named.name}`,
          'a patch body must be a JSON object',
        );
      }
      return scoped(
        {
          verb: 'patch',
          resource,
          name: named.name,
          patch: JSON.stringify(body),
        },
        ns,
        context,
        { useContextSelector: false },
      );
    }
    case 'undo': {
      const resource =
        named.resource && RESTARTABLE.includes(named.resource)
          ? named.resource
          : 'deployments';
      if (!named.name) {
        throw refuse(understood(kind), 'not which one: name the deployment');
      }
      return scoped(
        { verb: 'rollout', rolloutAction: 'undo', resource, name: named.name },
        ns,
        context,
        { useContextSelector: false },
      );
    }
    case 'delete': {
      const resource =
        named.resource ?? mentioned() ?? (named.name ? undefined : 'pods');
      if (
        namespaceIsObject ||
        (!named.name && !mentioned() && q.has('namespace', 'namespaces', 'ns'))
      ) {
        const name = ns.namespace ?? named.name;
        if (!name) throw refuse('delete a namespace', 'not which one');
        return { verb: 'delete', resource: 'namespaces', name };
      }
      if (!resource)
        throw refuse(
          understood(kind),
          'not what: name the kind and the object',
        );
      if (!named.name && !selector && !fieldSelector && !contextOnly) {
        throw refuse(
          `delete ${resource}`,
          `not which: name one, or give a label selector (for example "delete ${resource} with app=x in shop")`,
        );
      }
      return scoped(
        {
          verb: 'delete',
          resource,
          ...(named.name ? { name: named.name } : {}),
          ...(selector && !named.name ? { labelSelector: selector } : {}),
          ...(fieldSelector ? { fieldSelector } : {}),
        },
        ns,
        context,
        { useContextSelector: true },
      );
    }
    case 'drain':
    case 'cordon':
    case 'uncordon': {
      const node = named.name ?? ns.node;
      if (!node) {
        throw refuse(
          understood(kind),
          'not which node: name one (for example "cordon node-2")',
        );
      }
      return { verb: kind, resource: 'nodes', name: node };
    }
    case 'exec': {
      if (!named.name) throw refuse(understood(kind), 'not in which pod');
      const container = q.flags.value('container');
      return scoped(
        {
          verb: 'exec',
          resource: 'pods',
          name: named.name,
          ...(container ? { container } : {}),
          command: ['sh'],
        },
        ns,
        context,
        { useContextSelector: false },
      );
    }
    case 'scale': {
      const worded = q.numberNear(
        ['to', 'at', 'of'],
        ['replicas', 'replica', 'pods', 'instances', 'copies'],
      );
      const flagged = q.flags.number('replicas');
      if (flagged !== undefined && worded !== undefined && flagged !== worded) {
        throw refuse(
          understood(kind),
          `--replicas=${flagged} and the ${worded} the question also gives disagree: give the number once`,
        );
      }
      const replicas = flagged ?? worded;
      if (replicas === undefined) {
        throw refuse(
          understood(kind),
          'not to how many replicas: give a number',
        );
      }
      const resource =
        named.resource && SCALABLE.includes(named.resource)
          ? named.resource
          : 'deployments';
      if (!named.name && selector) {
        throw refuse(
          `scale to ${replicas}`,
          `the assistant scales one named deployment or statefulset, not those a label selector picks (-l ${selector}): name it`,
        );
      }
      if (!named.name) {
        throw refuse(
          `scale to ${replicas}`,
          'not which workload: scale works on one named deployment or statefulset',
        );
      }
      return scoped(
        { verb: 'scale', resource, name: named.name, replicas },
        ns,
        context,
        { useContextSelector: false },
      );
    }
    case 'restart': {
      const target = named.resource ?? mentioned();
      const resource =
        target && RESTARTABLE.includes(target) ? target : 'deployments';
      if (named.resource === 'pods' && named.name) {
        // Restarting a single pod means deleting it; say so rather than guess.
        return scoped(
          { verb: 'delete', resource: 'pods', name: named.name },
          ns,
          context,
          { useContextSelector: false },
        );
      }
      const wholeScope =
        !named.name &&
        (!!selector || !!ns.namespace || ns.allNamespaces || saysAll(q));
      if (!named.name && !contextOnly && !wholeScope) {
        // "which pods restart the most" is a read; "restart please" is not.
        if (!startsWith(q, ['restart', 'bounce', 'redeploy', 'recycle'])) {
          return undefined;
        }
        throw refuse(understood(kind), 'not which one: name the workload');
      }
      return scoped(
        {
          verb: 'rollout',
          rolloutAction: 'restart',
          resource,
          ...(named.name ? { name: named.name } : {}),
          ...(selector && !named.name ? { labelSelector: selector } : {}),
        },
        ns,
        context,
        { useContextSelector: true },
      );
    }
    case 'label':
    case 'annotate': {
      const { selector: labelSelector, values } = splitSelectorAndValues(q);
      if (!values) {
        throw refuse(understood(kind), 'not which key=value to set');
      }
      const field = kind === 'label' ? 'labels' : 'annotations';
      if (namespaceIsObject) {
        return {
          verb: kind,
          resource: 'namespaces',
          name: ns.namespace!,
          [field]: values,
        };
      }
      const resource = named.resource ?? mentioned() ?? 'pods';
      const whole = !!labelSelector || saysAll(q) || ns.allNamespaces;
      if (!named.name && !contextOnly && !whole) {
        throw refuse(understood(kind), 'not on which object: name it');
      }
      return scoped(
        {
          verb: kind,
          resource,
          ...(named.name ? { name: named.name } : {}),
          ...(labelSelector && !named.name ? { labelSelector } : {}),
          [field]: values,
        },
        ns,
        context,
        { useContextSelector: true },
      );
    }
    default:
      throw refuse('change something', 'not what');
  }
}
