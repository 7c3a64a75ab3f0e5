import {
  FILTER_RESOURCES,
  Plan,
  PlanResource,
  kindOf,
} from '@kubechart/plugin-assistant-common';
import { intent } from './conditions';
import { refuse } from './mutations';
import { KnownNames, NamespaceScope, findName } from './names';
import { Question } from './question';
import { selectorFrom } from './scope';

/** Workloads whose pods are the ones their selector picks. */
const SELECTING: ReadonlyArray<PlanResource> = [
  'deployments',
  'statefulsets',
  'daemonsets',
  'replicasets',
  'jobs',
];

/** Words for pods themselves ("containers" may mean the template's). */
const POD_WORDS = new Set(['pod', 'pods', 'po']);

/**
 * "pods of deployment web": the pods the workload's selector picks, listed (or described) by that
 * selector, as `kubectl get pods -n shop -l app=web` — not the workload's own row, which the
 * plan named before. The selector is the workload's `matchLabels` as the cluster's names say
 * (a selector with `matchExpressions` is not known); when it is not known, the workload is in
 * several namespaces, or the question changes the pods (the plan would change the workload
 * itself), the question is refused, saying which selector to ask with.
 */
export function podsOfWorkload(
  plan: Plan,
  q: Question,
  ns: NamespaceScope,
  known: KnownNames,
): Plan {
  const named = findName(q, ns.used, known);
  if (
    !named.name ||
    !named.resource ||
    !SELECTING.includes(named.resource) ||
    plan.name !== named.name ||
    plan.resource !== named.resource ||
    !q.tokens.some(t => POD_WORDS.has(t.word))
  ) {
    return plan;
  }
  const workload = `${kindOf(named.resource)} ${named.name}`;
  const asked = { ...plan, resource: 'pods' as const };
  const candidates = known
    .objects(named.name)
    .filter(
      o =>
        o.resource === named.resource &&
        (!plan.namespace || o.namespace === plan.namespace),
    );
  const namespaces = [
    ...new Set(candidates.map(o => o.namespace ?? '')),
  ].sort();
  if (namespaces.length > 1) {
    throw refuse(
      intent(asked),
      `the pods of ${workload} are those its selector picks, and ${workload} is in ${namespaces.join(
        ', ',
      )}: name the namespace`,
    );
  }
  const found = candidates[0];
  const selector = found?.selector;
  const where = found?.namespace ?? plan.namespace;
  const instead = selector
    ? `"${
        plan.verb === 'get' || plan.verb === 'describe' ? 'get' : plan.verb
      } pods -l ${selector}${where ? ` in ${where}` : ''}"`
    : `its label selector (kubectl get ${kindOf(named.resource)} ${named.name}${
        where ? ` -n ${where}` : ''
      } -o jsonpath='{.spec.selector}' shows it)`;
  if (plan.verb !== 'get' && plan.verb !== 'describe') {
    if (!['delete', 'label', 'annotate'].includes(plan.verb)) return plan;
    throw refuse(
      intent(asked),
      `the pods of ${workload} are those its selector picks, and the plan would ${
        plan.verb
      } ${kindOf(named.resource)}/${named.name} itself: ask with ${instead}`,
    );
  }
  if (!found || !selector) {
    throw refuse(
      intent(asked),
      `the pods of ${workload} are those its selector picks, and ${
        found
          ? 'its selector is not a set of labels the assistant can show as -l'
          : `the assistant did not find ${workload}${
              plan.namespace ? ` in ${plan.namespace}` : ''
            }`
      }: ask with ${instead}`,
    );
  }
  if (plan.filter && !FILTER_RESOURCES[plan.filter].includes('pods')) {
    throw refuse(
      intent(asked),
      `the filter ${plan.filter} does not apply to pods`,
    );
  }
  const { name, namespace, allNamespaces, labelSelector, ...rest } = plan;
  const also = selectorFrom(q);
  return {
    ...rest,
    resource: 'pods',
    ...(found.namespace ? { namespace: found.namespace } : {}),
    labelSelector: also ? `${selector},${also}` : selector,
  };
}
