import { Plan } from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { screenQuestion } from '../../screening/screenQuestion';
import {
  intent,
  refuseDroppedConditions,
  refuseNegatedSelector,
} from './conditions';
import { parseDiagnosis } from './diagnosis';
import { changeKind, parseChange, refuse, understood } from './mutations';
import { KnownNames, KnownObject, findNamespace } from './names';
import { Question } from './question';
import { CannotParse, parseRead, refuseDroppedName } from './reads';
import { UNEXPRESSIBLE_CHANGES } from './rules/refusals';
import { EntityParseContext } from './scope';
import { INTENT_WORDS, RESOURCE_WORDS } from './vocabulary';
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
 * 2. changes the plan cannot express exactly (set image, port-forward …) → refused;
 * 3. "why is X …" → a read-only diagnosis plan;
 * 4. a change verb → that change, or a refusal saying what is missing;
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
 *    flags between its braces were not read.
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
  if (diagnosis && !kind) return asTyped(checked(diagnosis));
  const change = kind ? parseChange(kind, q, ns, context, known) : undefined;
  if (change) return asTyped(checked(change));
  if (diagnosis) return asTyped(checked(diagnosis));
  if (!meaningful && q.keyValues.length === 0 && !q.flags.selector.length) {
    throw new CannotParse(
      'The question does not mention anything Kubernetes knows about.',
    );
  }
  return asTyped(
    refuseDroppedName(checked(parseRead(q, ns, context, known)), q, ns, known),
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
