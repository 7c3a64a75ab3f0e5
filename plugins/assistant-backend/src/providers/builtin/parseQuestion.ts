import { Plan, kindOf } from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { screenQuestion } from '../../screening/screenQuestion';
import {
  intent,
  isChange,
  refuseDroppedConditions,
  refuseNegatedSelector,
} from './conditions';
import { parseDiagnosis } from './diagnosis';
import {
  changeKind,
  changeKindsOfPlan,
  changeNotAsAsked,
  changeNotNamed,
  parseChangeAskedFor,
  refuse,
  understood,
} from './mutations';
import { refuseMisspelledChange } from './misspelledChange';
import { targetNotAsked } from './planTarget';
import { KnownNames, KnownObject, findNamespace } from './names';
import { Question } from './question';
import { CannotParse, parseRead, refuseDroppedName } from './reads';
import { CHANGES_IN_WORDS } from './rules/changes';
import { UNEXPRESSIBLE_CHANGES } from './rules/refusals';
import { EntityParseContext } from './scope';
import {
  INTENT_WORDS,
  LEADING_FILLER,
  NOT_A_READ,
  READ_LEADING_WORDS,
  RESOURCE_WORDS,
  STOP_WORDS,
} from './vocabulary';
import {
  honourFlags,
  outputWord,
  refuseFlagProblems,
  refuseNameWithSelector,
  withOutput,
} from './kubectlFlags';
import { podsOfWorkload } from './workloadPods';

/** Scope from the entity page, and what the cluster has. */
export type ParseContext = EntityParseContext & {
  /** Objects that exist, so names win over vocabulary. */
  known?: Iterable<KnownObject>;
};

// Without a single word about Kubernetes there is nothing to answer;
// guessing "list pods" would pretend to understand.
const GENERIC = new Set([
  'show',
  'list',
  'namespace',
  'cluster',
  'across',
  'everywhere',
]);

/**
 * Turns a question into a plan without a model. The steps, each a small
 * resolver reading rules kept as data (rules/, vocabulary.ts):
 * 1. screen: more than one command, or instructions to a model → refused;
 * 2. changes the plan cannot express exactly (set image, port-forward …) → refused; so is a
 *    question that names no change but leads with a misspelled change verb ("drian node-1"),
 *    naming the verb it looks like (misspelledChange.ts);
 * 3. "why is X …" → a read-only diagnosis plan;
 * 4. a change verb → that change, or a refusal saying what is missing; a change verb that is
 *    negated, said as done or asked about ("don't delete …", "who deleted …", "should I delete …",
 *    "dry run: delete …") → refused, saying how to ask for the change (mutations.ts);
 * 5. otherwise a read;
 * 6. a restricting condition the plan does not hold (an exclusion, an age, a
 *    name pattern, a state of the objects of a change …) → refused, never
 *    dropped (conditions.ts); so is a selector negated in words ("not matching app=web": planned,
 *    it would pick the very objects left out) and a name a list would leave out (reads.ts);
 * 7. "pods of deployment web" → the pods its selector picks (workloadPods.ts);
 * 8. kubectl's flags, read once as typed (flagReading.ts): an output format carried out exactly
 *    or refused, a name with a selector refused as kubectl refuses it, every other flag checked to
 *    be carried out by the plan, and a flag the parser does not read refused, naming it, rather
 *    than dropped (kubectlFlags.ts), also one typed with a dash that only looks like `-` (`—n`);
 * 9. a JSON body (`{…}`, read before the flags) in a question that is no patch → refused: the
 *    flags between its braces were not read;
 * 10. a read or a diagnosis of a question that starts with an action the parser does not know
 *    ("evict pods in shop") → refused, never planned as a read; so is a "why" question about a list
 *    that the plan would list whole ("why are pods in shop slow").
 * Throws `PlanRefusal` (final, explained) or `CannotParse` (not understood).
 */
export function parseQuestion(
  question: string,
  context: ParseContext = {},
): Plan {
  const screening = screenQuestion(question);
  if (screening.refusal) throw new PlanRefusal(screening.refusal);
  const lower = ` ${question.toLowerCase().replace(/\s+/g, ' ')} `;
  for (const rule of UNEXPRESSIBLE_CHANGES) {
    if (rule.pattern.test(lower)) {
      throw new PlanRefusal(
        `I understood that ${rule.understood}, but ${rule.cannot}. Nothing was planned.`,
      );
    }
  }
  const known = new KnownNames(context.known);
  const q = new Question(question, known.names());
  refuseMisspelledChange(q, known);
  let plan: Plan | undefined;
  let failure: unknown;
  try {
    plan = planQuestion(q, context, known);
  } catch (e) {
    failure = e;
  }
  // A flag the parser cannot carry out refuses the question, whatever else it says: planned
  // without it, the command would not be the one typed.
  if (q.flags.problems.length) throw refuseFlagProblems(q, plan);
  refuseBodyOutsidePatch(q, plan);
  if (!plan) throw failure;
  return honourFlags(plan, q);
}

