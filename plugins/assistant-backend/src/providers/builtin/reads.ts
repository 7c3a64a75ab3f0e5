import {
  FILTER_RESOURCES,
  Plan,
  PlanFilter,
  PlanResource,
  kindOf,
} from '@kubechart/plugin-assistant-common';
import {
  KnownNames,
  NamedTarget,
  NamespaceScope,
  findName,
  isNameLike,
  isVocabulary,
} from './names';
import { refuse } from './mutations';
import { outputWord } from './kubectlFlags';
import { Question } from './question';
import { EntityParseContext, scoped, selectorFrom } from './scope';
import { LEADING_FILLER, RESOURCE_WORDS, STOP_WORDS } from './vocabulary';

/** "why aren't …", "why isn't …", "why don't …": a question asking why something is not so. */
const WHY_NOT =
  / why (?:arent|isnt|werent|wasnt|dont|doesnt|didnt|wont|cant|cannot|are not|is not|do not|does not) /;

/** A question the parser does not understand (another provider may). */
export class CannotParse extends Error {}

export function firstResource(
  q: Question,
  skip?: Set<number>,
  namespaceGiven?: boolean,
): PlanResource | undefined {
  // Endpoints are what people mean when they ask whether a service has any.
  if (q.has('endpoints', 'endpoint')) return 'endpoints';
  for (let i = 0; i < q.tokens.length; i++) {
    if (skip?.has(i)) continue;
    const r = RESOURCE_WORDS[q.tokens[i].word];
    if (r && r !== 'namespaces') return r;
  }
  if (!namespaceGiven && q.has('namespaces', 'namespace')) return 'namespaces';
  return undefined;
}

function limitOf(q: Question): number | undefined {
  return q.numberNear(
    ['top', 'first', 'latest', 'last', 'newest'],
    ['pods', 'events', 'nodes', 'deployments', 'most', 'highest'],
  );
}

const EVENT_REASONS: Array<[string[], string]> = [
  [['scheduling'], 'FailedScheduling'],
  [['back-off', 'backoff'], 'BackOff'],
  [['oom', 'oomkilled', 'oomkilling'], 'OOMKilling'],
  [['evicted', 'eviction', 'evictions'], 'Evicted'],
  [['unhealthy', 'probe', 'probes'], 'Unhealthy'],
];

/**
 * Whether a name is a pod's: the cluster has a pod by that name, or the
 * question calls it one ("pod web-1", kubectl's `pods web-1`: a certain name,
 * not a word that follows "pods") and the cluster has no workload by that name
 * ("pods checkout-web" asks for a workload's pods).
 */
function isPodName(named: NamedTarget): boolean {
  return (
    !!named.certain &&
    (named.knownKind === 'pods' ||
      (named.resource === 'pods' && named.knownKind === undefined))
  );
}

/**
 * `kubectl top` of one named pod or node. kubectl top shows nothing else by
 * name and cannot select the pods of a workload or a node: those are refused,
 * as is a name the question does not say is a pod or a node.
 */
function namedUsage(
  name: string,
  named: NamedTarget,
  onNode: boolean,
  mentioned: PlanResource | undefined,
  known: KnownNames,
): Plan {
  let kind: PlanResource | undefined;
  if (onNode || known.is(name, 'nodes') || named.resource === 'nodes') {
    kind = 'nodes';
  } else if (named.knownKind) kind = named.knownKind;
  else kind = named.resource;
  if (kind === 'nodes' && mentioned === 'pods') {
    throw refuse(
      `see the resource usage of the pods on node ${name}`,
      `kubectl top pods cannot select the pods of one node: ask for the node's own usage ("top node ${name}"), or for the pods of a namespace`,
    );
  }
  if (kind === 'pods' || kind === 'nodes') {
    return { verb: 'top', resource: kind, name };
  }
  if (kind) {
    throw refuse(
      `see the resource usage of ${kindOf(kind)} ${name}`,
      'kubectl top shows pods and nodes only: ask for its pods by their label selector (for example "memory of pods -l app=web in shop")',
    );
  }
  throw refuse(
    `see the resource usage of ${name}`,
    `kubectl top reads a pod or a node by name, and the question does not say which ${name} is: say "pod ${name}" or "node ${name}"`,
  );
}

/** Subcommands of kubectl rollout the assistant does not run (it runs status, history, restart, undo). */
const ROLLOUT_NOT_RUN = ['pause', 'resume'];

