import {
  CLUSTER_SCOPED_RESOURCES,
  PlanResource,
  WORKLOAD_RESOURCES,
} from '@kubechart/plugin-assistant-common';
import { Question, Token, corrector, DNS_NAME } from './question';
import {
  ALL_NAMESPACE_WORDS,
  CORRECTION_VOCABULARY,
  HYPHENATED_WORDS,
  RESOURCE_WORDS,
  SINGULAR_RESOURCE_WORDS,
  STOP_WORDS,
} from './vocabulary';

/** An object that exists in the cluster the question is about. */
export type KnownObject = {
  name: string;
  resource: PlanResource;
  namespace?: string;
  /** A workload's selector as `-l` takes it (its matchLabels), when it has only those. */
  selector?: string;
};

/**
 * What the cluster has, for telling names from vocabulary: a word that names
 * an existing object is a name first ("restart the cron deployment").
 */
export class KnownNames {
  private readonly byName = new Map<string, KnownObject[]>();

  constructor(objects: Iterable<KnownObject> = []) {
    for (const o of objects) {
      const list = this.byName.get(o.name) ?? [];
      list.push(o);
      this.byName.set(o.name, list);
    }
  }

  names(): ReadonlySet<string> {
    return new Set(this.byName.keys());
  }

  /** The objects of that name, of every kind. */
  objects(name: string): ReadonlyArray<KnownObject> {
    return this.byName.get(name) ?? [];
  }

  kinds(name: string): PlanResource[] {
    return [...new Set((this.byName.get(name) ?? []).map(o => o.resource))];
  }

  is(name: string, resource: PlanResource): boolean {
    return this.kinds(name).includes(resource);
  }

  /** The one pod or workload kind an existing name has, preferring workloads. */
  workloadKind(name: string): PlanResource | undefined {
    const kinds = this.kinds(name);
    return (
      WORKLOAD_RESOURCES.find(r => kinds.includes(r)) ??
      (kinds.includes('pods') ? 'pods' : undefined)
    );
  }
}

// Pod names made by a controller: <workload>-<hash>-<id> or <statefulset>-<n>.
export const POD_NAME = /-[a-z0-9]{6,10}-[a-z0-9]{5}$|-[0-9]+$/;

export function isNameLike(raw: string): boolean {
  return (
    DNS_NAME.test(raw) &&
    !STOP_WORDS.has(raw) &&
    !HYPHENATED_WORDS.has(raw) &&
    !/^\d+$/.test(raw) &&
    !raw.startsWith('-')
  );
}

/** A token that can only be an identifier: has a digit or a hyphen. */
export function looksLikeIdentifier(token: Token): boolean {
  return (
    isNameLike(token.raw) &&
    /[-\d.]/.test(token.raw) &&
    !corrector.correct(token.raw.replace(/-/g, ''))
  );
}

export function isVocabulary(token: Token): boolean {
  return (
    token.word in RESOURCE_WORDS ||
    CORRECTION_VOCABULARY.includes(token.word) ||
    STOP_WORDS.has(token.word)
  );
}

export type NamespaceScope = {
  namespace?: string;
  allNamespaces: boolean;
  /** Token indexes used up by the scope. */
  used: Set<number>;
  /** A node named after "in"/"on" ("pods in node-1"). */
  node?: string;
  /** Why the scope the flags give and the one the words give disagree ("in shop -A"). */
  conflict?: string;
};

/**
 * The namespace a question is about: the one its `-n` (or `-A`) flag gives, as kubectl reads it
 * (flagReading.ts), else the one it names in words. A flag and words that name different scopes
 * ("pods in shop -A") give a conflict, which refuses the question: either would be wider, or
 * other, than the other asks.
 */
export function findNamespace(q: Question, known: KnownNames): NamespaceScope {
  const worded = namespaceInWords(q, known);
  const namespace = q.flags.get('namespace');
  const all = q.flags.get('all-namespaces');
  if (!namespace && !all) return worded;
  const flagged = namespace
    ? { namespace: namespace.value!, allNamespaces: false }
    : { allNamespaces: true };
  const given = namespace ? `${namespace.flag} ${namespace.value}` : all!.flag;
  const other = worded.namespace
    ? worded.namespace !== flagged.namespace
    : worded.allNamespaces && !flagged.allNamespaces;
  return {
    ...flagged,
    used: worded.used,
    ...(worded.node ? { node: worded.node } : {}),
    ...(other
      ? {
          conflict: `${given} and the question's words (${
            worded.namespace
              ? `namespace ${worded.namespace}`
              : 'every namespace'
          }) give different namespaces: give one`,
        }
      : {}),
  };
}

