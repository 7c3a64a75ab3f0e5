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

/**
 * The label selector a question gives: the requirements of its selector flag (`-l a=b`, `-la=b`,
 * `-l=a=b`, `--selector a=b`, `--selector=a=b`, read as kubectl reads them in flagReading.ts), its
 * other key=value pairs ("pods with app=web"), and label keys given alone as a selector.
 */
export function selectorFrom(q: Question): string | undefined {
  const parts = [
    ...q.flags.selector,
    ...q.keyValues.map(kv => `${kv.key}${kv.op}${kv.value}`),
    ...keyOnlySelectors(q),
  ];
  return parts.length ? parts.join(',') : undefined;
}

/** Words after which a key=value pair selects the objects of a label or annotate ("matching a=b"). */
const MATCH_WORDS = new Set(['match', 'matches', 'matching']);

/**
 * For label/annotate: the word after the selector flag selects, as kubectl reads it, and so does a
 * key=value pair right after "matching"/"match"; the other key=value pairs are the values to set
 * ("label pods -l a=b tier=x" and "label pods matching a=b with tier=x" set tier=x on the pods
 * matching a=b). A selector flag that cannot be read exactly is one of the question's flag
 * problems (flagReading.ts), which refuse it.
 */
export function splitSelectorAndValues(q: Question): {
  selector?: string;
  values?: Record<string, string>;
} {
  const matched = q.keyValues.filter(
    kv => kv.after !== undefined && MATCH_WORDS.has(kv.after),
  );
  const selector = [
    ...new Set([
      ...q.flags.selector,
      ...matched.map(kv => `${kv.key}${kv.op}${kv.value}`),
      ...keyOnlySelectors(q),
    ]),
  ];
  const values = q.keyValues.filter(
    kv => kv.op === '=' && !matched.includes(kv),
  );
  return {
    ...(selector.length ? { selector: selector.join(',') } : {}),
    ...(values.length
      ? { values: Object.fromEntries(values.map(kv => [kv.key, kv.value])) }
      : {}),
  };
}