/**
 * The word after "rollout" is its subcommand. Read as `rollout status`, "kubectl rollout pause
 * deployment web" would answer a request to change the rollout with a read of it: pause and resume
 * are refused, and so, after "kubectl rollout", is any other plain word that is not status or
 * history, nor a kind or a name (restart and undo are changes, planned before a read).
 */
function refuseRolloutSubcommand(q: Question, named: NamedTarget) {
  const at = q.tokens.findIndex(t => t.raw === 'rollout');
  const sub = q.tokens[at + 1];
  if (at < 0 || !sub || !/^[a-z]+$/.test(sub.raw)) return;
  const unknownAfterKubectl =
    q.tokens[at - 1]?.raw === 'kubectl' &&
    !['status', 'history'].includes(sub.word) &&
    !(sub.word in RESOURCE_WORDS) &&
    named.index !== at + 1;
  if (!ROLLOUT_NOT_RUN.includes(sub.raw) && !unknownAfterKubectl) return;
  const target = named.name
    ? `${kindOf(named.resource ?? 'deployments')} ${named.name}`
    : 'a workload';
  throw refuse(
    `${sub.raw} the rollout of ${target}`,
    `"rollout ${sub.raw}" is not an action the assistant runs, and it does not read the rollout's status in its place: of kubectl rollout it runs status, history, restart and undo. Ask with one of those`,
  );
}