/** The namespace a question names in words ("in shop", "namespace shop", "across all namespaces"). */
function namespaceInWords(q: Question, known: KnownNames): NamespaceScope {
  const used = new Set<number>();
  const t = q.tokens;
  const isNamespaceName = (token: Token | undefined) =>
    !!token &&
    isNameLike(token.raw) &&
    (known.is(token.raw, 'namespaces') || !isVocabulary(token));
  for (let i = 0; i < t.length; i++) {
    const w = t[i].word;
    if (w !== 'namespace' && w !== 'ns') continue;
    const next = t[i + 1];
    const prev = t[i - 1];
    if (isNamespaceName(next)) {
      used.add(i + 1);
      return { namespace: next.raw, allNamespaces: false, used };
    }
    if (isNamespaceName(prev)) {
      used.add(i - 1);
      return { namespace: prev.raw, allNamespaces: false, used };
    }
  }
  const padded = ` ${t.map(x => x.raw).join(' ')} `;
  if (ALL_NAMESPACE_WORDS.some(p => padded.includes(` ${p} `))) {
    return { allNamespaces: true, used };
  }
  for (const preposition of ['in', 'from']) {
    for (let i = 0; i < t.length; i++) {
      if (t[i].word !== preposition) continue;
      let j = i + 1;
      if (t[j]?.word === 'the') j++;
      const candidate = t[j];
      if (!candidate || !isNameLike(candidate.raw)) continue;
      if (known.is(candidate.raw, 'nodes')) {
        used.add(j);
        return { allNamespaces: false, used, node: candidate.raw };
      }
      const knownNamespace = known.is(candidate.raw, 'namespaces');
      if (isVocabulary(candidate) && !knownNamespace) continue;
      if (
        !knownNamespace &&
        POD_NAME.test(candidate.raw) &&
        !t.slice(0, i).some(x => x.word === 'pod' || x.word === 'pods')
      ) {
        continue;
      }
      if (['shell', 'exec', 'logged'].includes(t[i - 1]?.word ?? '')) {
        continue;
      }
      // "logs from checkout-web": a workload, not a namespace, unless a
      // resource word says which one is the workload.
      const resourceBefore = t[i - 1] && t[i - 1].word in RESOURCE_WORDS;
      if (
        !knownNamespace &&
        preposition === 'from' &&
        !t.slice(0, i).some(x => x.word in RESOURCE_WORDS && x.word !== 'app')
      ) {
        continue;
      }
      if (resourceBefore && t[i - 1].word === 'container') continue;
      // A name the cluster has as something else is not a namespace.
      if (!knownNamespace && known.kinds(candidate.raw).length > 0) continue;
      used.add(j);
      return { namespace: candidate.raw, allNamespaces: false, used };
    }
  }
  return { allNamespaces: false, used };
}

export type NamedTarget = {
  name?: string;
  /** The kind the question gives it ("deployment web"). */
  resource?: PlanResource;
  /** The pod or workload kind the cluster has by that name. */
  knownKind?: PlanResource;
  index?: number;
  /** The name is certain: it looks like an identifier, exists, or follows a kind. */
  certain?: boolean;
};

export function findName(
  q: Question,
  used: Set<number>,
  known: KnownNames,
  resourceHint?: PlanResource,
): NamedTarget {
  const t = q.tokens;
  const isResourceWord = (i: number) => {
    const resource = RESOURCE_WORDS[t[i]?.word];
    return resource && resource !== 'namespaces' && t[i].word !== 'container'
      ? resource
      : undefined;
  };
  const free = (i: number) => i >= 0 && i < t.length && !used.has(i);
  const withKnownKind = (target: NamedTarget): NamedTarget =>
    target.name
      ? {
          ...target,
          resource: target.resource ?? resourceHint,
          knownKind: known.workloadKind(target.name),
        }
      : target;
  // "pod web-0", "deployment checkout-web", "node worker-2"
  for (let i = 0; i < t.length - 1; i++) {
    const resource = isResourceWord(i);
    if (resource && free(i + 1) && looksLikeIdentifier(t[i + 1])) {
      return withKnownKind({
        name: t[i + 1].raw,
        resource,
        index: i + 1,
        certain: true,
      });
    }
  }
  // "deployment nodes", "deployment batch": the cluster has one by that name.
  for (let i = 0; i < t.length - 1; i++) {
    const resource = isResourceWord(i);
    if (resource && free(i + 1) && known.is(t[i + 1].raw, resource)) {
      return { name: t[i + 1].raw, resource, index: i + 1, certain: true };
    }
  }
  // "the inventory-service deployment", "the cron deployment"
  for (let i = 1; i < t.length; i++) {
    const resource = isResourceWord(i);
    if (!resource || !free(i - 1)) continue;
    const before = t[i - 1];
    if (
      looksLikeIdentifier(before) ||
      known.is(before.raw, resource) ||
      (SINGULAR_RESOURCE_WORDS.has(t[i].word) &&
        isNameLike(before.raw) &&
        !isVocabulary(before) &&
        !known.is(before.raw, 'namespaces'))
    ) {
      return withKnownKind({
        name: before.raw,
        resource,
        index: i - 1,
        certain: true,
      });
    }
  }
  // "statefulset postgres"
  for (let i = 0; i < t.length - 1; i++) {
    const resource = isResourceWord(i);
    const next = t[i + 1];
    if (
      resource &&
      free(i + 1) &&
      isNameLike(next.raw) &&
      !isVocabulary(next) &&
      !known.is(next.raw, 'namespaces')
    ) {
      return withKnownKind({
        name: next.raw,
        resource,
        index: i + 1,
        // As typed: the typo corrector reads "pod", "job", "svc" as their plurals.
        certain:
          SINGULAR_RESOURCE_WORDS.has(t[i].word) ||
          SINGULAR_RESOURCE_WORDS.has(t[i].raw) ||
          known.kinds(next.raw).length > 0,
      });
    }
  }
  // any identifier-looking token
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    if (t[i - 1]?.word === 'container') continue;
    if (looksLikeIdentifier(t[i])) {
      const kinds = known.kinds(t[i].raw);
      if (kinds.length === 1 && kinds[0] === 'namespaces') continue;
      return withKnownKind({ name: t[i].raw, index: i, certain: true });
    }
  }
  // any word the cluster has as an object ("scale cron to 3")
  for (let i = 0; i < t.length; i++) {
    if (!free(i) || !isNameLike(t[i].raw)) continue;
    const kind = known.workloadKind(t[i].raw);
    if (kind && !(t[i].word in RESOURCE_WORDS)) {
      return { name: t[i].raw, knownKind: kind, index: i, certain: true };
    }
  }
  return {};
}

export function isClusterScoped(resource: PlanResource): boolean {
  return CLUSTER_SCOPED_RESOURCES.includes(resource);
}
