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

/** All key=value pairs, and label keys given alone as a selector, as a label selector. */
export function selectorFrom(q: Question): string | undefined {
  const parts = [
    ...q.keyValues.map(kv => `${kv.key}${kv.op}${kv.value}`),
    ...keyOnlySelectors(q),
  ];
  return parts.length ? parts.join(',') : undefined;
}

/**
 * A selector flag and the one word after it, as a shell hands kubectl the flag's argument: `-l a=b,c=d`,
 * `-l 'a=b, c=d'`, `--selector=a=b`, `-la=b` (quoted parts included). The argument is empty when none
 * can be read (the flag ends the question, or a quote opens and never closes).
 */
const SELECTOR_FLAG =
  /(?:^|\s)((?:--selector|-selector|--labels)(?=[\s=]|$)|-l)(?:\s*=\s*|\s+)?((?:[^\s'"]|'[^']*'|"[^"]*")*)/g;

/** One requirement of a label selector kubectl and the assistant read alike: `key`, `!key`, `key=value`, `key!=value`. */
const SELECTOR_PART =
  /^(?:!?[a-z0-9](?:[-a-z0-9_./]*[a-z0-9])?|[a-z0-9](?:[-a-z0-9_./]*[a-z0-9])?(?:==|!=|=)(?:[a-z0-9](?:[-a-z0-9_.]*[a-z0-9])?)?)$/;

/**
 * The requirements the selector flags of a question give (`-l`, `--selector`, each with the one word
 * after it, as kubectl reads them), or why one cannot be read exactly: no argument, a quote that is
 * not closed, a set-based requirement (`tier in (a,b)`).
 */
function selectorFlagParts(q: Question): {
  parts: string[];
  unreadable?: string;
} {
  const parts: string[] = [];
  for (const m of q.input.matchAll(SELECTOR_FLAG)) {
    const [whole, flag, argument] = m;
    const next = q.input[m.index! + whole.length];
    if (!argument || (next !== undefined && !/\s/.test(next))) {
      return {
        parts,
        unreadable: `the selector after ${flag} cannot be read: give it as one word after the flag (quoted when it holds spaces), for example "${flag} app=web,tier=db"`,
      };
    }
    const requirements = argument
      .replace(/['"]/g, '')
      .split(',')
      .map(p => p.trim());
    const odd = requirements.find(p => !SELECTOR_PART.test(p));
    if (odd !== undefined) {
      return {
        parts,
        unreadable: `the selector after ${flag} holds ${
          odd ? `"${odd}"` : 'an empty requirement (a comma too many)'
        }, which the assistant does not read as a label requirement (key, !key, key=value or key!=value): give those, separated by commas`,
      };
    }
    parts.push(...requirements);
  }
  return { parts };
}

/**
 * For label/annotate: the one word after `-l` (or `--selector`) selects, as kubectl reads it, and the
 * other pairs are the values to set ("label pods -l a=b tier=x" sets tier=x on the pods matching
 * a=b). A selector flag whose argument cannot be read exactly gives `unreadable`, the reason.
 */
export function splitSelectorAndValues(q: Question): {
  selector?: string;
  values?: Record<string, string>;
  unreadable?: string;
} {
  const flagged = selectorFlagParts(q);
  if (flagged.unreadable) return { unreadable: flagged.unreadable };
  const selector = [...new Set([...flagged.parts, ...keyOnlySelectors(q)])];
  // The pairs of the selector's word are no values to set (each taken once).
  const taken = [...flagged.parts];
  const values = q.keyValues.filter(kv => {
    const at = taken.indexOf(`${kv.key}${kv.op}${kv.value}`);
    if (at !== -1) {
      taken.splice(at, 1);
      return false;
    }
    return kv.op === '=';
  });
  return {
    ...(selector.length ? { selector: selector.join(',') } : {}),
    ...(values.length
      ? { values: Object.fromEntries(values.map(kv => [kv.key, kv.value])) }
      : {}),
  };
}
