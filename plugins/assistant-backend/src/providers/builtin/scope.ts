import {
  CLUSTER_SCOPED_RESOURCES,
  Plan,
} from '@kubechart/plugin-assistant-common';
import { keyOnlySelectors } from './conditions';
import { NamespaceScope } from './names';
import { Question } from './question';

/** Scope from the entity page a question was asked on. */
export type EntityParseContext = {
  namespace?: string;
  labelSelector?: string;
};

/**
 * Puts a plan in its namespace: the one the question names, else all
 * namespaces when it says so, else the entity's, else all namespaces for a
 * list (a named object keeps no namespace: the backend looks it up).
 */
export function scoped(
  plan: Plan,
  ns: NamespaceScope,
  context: EntityParseContext,
  options: { useContextSelector: boolean },
): Plan {
  const out: Plan = { ...plan };
  if (CLUSTER_SCOPED_RESOURCES.includes(out.resource)) {
    return out;
  }
  if (ns.namespace) {
    out.namespace = ns.namespace;
  } else if (ns.allNamespaces && !out.name) {
    out.allNamespaces = true;
  } else if (context.namespace) {
    out.namespace = context.namespace;
  } else if (!out.name) {
    out.allNamespaces = true;
  }
  if (
    options.useContextSelector &&
    !out.name &&
    !out.labelSelector &&
    context.labelSelector &&
    !ns.namespace &&
    !ns.allNamespaces
  ) {
    out.labelSelector = context.labelSelector;
  }
  return out;
}

const SELECTOR_FLAGS = new Set(['-l', '--selector', '--labels', '-selector']);

/** All key=value pairs, and label keys given alone as a selector, as a label selector. */
export function selectorFrom(q: Question): string | undefined {
  const parts = [
    ...q.keyValues.map(kv => `${kv.key}${kv.op}${kv.value}`),
    ...keyOnlySelectors(q),
  ];
  return parts.length ? parts.join(',') : undefined;
}

/**
 * For label/annotate: pairs after `-l` select, the others are the values to
 * set.
 */
export function splitSelectorAndValues(q: Question): {
  selector?: string;
  values?: Record<string, string>;
} {
  const selector = [
    ...q.keyValues
      .filter(kv => SELECTOR_FLAGS.has(kv.after ?? ''))
      .map(kv => `${kv.key}${kv.op}${kv.value}`),
    ...keyOnlySelectors(q),
  ];
  const values = q.keyValues.filter(
    kv => kv.op === '=' && !SELECTOR_FLAGS.has(kv.after ?? ''),
  );
  return {
    ...(selector.length ? { selector: selector.join(',') } : {}),
    ...(values.length
      ? { values: Object.fromEntries(values.map(kv => [kv.key, kv.value])) }
      : {}),
  };
}
