import {
  canonicalQuantity,
  ExactQuantity,
  parseExactQuantity,
  quantityMilliValue,
  quantityValue,
} from './quantity';
import { aggregate, errors } from './status';
import { isPlainObject, KubeObject } from './types';

/** The annotation LimitRanger writes on a pod it gave defaults, naming what it set. */
export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

/** resource.MaxMilliValue: values above it are compared in whole units, not thousandths. */
const MAX_MILLI_VALUE = 9223372036854775807n / 1000n;

type ResourceList = Record<string, unknown>;

function listOf(v: unknown): ResourceList {
  return isPlainObject(v) ? (v as ResourceList) : {};
}

function itemsOf(limitRange: KubeObject): Array<Record<string, any>> {
  const limits = limitRange.spec?.limits;
  return Array.isArray(limits) ? limits.filter(isPlainObject) : [];
}

/** A value as the API server stores it: its canonical quantity text (what it was sent when it is no quantity). */
function stored(v: unknown): unknown {
  const q = parseExactQuantity(v);
  return q ? canonicalQuantity(q) : v;
}

/**
 * SetDefaults_LimitRangeItem, applied to every item when a LimitRange is written: a Container item without a
 * `default` for a resource takes its `max`; without a `defaultRequest`, its `default`, else its `min`.
 */
export function defaultLimitRangeItems(limitRange: KubeObject): void {
  for (const item of itemsOf(limitRange)) {
    if (item.type !== 'Container') continue;
    const def: ResourceList = { ...listOf(item.default) };
    const req: ResourceList = { ...listOf(item.defaultRequest) };
    for (const [k, v] of Object.entries(listOf(item.max))) {
      if (!(k in def)) def[k] = v;
    }
    for (const [k, v] of Object.entries(def)) {
      if (!(k in req)) req[k] = v;
    }
    for (const [k, v] of Object.entries(listOf(item.min))) {
      if (!(k in req)) req[k] = v;
    }
    if (Object.keys(def).length) item.default = def;
    if (Object.keys(req).length) item.defaultRequest = req;
  }
}

function containersOf(pod: KubeObject): Array<[any, string]> {
  const list = (v: unknown) =>
    Array.isArray(v) ? v.filter(isPlainObject) : [];
  return [
    ...list(pod.spec?.containers).map(c => [c, 'container'] as [any, string]),
    ...list(pod.spec?.initContainers).map(
      c => [c, 'init container'] as [any, string],
    ),
  ];
}

/**
 * LimitRanger's mutation of a pod being created (PodMutateLimitFunc), for each LimitRange of its namespace in turn:
 * every container and init container gets the Container items' `defaultRequest` as requests and `default` as
 * limits, for each resource it does not set itself, and the pod is annotated with what was set. Run after the pod's
 * own defaults, which make a limit without a request the request too.
 */
