import { errors } from './status';
import { KubeObject } from './types';

export type LabelRequirement =
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | '!exists'; key: string };

const KEY =
  /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out.map(t => t.trim()).filter(t => t.length > 0);
}

function checkKey(key: string, term: string) {
  if (!KEY.test(key)) {
    throw errors.badRequest(
      `unable to parse requirement: <nil>: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (in "${term}")`,
    );
  }
}

function checkValue(value: string) {
  if (value.length > 63 || !VALUE.test(value)) {
    throw errors.badRequest(
      `unable to parse requirement: values[0][${value}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

/** Parses a label selector (`a=b,c!=d,e in (f,g),h notin (i),j,!k`), throwing a 400 Status when malformed. */
export function parseLabelSelector(
  selector: string | undefined,
): LabelRequirement[] {
  if (!selector) return [];
  return splitTerms(selector).map(term => {
    let m = term.match(/^(\S+?)\s+(in|notin)\s*\((.*)\)$/);
    if (m) {
      checkKey(m[1], term);
      const values = m[3]
        .split(',')
        .map(v => v.trim())
        .filter(v => v !== '');
      values.forEach(checkValue);
      if (values.length === 0 && m[2] === 'in') {
        throw errors.badRequest(
          `unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty`,
        );
      }
      return { op: m[2] as 'in' | 'notin', key: m[1], values };
    }
    m = term.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/);
    if (m) {
      checkKey(m[1], term);
      checkValue(m[3]);
      return { op: m[2] === '!=' ? 'notin' : 'in', key: m[1], values: [m[3]] };
    }
    m = term.match(/^(!?)\s*([^=!\s()]+)$/);
    if (m) {
      checkKey(m[2], term);
      return { op: m[1] ? '!exists' : 'exists', key: m[2] };
    }
    throw errors.badRequest(
      `unable to parse requirement: found '${term}', expected: !, identifier, or 'end of string'`,
    );
  });
}

export function matchesLabels(
  labels: Record<string, string> | undefined,
  reqs: LabelRequirement[],
): boolean {
  const l = labels ?? {};
  for (const req of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    switch (req.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!exists':
        if (has) return false;
        break;
      case 'in':
        if (!has || !req.values.includes(l[req.key])) return false;
        break;
      case 'notin':
        if (has && req.values.includes(l[req.key])) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A label selector object (`matchLabels` / `matchExpressions`) as workloads carry it. */
export function selectorObjectToRequirements(
  selector: any,
): LabelRequirement[] {
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries<string>(
    selector?.matchLabels ?? {},
  )) {
    reqs.push({ op: 'in', key, values: [value] });
  }
  for (const e of selector?.matchExpressions ?? []) {
    const op = String(e.operator ?? '');
    if (op === 'In')
      reqs.push({ op: 'in', key: e.key, values: e.values ?? [] });
    else if (op === 'NotIn')
      reqs.push({ op: 'notin', key: e.key, values: e.values ?? [] });
    else if (op === 'Exists') reqs.push({ op: 'exists', key: e.key });
    else if (op === 'DoesNotExist') reqs.push({ op: '!exists', key: e.key });
  }
  return reqs;
}

export function selectorToString(selector: any): string {
  return selectorObjectToRequirements(selector)
    .map(r => {
      if (r.op === 'exists') return r.key;
      if (r.op === '!exists') return `!${r.key}`;
      if (r.op === 'in' && r.values.length === 1)
        return `${r.key}=${r.values[0]}`;
      if (r.op === 'in' || r.op === 'notin')
        return `${r.key} ${r.op} (${r.values.join(',')})`;
      return '';
    })
    .join(',');
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** Field selectors each resource supports, beyond metadata.name and metadata.namespace. */
const FIELD_GETTERS: Record<
  string,
  Record<string, (o: KubeObject) => unknown>
> = {
  pods: {
    'spec.nodeName': o => o.spec?.nodeName,
    'spec.restartPolicy': o => o.spec?.restartPolicy,
    'spec.schedulerName': o => o.spec?.schedulerName,
    'spec.serviceAccountName': o => o.spec?.serviceAccountName,
    'status.phase': o => o.status?.phase,
    'status.podIP': o => o.status?.podIP,
    'status.nominatedNodeName': o => o.status?.nominatedNodeName,
  },
  events: {
    'involvedObject.kind': o => o.involvedObject?.kind,
    'involvedObject.namespace': o => o.involvedObject?.namespace,
    'involvedObject.name': o => o.involvedObject?.name,
    'involvedObject.uid': o => o.involvedObject?.uid,
    'involvedObject.apiVersion': o => o.involvedObject?.apiVersion,
    'involvedObject.resourceVersion': o => o.involvedObject?.resourceVersion,
    'involvedObject.fieldPath': o => o.involvedObject?.fieldPath,
    reason: o => o.reason,
    reportingComponent: o => o.reportingComponent,
    source: o => o.source?.component,
    type: o => o.type,
  },
  secrets: { type: o => o.type },
  namespaces: { 'status.phase': o => o.status?.phase },
  nodes: { 'spec.unschedulable': o => String(Boolean(o.spec?.unschedulable)) },
  'replicasets.apps': {
    'status.replicas': o => String(o.status?.replicas ?? 0),
  },
  'jobs.batch': { 'status.successful': o => String(o.status?.succeeded ?? 0) },
};

export function parseFieldSelector(
  selector: string | undefined,
  type: string,
): FieldRequirement[] {
  if (!selector) return [];
  return selector
    .split(',')
    .map(t => t.trim())
    .filter(Boolean)
    .map(term => {
      const m = term.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
      if (!m) {
        throw errors.badRequest(
          `invalid selector: '${selector}'; can't understand '${term}'`,
        );
      }
      const field = m[1];
      if (
        field !== 'metadata.name' &&
        field !== 'metadata.namespace' &&
        !FIELD_GETTERS[type]?.[field]
      ) {
        throw errors.badRequest(`field label not supported: ${field}`);
      }
      return { field, value: m[3], negate: m[2] === '!=' };
    });
}

export function matchesFields(
  obj: KubeObject,
  reqs: FieldRequirement[],
  type: string,
): boolean {
  for (const req of reqs) {
    let actual: unknown;
    if (req.field === 'metadata.name') actual = obj.metadata.name;
    else if (req.field === 'metadata.namespace')
      actual = obj.metadata.namespace ?? '';
    else actual = FIELD_GETTERS[type][req.field](obj);
    const equal = String(actual ?? '') === req.value;
    if (equal === req.negate) return false;
  }
  return true;
}