/**
 * The refusal of a change another provider planned for a question the builtin parser would not plan
 * it for: a model reads such a question as the change itself. In the builtin parser's words, read
 * with the same context, when the question names a change without asking for it ("was deployment
 * web scaled to 0?", "should I delete pod web-1") or asks for it only under a condition ("scale web
 * to 3 if needed") (`changeNotAsAsked`), or leads with a misspelled change verb ("drian node-1":
 * `refuseMisspelledChange`). Fail closed otherwise: a change the question's words do not ask for
 * ("who evicted pod web-1?" planned as a delete, "scale web to 2" as a delete) is refused
 * (`changeNotNamed`), and so is a change whose target contradicts the one the question states
 * exactly ("delete pods with app=web" planned with `-l app!=web`, in another namespace, of another
 * name or kind: `targetNotAsked`). Undefined when the plan changes nothing (a model may answer a
 * question about a change with a read of it) or the question asks for its change, of its target.
 */
export function refusalOfChangeNotAsked(
  question: string,
  plan: Plan,
  context: ParseContext = {},
): PlanRefusal | undefined {
  if (!isChange(plan)) return undefined;
  const known = new KnownNames(context.known);
  const q = new Question(question, known.names());
  // The change the question names; else the plan's, for a question whose words the parser reads as
  // no change ("is it safe to restart web": "restart" after "is … to" is no verb to it).
  const kind = changeKind(q) ?? changeKindsOfPlan(plan)[0];
  const notAsAsked = kind
    ? changeNotAsAsked(kind, q, findNamespace(q, known), context, known)
    : undefined;
  if (notAsAsked) return notAsAsked.refusal;
  try {
    refuseMisspelledChange(q, known);
  } catch (error) {
    if (error instanceof PlanRefusal) return error;
    throw error;
  }
  return (
    changeNotNamed(q, plan) ??
    targetNotAsked(q, plannedAsAsked(question, context), plan, context, known)
  );
}

/**
 * The builtin parser's plan of a question, with the context another provider's plan is checked
 * with: the target the question states, read exactly. Undefined when it plans none (refused, or
 * not understood).
 */
function plannedAsAsked(
  question: string,
  context: ParseContext,
): Plan | undefined {
  try {
    return parseQuestion(question, context);
  } catch {
    return undefined;
  }
}

/**
 * A JSON body (`{…}`) is read as the body of a patch, before the flags: in any other question the
 * words and flags between its braces would go unread ("restart deployments -n shop {-l app=web}"
 * restarting every deployment in shop), so it is refused, whether or not the rest was planned.
 */
function refuseBodyOutsidePatch(q: Question, plan: Plan | undefined) {
  if (q.jsonBody === undefined) return;
  const kind = changeKind(q);
  if (plan ? plan.verb === 'patch' : kind === 'patch') return;
  let asked = 'run a kubectl command';
  if (plan) asked = intent(plan);
  else if (kind) asked = understood(kind);
  throw refuse(
    asked,
    'the question holds a body in braces ({…}), and a JSON body is only for patch: what is between the braces was not read. Ask without the braces',
  );
}

/** Plans a question from its words and the flags read. */
function planQuestion(
  q: Question,
  context: ParseContext,
  known: KnownNames,
): Plan {
  if (q.tokens.length === 0 && !q.flags.read.length) {
    throw new CannotParse('The question is empty.');
  }
  const meaningful = q.tokens.some(
    t =>
      t.word in RESOURCE_WORDS ||
      ((INTENT_WORDS as readonly string[]).includes(t.word) &&
        !GENERIC.has(t.word)),
  );
  const ns = findNamespace(q, known);
  // The words a restricting condition is looked for in: not a flag's value (`-l tier=old`).
  const text = `${q.prose}${q.jsonBody ? ` ${q.jsonBody}` : ''}`;
  // A format word the plan names its object by is that name ("get configmap yaml").
  const asTyped = (plan: Plan) =>
    refuseNameWithSelector(
      withOutput(
        podsOfWorkload(plan, q, ns, known),
        q.flags.output ?? outputWord(q, plan),
      ),
      q,
    );
  const checked = (plan: Plan) => {
    if (ns.conflict) throw refuse(intent(plan), ns.conflict);
    return inOneNamespace(
      refuseNegatedSelector(refuseDroppedConditions(plan, q, text), q),
    );
  };
  const diagnosis = parseDiagnosis(q, ns, context, known);
  const kind = changeKind(q);
  if (diagnosis && !kind) {
    return asTyped(checked(refuseUnknownAction(diagnosis, q, known)));
  }
  const change = kind
    ? parseChangeAskedFor(kind, q, ns, context, known)
    : undefined;
  if (change) return asTyped(checked(change));
  if (diagnosis) {
    return asTyped(checked(refuseUnknownAction(diagnosis, q, known)));
  }
  if (!meaningful && q.keyValues.length === 0 && !q.flags.selector.length) {
    throw new CannotParse(
      'The question does not mention anything Kubernetes knows about.',
    );
  }
  const read = refuseUnknownAction(parseRead(q, ns, context, known), q, known);
  return asTyped(
    refuseWhyUnanswered(refuseDroppedName(checked(read), q, ns, known), q),
  );
}

