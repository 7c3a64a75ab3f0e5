import {
  Plan,
  PlanResource,
  WORKLOAD_RESOURCES,
} from '@kubechart/plugin-assistant-common';
import { KnownNames, NamespaceScope, POD_NAME, findName } from './names';
import { Question } from './question';
import { EntityParseContext } from './scope';

/** Phrases that ask why something is unwell, or whether it is well. */
const DIAGNOSIS_PATTERNS: RegExp[] = [
  / why (is|isnt|does|doesnt|did|didnt|are|arent|do|dont|has|hasnt|won't|wont|cant|keeps?) /,
  / figure out why /,
  / wrong with /,
  / (diagnose|troubleshoot|investigate) /,
  / is [a-z0-9][-a-z0-9.]* (healthy|ok|okay|fine|alright|working) /,
  / not starting /,
];

/** Reads the person asked for by name: then they want that read, not a diagnosis. */
const EXPLICIT_READS = ['logs', 'log', 'events', 'describe', 'yaml'];

/**
 * "why is X crashing", "what's wrong with X", "is X healthy": a read-only
 * diagnosis of one workload or pod (or the entity's pods). Returns undefined
 * when the question is not one, or names nothing to diagnose.
 */
export function parseDiagnosis(
  q: Question,
  ns: NamespaceScope,
  context: EntityParseContext,
  known: KnownNames,
): Plan | undefined {
  const text = q.tokens.map(t => t.raw).join(' ');
  if (!DIAGNOSIS_PATTERNS.some(p => p.test(` ${text} `))) return undefined;
  if (q.has(...EXPLICIT_READS)) return undefined;
  const named = findName(q, ns.used, known);
  const namespace =
    ns.namespace ?? (named.name ? undefined : context.namespace);
  if (!named.name || !named.certain) {
    if (!context.labelSelector || !q.has('my', 'it', 'this', 'app', 'service'))
      return undefined;
    return {
      verb: 'diagnose',
      resource: 'pods',
      labelSelector: context.labelSelector,
      ...(namespace ? { namespace } : {}),
    };
  }
  let resource: PlanResource | undefined =
    named.resource &&
    (named.resource === 'pods' || WORKLOAD_RESOURCES.includes(named.resource))
      ? named.resource
      : undefined;
  resource ??= named.knownKind;
  if (!resource) {
    resource =
      POD_NAME.test(named.name) && !/-[0-9]+$/.test(named.name)
        ? 'pods'
        : 'deployments';
  }
  return {
    verb: 'diagnose',
    resource,
    name: named.name,
    ...(ns.namespace ? { namespace: ns.namespace } : {}),
  };
}
