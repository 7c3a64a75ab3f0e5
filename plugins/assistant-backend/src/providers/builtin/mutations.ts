import { Plan, PlanResource } from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { KnownNames, NamespaceScope, findName } from './names';
import { Question } from './question';
import {
  CHANGE_RULES,
  ChangeKind,
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

/** The kind of change a question asks for, if any. */
export function changeKind(q: Question): ChangeKind | undefined {
  const first = q.tokens.find(t => !FILLER.has(t.word))?.word;
  for (const rule of CHANGE_RULES) {
    const byWord =
      rule.kind === 'label'
        ? first === 'label'
        : rule.words.some(w => q.has(w));
    const scaleByReplicas =
      rule.kind === 'scale' &&
      q.has('replicas', 'replica', 'instances') &&
      q.has('set', 'change', 'make');
    if (
      byWord ||
      scaleByReplicas ||
      rule.phrases?.some(p => q.text.includes(` ${p} `))
    ) {
      if (rule.kind === 'restart' && !isRestartVerb(q)) continue;
      return rule.kind;
    }
  }
  return undefined;
}

/**
 * Whether a restart word asks for a restart. It does as the request's first word ("restart
 * deployments in shop", "can you restart web", "rollout restart sts db") or after the asker ("how
 * do I restart web"). It does not as a noun ("the last restart", "restart count of pods in shop")
 * nor in a question about what restarted ("did any pod in payments restart", "how many times did
 * pods in staging restart"): those are reads, and planned as a rollout restart they would restart
 * every workload asked about.
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