/** Plans a read: lists, logs, usage, events, rollouts, quotas. */
export function parseRead(
  q: Question,
  ns: NamespaceScope,
  context: EntityParseContext,
  known: KnownNames,
): Plan {
  const selector = selectorFrom(q);
  const named = findName(q, ns.used, known);
  const finish = (plan: Plan, useContextSelector = true) =>
    scoped(
      selector && !plan.labelSelector && !plan.name
        ? { ...plan, labelSelector: selector }
        : plan,
      ns,
      context,
      { useContextSelector },
    );
  const mentioned = firstResource(
    q,
    named.index !== undefined ? new Set([named.index]) : undefined,
    !!ns.namespace,
  );
  const nodesMentioned =
    q.has('node', 'nodes', 'machine', 'machines', 'workers') ||
    mentioned === 'nodes';
  const limit = limitOf(q);

  // logs
  // "last 30 lines from payments-api": lines of a workload are its logs.
  const linesOfSomething = q.has('lines', 'line') && !!named.name;
  if (
    (q.has('logs', 'log', 'printing', 'output', 'logging') ||
      linesOfSomething) &&
    !q.has('events')
  ) {
    const containerIndex = q.tokens.findIndex(t => t.word === 'container');
    let container = q.flags.value('container');
    if (!container && containerIndex >= 0) {
      const after = q.tokens[containerIndex + 1];
      const before = q.tokens[containerIndex - 1];
      if (after && isNameLike(after.raw) && !isVocabulary(after))
        container = after.raw;
      else if (
        before &&
        isNameLike(before.raw) &&
        !STOP_WORDS.has(before.raw) &&
        !(before.word in RESOURCE_WORDS)
      )
        container = before.raw;
    }
    const used = new Set(ns.used);
    q.tokens.forEach((t, i) => t.raw === container && used.add(i));
    const target = findName(q, used, known);
    const worded = q.numberNear(
      ['last', 'tail', 'latest'],
      ['lines', 'line', 'log'],
    );
    const flagged = q.flags.number('tail');
    if (flagged !== undefined && worded !== undefined && flagged !== worded) {
      throw refuse(
        'read logs',
        `--tail=${flagged} and the ${worded} lines the question also gives disagree: give the number once`,
      );
    }
    const tailLines = flagged ?? worded;
    const previous =
      !!q.flags.get('previous') ||
      !!q.flags.get('p') ||
      q.has('previous', 'before', 'crashed', 'prior') ||
      q.text.includes(' last run ');
    const base = {
      ...(container ? { container } : {}),
      ...(tailLines ? { tailLines } : {}),
      ...(previous ? { previous: true } : {}),
    };
    if (target.name) {
      // kubectl's form, `kubectl logs NAME`, reads the pod NAME; a kind given (`logs deploy/web`,
      // "logs of deployment web") or a name in words ("logs of payments-api") may be a workload.
      const lead = q.tokens.findIndex(t => !LEADING_FILLER.has(t.raw));
      if (
        ['logs', 'log'].includes(q.tokens[lead]?.word) &&
        target.index === lead + 1 &&
        !target.resource
      ) {
        const workload = target.knownKind;
        if (workload && workload !== 'pods' && !known.is(target.name, 'pods')) {
          throw refuse(
            `read the logs of pod ${target.name}`,
            `kubectl logs ${target.name} reads the pod named ${
              target.name
            }, and ${target.name} is a ${kindOf(
              workload,
            )}, not a pod: ask for "logs ${kindOf(workload)}/${
              target.name
            }" (or "logs of ${target.name}")`,
          );
        }
        return finish(
          { verb: 'logs', resource: 'pods', name: target.name, ...base },
          false,
        );
      }
      const kind = target.resource ?? target.knownKind;
      const resource =
        kind &&
        ['pods', 'deployments', 'statefulsets', 'daemonsets', 'jobs'].includes(
          kind,
        )
          ? kind
          : 'deployments';
      return finish(
        { verb: 'logs', resource, name: target.name, ...base },
        false,
      );
    }
    const labelSelector =
      selector ??
      (ns.namespace || ns.allNamespaces ? undefined : context.labelSelector);
    if (!labelSelector) throw new CannotParse('Logs of which workload or pod?');
    const plan = finish({
      verb: 'logs',
      resource: 'pods',
      labelSelector,
      ...base,
    });
    // kubectl logs has no --all-namespaces: refused, never shown as `kubectl logs … -A`.
    if (plan.allNamespaces) {
      throw refuse(
        'read logs',
        'kubectl logs reads one namespace (it has no --all-namespaces): name the namespace',
      );
    }
    return plan;
  }

  // rollout status / history
  const rolloutWords =
    q.has('rollout', 'rolled', 'revisions', 'revision') ||
    (q.has('deploy', 'deployment', 'rollout') &&
      q.has(
        'succeed',
        'succeeded',
        'finished',
        'done',
        'complete',
        'completed',
      ));
  if (rolloutWords && !q.has('recent', 'recently', 'latest', 'newest')) {
    refuseRolloutSubcommand(q, named);
    const action = q.has('history', 'revisions', 'revision', 'previous')
      ? 'history'
      : 'status';
    const resource =
      named.resource &&
      ['deployments', 'statefulsets', 'daemonsets'].includes(named.resource)
        ? named.resource
        : 'deployments';
    return finish({
      verb: 'rollout',
      rolloutAction: action,
      resource,
      ...(named.name ? { name: named.name } : {}),
    });
  }

  // usage (kubectl top)
  const memory = q.has('memory', 'ram', 'mem');
  const cpu = q.has('cpu');
  const usage =
    q.has(
      'usage',
      'consumes',
      'consuming',
      'consume',
      'eating',
      'hungry',
      'loaded',
      'top',
    ) && !q.has('restarts', 'restart');
  if (
    !q.has('pressure') &&
    (memory ||
      cpu ||
      (usage && (nodesMentioned || mentioned === 'pods' || !mentioned)))
  ) {
    if (!q.has('quota', 'quotas', 'limitrange', 'limitranges', 'limits')) {
      let sortBy: 'memory' | 'cpu' | undefined;
      if (memory) sortBy = 'memory';
      else if (cpu) sortBy = 'cpu';
      // A named pod or node is read alone (`kubectl top pod web-1`): planned over every pod, the
      // command and its label would answer another question.
      // (Not a word that merely follows "pods": "which pods eat the most cpu".)
      const usageOf = (named.certain ? named.name : undefined) ?? ns.node;
      if (usageOf) {
        return finish(
          namedUsage(usageOf, named, usageOf === ns.node, mentioned, known),
          false,
        );
      }
      const resource =
        nodesMentioned && mentioned !== 'pods' ? 'nodes' : 'pods';
      const plan: Plan = {
        verb: 'top',
        resource,
        ...(sortBy ? { sortBy } : {}),
        ...(limit ? { limit } : {}),
      };
      return finish(plan);
    }
  }

  // quotas
  if (mentioned === 'resourcequotas' || q.has('quota', 'quotas')) {
    const detail = q.has(
      'usage',
      'left',
      'hitting',
      'used',
      'remaining',
      'much',
      'exceeded',
      'reached',
    );
    // Quotas are per namespace: "quota for payments" names the namespace.
    const forIndex = q.index('for');
    const target = forIndex >= 0 ? q.tokens[forIndex + 1] : undefined;
    const scope =
      !ns.namespace && target && isNameLike(target.raw) && !isVocabulary(target)
        ? { ...ns, namespace: target.raw }
        : ns;
    return scoped(
      { verb: detail ? 'describe' : 'get', resource: 'resourcequotas' },
      scope,
      context,
      { useContextSelector: false },
    );
  }

  // recent rollouts
  if (
    q.has('deployed', 'rollout', 'rollouts', 'releases', 'released') &&
    q.has('recent', 'recently', 'latest', 'last', 'newest')
  ) {
    return finish({ verb: 'get', resource: 'replicasets', sortBy: 'age' });
  }

  // events, warnings, what changed
  const eventReason = EVENT_REASONS.find(([words]) => q.has(...words))?.[1];
  const warnings = q.has(
    'warning',
    'warnings',
    'errors',
    'error',
    'problems',
    'problem',
    'issues',
  );
  const changed =
    q.has('changed', 'changes', 'happened', 'happening', 'going') &&
    !(mentioned && mentioned !== 'events');
  if (
    mentioned === 'events' ||
    warnings ||
    changed ||
    (eventReason && mentioned !== 'pods')
  ) {
    const selectors: string[] = [];
    if (eventReason && eventReason !== 'Unhealthy')
      selectors.push(`reason=${eventReason}`);
    else if (warnings) selectors.push('type=Warning');
    if (named.name) selectors.push(`involvedObject.name=${named.name}`);
    return scoped(
      {
        verb: 'get',
        resource: 'events',
        ...(selectors.length ? { fieldSelector: selectors.join(',') } : {}),
        sortBy: 'time',
        ...(limit ? { limit } : {}),
      },
      ns,
      context,
      { useContextSelector: false },
    );
  }

  // "describe namespace payments", "get namespace monitoring": the
  // namespace is the object.
  const first = q.tokens[0]?.word;
  if (
    ns.namespace &&
    !named.name &&
    !mentioned &&
    q.has('namespace', 'ns') &&
    (first === 'describe' || first === 'get')
  ) {
    return {
      verb: first === 'describe' ? 'describe' : 'get',
      resource: 'namespaces',
      name: ns.namespace,
    };
  }

  // describe
  if (q.has('describe', 'details', 'detail')) {
    const resource = named.resource ?? mentioned ?? named.knownKind ?? 'pods';
    return finish(
      {
        verb: 'describe',
        resource,
        ...(named.name ? { name: named.name } : {}),
      },
      !named.name,
    );
  }

  // "pods on node worker-1", "pods in node-1", "what's running on ip-10-0-1-5"
  const node =
    ns.node ??
    (named.name &&
    (named.resource === 'nodes' || known.is(named.name, 'nodes')) &&
    (mentioned === 'pods' || q.has('running', 'on'))
      ? named.name
      : undefined);
  if (node && (!mentioned || mentioned === 'pods' || mentioned === 'nodes')) {
    return finish({
      verb: 'get',
      resource: 'pods',
      fieldSelector: `spec.nodeName=${node}`,
    });
  }

  // lists with conditions
  const resource: PlanResource =
    (named.resource && named.resource !== 'pods'
      ? named.resource
      : undefined) ??
    mentioned ??
    (named.name && q.has('replicas') ? 'deployments' : undefined) ??
    (named.name && q.has('port', 'ports') ? 'services' : undefined) ??
    'pods';
  const plan: Plan = { verb: 'get', resource };
  if (
    named.name &&
    (resource !== 'pods' || isPodName(named)) &&
    !(resource === 'nodes' && q.has('on'))
  ) {
    plan.name = named.name;
  }
  // "why aren't pods in shop ready": the negation is the sentence's, so it is the state's ("pods in
  // shop not ready"), wherever the state word stands.
  const whyNot = WHY_NOT.test(` ${q.tokens.map(t => t.raw).join(' ')} `);
  const notState = (state: string) =>
    q.text.includes(` not ${state} `) ||
    q.text.includes(` arent ${state} `) ||
    q.text.includes(` isnt ${state} `) ||
    (whyNot && q.has(state));
  const crash =
    q.hasPrefix('crash') ||
    q.has('crashloopbackoff', 'crash-looping', 'crash-loop');
  if (crash) {
    plan.filter = 'crash-looping';
  } else if (q.has('pressure')) {
    plan.filter = 'pressure';
  } else if (q.has('pending')) {
    plan.fieldSelector = 'status.phase=Pending';
  } else if (notState('running') || q.text.includes(' not runing ')) {
    plan.fieldSelector = 'status.phase!=Running';
  } else if (q.has('failed') && resource === 'jobs') {
    plan.filter = 'failed';
  } else if (q.has('failed') && q.has('state', 'phase', 'status')) {
    plan.fieldSelector = 'status.phase=Failed';
  } else if (
    q.has('unready', 'unhealthy', 'broken', 'failing', 'failed', 'healthy') ||
    notState('ready') ||
    q.text.includes(' not fully ') ||
    q.text.includes(' not available ') ||
    q.text.includes(' unavailable ')
  ) {
    plan.filter = 'not-ready';
  }
  // How many restarts ("restart counts", "number of restarts", "restarts of pods"): every pod with
  // its count, most first; one named pod shows its own.
  if (
    q.has('restarts', 'restart') &&
    (q.has(
      'most',
      'highest',
      'sort',
      'sorted',
      'count',
      'counts',
      'number',
      'many',
      'top',
    ) ||
      / restarts (?:of|per) /.test(q.text))
  ) {
    if (!plan.name) plan.sortBy = 'restarts';
  } else if (
    q.has('restarting', 'restarted', 'restarts', 'restart') &&
    !plan.filter
  ) {
    plan.filter = q.has('most', 'highest') ? undefined : 'restarting';
    if (!plan.filter) plan.sortBy = 'restarts';
  } else if (q.has('newest', 'recent', 'recently', 'latest', 'youngest')) {
    plan.sortBy = 'age';
  }
  if (limit && plan.sortBy) plan.limit = limit;
  if (
    resource === 'secrets' &&
    (q.has('decode', 'decoded', 'reveal', 'value', 'values', 'contents') ||
      outputWord(q, plan)?.format === 'yaml')
  ) {
    plan.output = 'yaml';
  }
  if (plan.filter === undefined) delete plan.filter;
  return finish(namedOrRefused(plan));
}

