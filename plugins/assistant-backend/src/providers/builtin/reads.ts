import { Plan, PlanResource } from '@kubechart/plugin-assistant-common';
import {
  KnownNames,
  NamespaceScope,
  findName,
  isNameLike,
  isVocabulary,
} from './names';
import { refuse } from './mutations';
import { Question } from './question';
import { EntityParseContext, scoped, selectorFrom } from './scope';
import { RESOURCE_WORDS, STOP_WORDS } from './vocabulary';

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
    let container: string | undefined;
    if (containerIndex >= 0) {
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
    const tailLines = q.numberNear(
      ['last', 'tail', 'latest'],
      ['lines', 'line', 'log'],
    );
    const previous =
      q.has('previous', 'before', 'crashed', 'prior') ||
      q.text.includes(' last run ');
    const base = {
      ...(container ? { container } : {}),
      ...(tailLines ? { tailLines } : {}),
      ...(previous ? { previous: true } : {}),
    };
    if (target.name) {
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
    resource !== 'pods' &&
    !(resource === 'nodes' && q.has('on'))
  ) {
    plan.name = named.name;
  }
  const crash =
    q.hasPrefix('crash') ||
    q.has('crashloopbackoff', 'crash-looping', 'crash-loop');
  if (crash) {
    plan.filter = 'crash-looping';
  } else if (q.has('pressure')) {
    plan.filter = 'pressure';
  } else if (q.has('pending')) {
    plan.fieldSelector = 'status.phase=Pending';
  } else if (
    q.text.includes(' not running ') ||
    q.text.includes(' not runing ')
  ) {
    plan.fieldSelector = 'status.phase!=Running';
  } else if (q.has('failed') && resource === 'jobs') {
    plan.filter = 'failed';
  } else if (q.has('failed') && q.has('state', 'phase', 'status')) {
    plan.fieldSelector = 'status.phase=Failed';
  } else if (
    q.has('unready', 'unhealthy', 'broken', 'failing', 'failed', 'healthy') ||
    q.text.includes(' not ready ') ||
    q.text.includes(' arent ready ') ||
    q.text.includes(' not fully ') ||
    q.text.includes(' not available ') ||
    q.text.includes(' unavailable ')
  ) {
    plan.filter = 'not-ready';
  }
  if (
    q.has('restarts', 'restart') &&
    q.has('most', 'highest', 'sort', 'sorted', 'count', 'many', 'top')
  ) {
    plan.sortBy = 'restarts';
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
    q.has('decode', 'decoded', 'reveal', 'value', 'values', 'contents', 'yaml')
  ) {
    plan.output = 'yaml';
  }
  if (plan.filter === undefined) delete plan.filter;
  return finish(plan);
}
