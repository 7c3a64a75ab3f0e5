/**
 * RBAC policy rules: matching a request against a rule, whether one set of rules covers another
 * (escalation prevention), and the compact text the API server prints for missing rights.
 * Semantics follow `rbac.authorization.k8s.io/v1` as a v1.26 API server evaluates them.
 */

/** A `rbac.authorization.k8s.io/v1` PolicyRule. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** What a request asks to do, as the authorizer sees it (the API server's request attributes). */
export interface RequestAttributes {
  verb: string;
  /** True for `/api/<v>/…` and `/apis/<g>/<v>/…` resource requests. */
  resourceRequest: boolean;
  apiGroup: string;
  apiVersion?: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** The URL path, for non-resource requests. */
  path: string;
}

const has = (set: string[] | undefined, v: string) => (set ?? []).includes(v);

export function verbMatches(rule: PolicyRule, verb: string) {
  return has(rule.verbs, '*') || has(rule.verbs, verb);
}

function groupMatches(rule: PolicyRule, group: string) {
  return has(rule.apiGroups, '*') || has(rule.apiGroups, group);
}

function resourceMatches(
  rule: PolicyRule,
  combined: string,
  subresource: string,
) {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function resourceNameMatches(rule: PolicyRule, name: string) {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

function nonResourceURLMatches(rule: PolicyRule, path: string) {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** Whether `rule` allows the request (the API server's `RuleAllows`). */
export function ruleAllows(attrs: RequestAttributes, rule: PolicyRule) {
  if (attrs.resourceRequest) {
    const combined = attrs.subresource
      ? `${attrs.resource}/${attrs.subresource}`
      : attrs.resource;
    return (
      verbMatches(rule, attrs.verb) &&
      groupMatches(rule, attrs.apiGroup) &&
      resourceMatches(rule, combined, attrs.subresource) &&
      resourceNameMatches(rule, attrs.name)
    );
  }
  return (
    verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path)
  );
}

/* ---- escalation prevention: does the owner hold every right the servant rules grant? ---- */

/** Splits a rule into rules of one verb, one group, one resource (or URL) and at most one name. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length > 0) {
          for (const name of names) {
            out.push({
              apiGroups: [group],
              resources: [resource],
              verbs: [verb],
              resourceNames: [name],
            });
          }
        } else {
          out.push({
            apiGroups: [group],
            resources: [resource],
            verbs: [verb],
          });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs ?? []) {
      out.push({ nonResourceURLs: [url], verbs: [verb] });
    }
  }
  return out;
}

const hasAll = (set: string[] | undefined, wanted: string[] | undefined) =>
  (wanted ?? []).every(w => has(set, w));

function resourceCoversAll(owner: string[] | undefined, wanted: string[]) {
  if (has(owner, '*') || hasAll(owner, wanted)) return true;
  return wanted.every(path => {
    if (has(owner, path)) return true;
    const slash = path.indexOf('/');
    if (slash < 0) return false;
    return has(owner, `*/${path.slice(slash + 1)}`);
  });
}

function nonResourceURLCovers(owner: string, sub: string) {
  if (owner === sub) return true;
  return owner.endsWith('*') && sub.startsWith(owner.replace(/\*+$/, ''));
}

function ruleCovers(owner: PolicyRule, sub: PolicyRule) {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs);
  const groups =
    has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources ?? []);
  const urls = (sub.nonResourceURLs ?? []).every(u =>
    (owner.nonResourceURLs ?? []).some(o => nonResourceURLCovers(o, u)),
  );
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  const names =
    subNames.length === 0
      ? ownerNames.length === 0
      : ownerNames.length === 0 || hasAll(ownerNames, subNames);
  return verbs && groups && resources && names && urls;
}

/** The rights in `servant` that no rule of `owner` covers (empty when covered). */
export function missingRights(
  owner: PolicyRule[],
  servant: PolicyRule[],
): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of servant) {
    for (const sub of breakdownRule(rule)) {
      if (!owner.some(o => ruleCovers(o, sub))) missing.push(sub);
    }
  }
  return missing;
}

/** Merges simple rules (one group, one resource, ≤ one name) that differ only in verbs. */
export function compactRules(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const rule of rules) {
    const isSimple =
      (rule.apiGroups ?? []).length === 1 &&
      (rule.resources ?? []).length === 1 &&
      (rule.resourceNames ?? []).length <= 1 &&
      (rule.nonResourceURLs ?? []).length === 0;
    if (!isSimple) {
      out.push(rule);
      continue;
    }
    const key = JSON.stringify([
      rule.apiGroups![0],
      rule.resources![0],
      rule.resourceNames?.[0] ?? '',
    ]);
    const existing = simple.get(key);
    if (existing) {
      for (const v of rule.verbs) {
        if (!existing.verbs.includes(v)) existing.verbs.push(v);
      }
    } else {
      simple.set(key, {
        ...rule,
        verbs: [...rule.verbs],
      });
    }
  }
  return [...out, ...simple.values()];
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuotedList(values: string[]) {
  return `[${values.map(v => JSON.stringify(v)).join(' ')}]`;
}

/** The API server's `CompactString` of a rule, e.g. `{APIGroups:["*"], Resources:["*"], Verbs:["*"]}`. */
export function compactString(rule: PolicyRule) {
  const parts: string[] = [];
  if (rule.apiGroups?.length)
    parts.push(`APIGroups:${goQuotedList(rule.apiGroups)}`);
  if (rule.resources?.length)
    parts.push(`Resources:${goQuotedList(rule.resources)}`);
  if (rule.nonResourceURLs?.length)
    parts.push(`NonResourceURLs:${goQuotedList(rule.nonResourceURLs)}`);
  if (rule.resourceNames?.length)
    parts.push(`ResourceNames:${goQuotedList(rule.resourceNames)}`);
  if (rule.verbs?.length) parts.push(`Verbs:${goQuotedList(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}