/** A phase kubectl selects a list by, as the filter that applies it to one named pod. */
const PHASE_FILTERS: Record<string, PlanFilter> = {
  'status.phase=Pending': 'pending',
  'status.phase=Failed': 'failed',
};

/**
 * A list that names one object: a phase of one named pod is its filter
 * (kubectl takes a name or a field selector, not both); any other field
 * selector with a name is refused.
 */
function namedOrRefused(plan: Plan): Plan {
  if (!plan.name || !plan.fieldSelector) return plan;
  const filter = PHASE_FILTERS[plan.fieldSelector];
  if (filter && FILTER_RESOURCES[filter].includes(plan.resource)) {
    const { fieldSelector, ...rest } = plan;
    return { ...rest, filter };
  }
  throw refuse(
    `list ${plan.resource}`,
    `kubectl takes a name or a field selector (${
      plan.fieldSelector
    }), not both: ask for ${kindOf(plan.resource)} ${
      plan.name
    } alone, or for the list without its name`,
  );
}

/**
 * A list must hold the name the question gives (as its name, its namespace or
 * in a selector), or be refused: "pods checkout-web" asks for the pods of a
 * deployment, which a list cannot select by the deployment's name, and
 * planned as `kubectl get pods -A` it would show every pod under a label that
 * answers another question. Run after the restricting conditions are
 * checked, so "… except checkout-web" is refused as the exclusion it is.
 */
export function refuseDroppedName(
  plan: Plan,
  q: Question,
  ns: NamespaceScope,
  known: KnownNames,
): Plan {
  if (plan.verb !== 'get') return plan;
  const named = findName(q, ns.used, known);
  if (!named.name || !named.certain) return plan;
  const held = [
    plan.name,
    plan.namespace,
    ...[plan.labelSelector, plan.fieldSelector].flatMap(selector =>
      (selector ?? '').split(/[=,!() ]+/),
    ),
  ];
  if (held.includes(named.name)) return plan;
  const kind = named.knownKind ?? named.resource;
  throw refuse(
    `list ${plan.resource}`,
    `a list of ${plan.resource} cannot be selected by the name ${named.name}${
      kind && kind !== plan.resource
        ? ` (the ${kindOf(kind)} of that name)`
        : ''
    }, and without it the plan would show every one: ask with a label selector (for example "pods -l app=web in shop"), or name one object (for example "pod web-1")`,
  );
}