/** Whether a word is one a read question may start with. */
function startsARead(word: string): boolean {
  return (
    !NOT_A_READ.has(word) &&
    (word in RESOURCE_WORDS ||
      (INTENT_WORDS as readonly string[]).includes(word) ||
      STOP_WORDS.has(word) ||
      READ_LEADING_WORDS.has(word))
  );
}

/**
 * A read (or diagnosis) planned for a question that starts with an action the parser does not know
 * would answer another question: "evict pods in shop" or "wipe pods in shop" planned as
 * `kubectl get pods -n shop` is a harmless command shown for a destructive request. Its first word
 * (after "please", "can you", "kubectl" …) must be one a read starts with, a name the cluster has,
 * or a word the plan uses (its name, namespace, container or selector); any other plain word is
 * refused, naming it. Words with a digit or a hyphen are names, not actions, and a word followed by
 * "of" or "for" is a thing asked about ("image of deployment web").
 */
function refuseUnknownAction(plan: Plan, q: Question, known: KnownNames): Plan {
  const at = q.tokens.findIndex(t => !LEADING_FILLER.has(t.raw));
  const lead = q.tokens[at];
  if (!lead || !/^[a-z]+$/.test(lead.raw)) return plan;
  // "image of deployment web", "versions for payments-api": something of an object, not an action.
  if (['of', 'for'].includes(q.tokens[at + 1]?.raw)) return plan;
  if (startsARead(lead.word) && !NOT_A_READ.has(lead.raw)) return plan;
  if (known.names().has(lead.raw)) return plan;
  const used = [
    plan.name,
    plan.namespace,
    plan.container,
    ...[plan.labelSelector, plan.fieldSelector].flatMap(selector =>
      (selector ?? '').toLowerCase().split(/[=,!() ]+/),
    ),
  ];
  if (used.includes(lead.raw)) return plan;
  const word = lead.raw.length > 40 ? `${lead.raw.slice(0, 40)}…` : lead.raw;
  const target = plan.name
    ? `${kindOf(plan.resource)} ${plan.name}`
    : plan.resource;
  throw refuse(
    `${word} ${target}${plan.namespace ? ` in ${plan.namespace}` : ''}`,
    `"${word}" is not an action the assistant knows, and it does not plan another in its place: it reads (get, describe, logs, top, events, rollout status and history, diagnose) and makes the changes it names exactly (${CHANGES_IN_WORDS}). Ask with one of those`,
  );
}

/**
 * "Why" about a list is answered by the objects in the state asked about ("why are pods in shop
 * pending": the pending ones) or by a diagnosis of one named workload or pod. A list of every
 * object ("why are pods in shop slow" planned as `kubectl get pods -n shop`) answers neither, and
 * is refused, saying what to ask.
 */
function refuseWhyUnanswered(plan: Plan, q: Question): Plan {
  if (!q.tokens.some(t => t.raw === 'why')) return plan;
  if (plan.verb !== 'get' || plan.resource === 'events') return plan;
  if (plan.name || plan.filter || plan.fieldSelector || plan.sortBy) {
    return plan;
  }
  throw new PlanRefusal(
    `I understood that you ask why about ${plan.resource}${
      plan.namespace ? ` in ${plan.namespace}` : ''
    }, but not which state to look for, and a list of every one would not answer it: ask for those that are not ready, pending, crash-looping, restarting or failed (for example "why aren't pods in shop ready"), or name one workload or pod to diagnose (for example "why is deployment web failing"). Nothing was planned.`,
  );
}

/**
 * kubectl rollout has no --all-namespaces: a rollout over every namespace
 * (asked for, or a list without a namespace) is refused, saying so, rather
 * than shown as `kubectl rollout … -A`, which kubectl rejects. (Logs are
 * refused the same way where they are parsed.)
 */
function inOneNamespace(plan: Plan): Plan {
  if (plan.verb === 'rollout' && plan.allNamespaces) {
    throw refuse(
      intent(plan),
      'kubectl rollout works in one namespace (it has no --all-namespaces): name the namespace',
    );
  }
  return plan;
}

export { CannotParse };