export function applyLimitRangeDefaults(
  pod: KubeObject,
  limitRanges: KubeObject[],
): void {
  for (const limitRange of limitRanges) {
    const copy: KubeObject = {
      metadata: {},
      spec: { limits: itemsOf(limitRange).map(i => ({ ...i })) },
    };
    defaultLimitRangeItems(copy);
    const requests: ResourceList = {};
    const limits: ResourceList = {};
    for (const item of itemsOf(copy)) {
      if (item.type !== 'Container') continue;
      Object.assign(requests, listOf(item.defaultRequest));
      Object.assign(limits, listOf(item.default));
    }
    const notes: string[] = [];
    for (const [c, prefix] of containersOf(pod)) {
      const resources = isPlainObject(c.resources) ? c.resources : {};
      c.resources = resources;
      const fill = (which: 'requests' | 'limits', defaults: ResourceList) => {
        const set: string[] = [];
        for (const [k, v] of Object.entries(defaults)) {
          if (isPlainObject(resources[which]) && k in resources[which])
            continue;
          resources[which] = { ...listOf(resources[which]), [k]: stored(v) };
          set.push(k);
        }
        return set.sort();
      };
      const setLimits = fill('limits', limits);
      const setRequests = fill('requests', requests);
      if (setRequests.length)
        notes.push(`${setRequests.join(', ')} request for ${prefix} ${c.name}`);
      if (setLimits.length)
        notes.push(`${setLimits.join(', ')} limit for ${prefix} ${c.name}`);
    }
    if (notes.length) {
      pod.metadata.annotations = {
        ...(pod.metadata.annotations ?? {}),
        [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join(
          '; ',
        )}`,
      };
    }
  }
}

type Quantities = Record<string, ExactQuantity>;

/** Entries by resource name: Go walks these maps in random order; kube-sim reports in a stable one. */
function sortedEntries(q: Quantities): Array<[string, ExactQuantity]> {
  return Object.entries(q).sort(([a], [b]) => (a < b ? -1 : Number(a > b)));
}

function quantities(v: unknown): Quantities {
  const out: Quantities = {};
  for (const [k, raw] of Object.entries(listOf(v))) {
    const q = parseExactQuantity(raw);
    if (q) out[k] = q;
  }
  return out;
}

/** requestLimitEnforcedValues: thousandths when none is too large for them, else whole units. */
function comparable(...qs: Array<ExactQuantity | undefined>): bigint[] {
  const zero: ExactQuantity = { nanos: 0n, format: 'DecimalSI' };
  const all = qs.map(q => q ?? zero);
  const milli = all.every(q => quantityValue(q) <= MAX_MILLI_VALUE);
  return all.map(q => (milli ? quantityMilliValue(q) : quantityValue(q)));
}

function minConstraint(
  type: string,
  resource: string,
  enforced: ExactQuantity,
  requests: Quantities,
  limits: Quantities,
): string | undefined {
  const req = requests[resource];
  const lim = limits[resource];
  const [r, l, e] = comparable(req, lim, enforced);
  const head = `minimum ${resource} usage per ${type} is ${canonicalQuantity(
    enforced,
  )}`;
  if (!req) return `${head}.  No request is specified`;
  if (r < e) return `${head}, but request is ${canonicalQuantity(req)}`;
  if (lim && l < e) return `${head}, but limit is ${canonicalQuantity(lim)}`;
  return undefined;
}

function maxConstraint(
  type: string,
  resource: string,
  enforced: ExactQuantity,
  requests: Quantities,
  limits: Quantities,
): string | undefined {
  const req = requests[resource];
  const lim = limits[resource];
  const [r, l, e] = comparable(req, lim, enforced);
  const head = `maximum ${resource} usage per ${type} is ${canonicalQuantity(
    enforced,
  )}`;
  if (!lim) return `${head}.  No limit is specified`;
  if (l > e) return `${head}, but limit is ${canonicalQuantity(lim)}`;
  if (req && r > e) return `${head}, but request is ${canonicalQuantity(req)}`;
  return undefined;
}

/** maxRequestConstraint: for a kind whose limits are not the user's (a PersistentVolumeClaim). */
function maxRequestConstraint(
  type: string,
  resource: string,
  enforced: ExactQuantity,
  requests: Quantities,
): string | undefined {
  const req = requests[resource];
  const [r, , e] = comparable(req, undefined, enforced);
  const head = `maximum ${resource} usage per ${type} is ${canonicalQuantity(
    enforced,
  )}`;
  if (!req) return `${head}.  No request is specified`;
  if (r > e) return `${head}, but request is ${canonicalQuantity(req)}`;
  return undefined;
}

function limitRequestRatioConstraint(
  type: string,
  resource: string,
  enforced: ExactQuantity,
  requests: Quantities,
  limits: Quantities,
): string | undefined {
  const req = requests[resource];
  const lim = limits[resource];
  const [r, l] = comparable(req, lim, enforced);
  const head = `${resource} max limit to request ratio per ${type} is ${canonicalQuantity(
    enforced,
  )}`;
  if (!req || r === 0n)
    return `${head}, but no request is specified or request is 0`;
  if (!lim || l === 0n)
    return `${head}, but no limit is specified or limit is 0`;
  const displayed = Number(l) / Number(r);
  let observed = displayed;
  let allowed = Number(quantityValue(enforced));
  if (quantityValue(enforced) <= MAX_MILLI_VALUE) {
    observed *= 1000;
    allowed = Number(quantityMilliValue(enforced));
  }
  if (observed > allowed)
    return `${head}, but provided ratio is ${displayed.toFixed(6)}`;
  return undefined;
}

/**
 * The v1.26 `sum`: per resource, the total over all containers, left out when a container does not set it;
 * CPU in thousandths, everything else in whole units (so written as a plain decimal number).
 */
function sum(lists: Quantities[]): Quantities {
  const out: Quantities = {};
  const keys = new Set(lists.flatMap(l => Object.keys(l)));
  for (const k of keys) {
    if (!lists.every(l => l[k])) continue;
    const total = lists.reduce(
      (acc, l) =>
        acc + (k === 'cpu' ? quantityMilliValue(l[k]) : quantityValue(l[k])),
      0n,
    );
    out[k] = {
      nanos: k === 'cpu' ? total * 10n ** 6n : total * 10n ** 9n,
      format: 'DecimalSI',
    };
  }
  return out;
}

/** What each (init) container, or the whole pod, may use: the checks of one item, in a stable order. */
function checkItem(
  item: Record<string, any>,
  requests: Quantities,
  limits: Quantities,
  errs: string[],
) {
  const type = String(item.type);
  const each = (
    v: unknown,
    check: (r: string, q: ExactQuantity) => string | undefined,
  ) => {
    for (const [r, q] of sortedEntries(quantities(v))) {
      const err = check(r, q);
      if (err) errs.push(err);
    }
  };
  each(item.min, (r, q) => minConstraint(type, r, q, requests, limits));
  each(item.max, (r, q) => maxConstraint(type, r, q, requests, limits));
  each(item.maxLimitRequestRatio, (r, q) =>
    limitRequestRatioConstraint(type, r, q, requests, limits),
  );
}

function podViolations(limitRange: KubeObject, pod: KubeObject): string[] {
  const errs: string[] = [];
  const containers = containersOf(pod);
  for (const item of itemsOf(limitRange)) {
    if (item.type === 'Container') {
      for (const [c] of containers) {
        checkItem(
          item,
          quantities(c.resources?.requests),
          quantities(c.resources?.limits),
          errs,
        );
      }
    }
    if (item.type === 'Pod') {
      const app = containers.filter(([, kind]) => kind === 'container');
      const init = containers.filter(([, kind]) => kind !== 'container');
      const requests = sum(app.map(([c]) => quantities(c.resources?.requests)));
      const limits = sum(app.map(([c]) => quantities(c.resources?.limits)));
      // The largest init container counts where it asks more than the containers together.
      for (const [c] of init) {
        for (const [list, own] of [
          [requests, quantities(c.resources?.requests)],
          [limits, quantities(c.resources?.limits)],
        ]) {
          for (const [k, q] of Object.entries(own)) {
            if (!list[k] || q.nanos > list[k].nanos) list[k] = q;
          }
        }
      }
      checkItem(item, requests, limits, errs);
    }
  }
  return errs;
}

function claimViolations(limitRange: KubeObject, pvc: KubeObject): string[] {
  const errs: string[] = [];
  const requests = quantities(pvc.spec?.resources?.requests);
  for (const item of itemsOf(limitRange)) {
    if (item.type !== 'PersistentVolumeClaim') continue;
    const type = String(item.type);
    for (const [r, q] of sortedEntries(quantities(item.min))) {
      const err = minConstraint(type, r, q, requests, {});
      if (err) errs.push(err);
    }
    for (const [r, q] of sortedEntries(quantities(item.max))) {
      const err = maxRequestConstraint(type, r, q, requests);
      if (err) errs.push(err);
    }
  }
  return errs;
}

/**
 * LimitRanger's validation (PodValidateLimitFunc, PersistentVolumeClaimValidateLimitFunc): a pod on create, a
 * PersistentVolumeClaim on create and update, must keep to the min, max and maxLimitRequestRatio of each
 * LimitRange of its namespace; the first LimitRange broken refuses the write with 403, naming what it broke.
 */
export function enforceLimitRanges(
  plural: 'pods' | 'persistentvolumeclaims',
  obj: KubeObject,
  limitRanges: KubeObject[],
): void {
  for (const limitRange of limitRanges) {
    const errs =
      plural === 'pods'
        ? podViolations(limitRange, obj)
        : claimViolations(limitRange, obj);
    if (errs.length) {
      throw errors.forbidden(plural, '', obj.metadata.name, aggregate(errs));
    }
  }
}
