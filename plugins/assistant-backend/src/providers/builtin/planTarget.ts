import {
  CLUSTER_SCOPED_RESOURCES,
  Plan,
} from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { isChange } from './conditions';
import { askedAs, changeKindsOfPlan } from './mutations';
import { KnownNames, findNamespace } from './names';
import { Question } from './question';
import {
  EntityParseContext,
  selectorFrom,
  splitSelectorAndValues,
} from './scope';
import { RESOURCE_WORDS } from './vocabulary';

/** A label key, as a selector's requirement names it. */
const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
/** `key`, `!key`: whether the label is there. */
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
/** `key=value`, `key==value`, `key!=value`. */
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`);
/** `key in (a,b)`, `key notin (a,b)`. */
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);

/**
 * The requirements of a label selector, each written one way (`app=web` for `app==web` and
 * `app = web`, the values of a set sorted), sorted; undefined when it is not a selector kubectl
 * reads so (each requirement is matched whole, by patterns without nested repetition: linear).
 */
export function selectorRequirements(selector: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if ((c === ',' && depth === 0) || i === selector.length) {
      parts.push(selector.slice(start, i).trim());
      start = i + 1;
    }
    if (depth < 0 || depth > 1) return undefined;
  }
  const out = new Set<string>();
  for (const part of parts) {
    let m = EQUALITY.exec(part);
    if (m) {
      out.add(`${m[1]}${m[2] === '!=' ? '!=' : '='}${m[3]}`);
      continue;
    }
    m = SET.exec(part);
    if (m) {
      const values = m[3].split(',').map(v => v.trim());
      out.add(`${m[1]} ${m[2]} (${[...new Set(values)].sort().join(',')})`);
      continue;
    }
    m = EXISTS.exec(part);
    if (!m) return undefined;
    out.add(`${m[1]}${m[2]}`);
  }
  return [...out].sort();
}

/**
 * Whether the requirements `got` of a plan's selector are those the question states, `want`: each
 * of them, and no other but the entity's own (`entity`: a plan may narrow itself to the objects of
 * the entity it was asked from).
 */
function sameSelector(want: string[], got: string[], entity: string[]) {
  return (
    want.every(r => got.includes(r)) &&
    got.every(r => want.includes(r) || entity.includes(r))
  );
}

/**
 * How the target of `plan`, another provider's change, contradicts what the question states
 * exactly, as the builtin parser reads it (`expected`, its plan of the same question with the same
 * context): the kind, when the question names it in words ("pod cache-1"); the namespace, when the
 * question names it ("in prod", `-n prod`); the object's name, when the question names it with its
 * kind or the cluster has an object of that kind by that name; the phase it asks for ("failed
 * pods": `status.phase=Failed`); the label selector, when the question gives one, each
 * requirement with its operator (`app!=web` is not `app=web`; a requirement left out picks more
 * objects). What the question leaves to the parser (a namespace or
 * selector of the entity asked from, the kind the cluster has for a name) is not compared.
 */
function contradictions(
  q: Question,
  expected: Plan,
  plan: Plan,
  context: EntityParseContext,
  known: KnownNames,
): string[] {
  const found: string[] = [];
  const said = (what: string, where: string) =>
    found.push(`${what}, where the question says ${where}`);
  const kinds = new Set(q.tokens.map(t => RESOURCE_WORDS[t.word]));
  if (kinds.has(expected.resource) && plan.resource !== expected.resource) {
    said(`its kind is ${plan.resource}`, expected.resource);
  }
  const ns = findNamespace(q, known).namespace;
  if (
    ns &&
    expected.namespace === ns &&
    !CLUSTER_SCOPED_RESOURCES.includes(expected.resource)
  ) {
    if (plan.allNamespaces) said('it reaches every namespace', ns);
    else if (!plan.namespace) said('it names no namespace', ns);
    else if (plan.namespace !== ns)
      said(`its namespace is ${plan.namespace}`, ns);
  }
  // A name counts as the question's when it names an object of the plan's kind: said with its
  // kind ("pod cache-1") or one the cluster has ("restart checkout-web"); "exec psql in web" may
  // mean a pod of workload web.
  const name = expected.name;
  if (
    name &&
    (kinds.has(expected.resource) || known.is(name, expected.resource)) &&
    plan.name !== name
  ) {
    said(plan.name ? `its name is ${plan.name}` : 'it names no object', name);
  }
  // "delete failed pods": the pods of that phase, not every pod.
  if (expected.fieldSelector && plan.fieldSelector !== expected.fieldSelector) {
    said(
      plan.fieldSelector
        ? `its field selector is ${plan.fieldSelector}`
        : 'it has no field selector',
      expected.fieldSelector,
    );
  }
  const stated =
    expected.verb === 'label' || expected.verb === 'annotate'
      ? splitSelectorAndValues(q).selector
      : selectorFrom(q);
  const want =
    stated && expected.labelSelector
      ? selectorRequirements(expected.labelSelector)
      : undefined;
  if (want) {
    const got = plan.labelSelector
      ? selectorRequirements(plan.labelSelector)
      : [];
    const entity = context.labelSelector
      ? selectorRequirements(context.labelSelector) ?? []
      : [];
    if (!got || !sameSelector(want, got, entity)) {
      said(
        plan.labelSelector
          ? `its label selector is ${plan.labelSelector}`
          : 'it has no label selector',
        expected.labelSelector!,
      );
    }
  }
  return found;
}

/**
 * The refusal of another provider's change of the kind the question asks for, but not of the
 * target it names (see {@link contradictions}): "delete pods with app=web in staging" planned as
 * `kubectl delete pods -l app!=web -n staging` would delete every pod but those asked for, and is
 * refused, saying what differs. `expected` is the builtin parser's plan of the question; when it
 * has none, or plans another change, the question's target is not known exactly, and nothing is
 * compared. Undefined when the plan's target is the question's.
 */
export function targetNotAsked(
  q: Question,
  expected: Plan | undefined,
  plan: Plan,
  context: EntityParseContext,
  known: KnownNames,
): PlanRefusal | undefined {
  if (!expected || !isChange(expected)) return undefined;
  const made = changeKindsOfPlan(plan);
  if (!changeKindsOfPlan(expected).some(kind => made.includes(kind)))
    return undefined;
  const found = contradictions(q, expected, plan, context, known);
  if (found.length === 0) return undefined;
  const asked = askedAs(expected);
  return new PlanRefusal(
    `I understood that the question asks to ${asked}, but the plan made for it would ${askedAs(
      plan,
    )}: ${found.join(
      '; ',
    )}. The assistant changes only what the question names, and plans nothing in its place. To have it planned as asked, ask again, for example "${asked}". Nothing was planned.`,
  );
}
