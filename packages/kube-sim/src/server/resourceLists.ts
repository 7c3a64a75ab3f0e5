import {
  canonicalQuantity,
  ExactQuantity,
  goQuantity,
  goQuantityString,
  parseExactQuantity,
  quantityMilliValue,
  quantityValue,
} from './quantity';
import { isPlainObject, KubeObject } from './types';

/**
 * What the API server's validation says of a ResourceQuota's `spec.hard` and a LimitRange's items, as Kubernetes
 * v1.26 writes it (ValidateResourceQuotaSpec and ValidateLimitRange in pkg/apis/core/validation, with the resource
 * name sets of pkg/apis/core/helper). Quantities the decoder refused never get here (shape.ts: 400). Go walks these
 * maps in random order; kube-sim reports by resource name.
 */

type Cause = { field: string; message: string; reason?: string };

const STANDARD_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'storage',
  'requests.storage',
  'services.nodeports',
  'services.loadbalancers',
]);
const STANDARD_QUOTA_RESOURCES = new Set(
  [...STANDARD_RESOURCES].filter(r => r !== 'storage'),
);
const STANDARD_CONTAINER_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
]);
const INTEGER_RESOURCES = new Set([
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'services.nodeports',
  'services.loadbalancers',
]);
const STANDARD_LIMIT_TYPES = new Set([
  'Pod',
  'Container',
  'PersistentVolumeClaim',
]);

const isHugePages = (name: string) => name.startsWith('hugepages-');
const isQuotaHugePages = (name: string) =>
  isHugePages(name) || name.startsWith('requests.hugepages-');
const isStandardResource = (name: string) =>
  STANDARD_RESOURCES.has(name) || isQuotaHugePages(name);
const isNativeResource = (name: string) =>
  !name.includes('/') || name.includes('kubernetes.io/');
const isExtendedResource = (name: string) =>
  !isNativeResource(name) &&
  !name.startsWith('requests.') &&
  qualifiedNameErrors(`requests.${name}`).length === 0;

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_ERROR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const DNS1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** validation.IsQualifiedName: `[prefix/]name`, the prefix a DNS subdomain. */
function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else {
      if (prefix.length > 253)
        errs.push('prefix part must be no more than 253 characters');
      if (!DNS1123_SUBDOMAIN.test(prefix))
        errs.push(
          "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        );
    }
  } else {
    return [
      `a qualified name ${QUALIFIED_NAME_ERROR} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63)
    errs.push('name part must be no more than 63 characters');
  if (!QUALIFIED_NAME.test(name))
    errs.push(`name part ${QUALIFIED_NAME_ERROR}`);
  return errs;
}

const invalid = (field: string, value: string, detail: string): Cause => ({
  field,
  message: `Invalid value: ${value}: ${detail}`,
});

/** validateResourceName: a qualified name, and a standard resource unless it has a prefix. */
function resourceNameCauses(name: string, field: string): Cause[] {
  const quoted = JSON.stringify(name);
  const errs = qualifiedNameErrors(name).map(m => invalid(field, quoted, m));
  if (errs.length) return errs;
  if (!name.includes('/') && !isStandardResource(name))
    return [
      invalid(
        field,
        quoted,
        'must be a standard resource type or fully qualified',
      ),
    ];
  return [];
}

/** ValidateResourceQuotaResourceName. */
function quotaResourceNameCauses(name: string, field: string): Cause[] {
  const causes = resourceNameCauses(name, field);
  if (
    !name.includes('/') &&
    !(STANDARD_QUOTA_RESOURCES.has(name) || isQuotaHugePages(name))
  ) {
    causes.push(
      invalid(
        field,
        JSON.stringify(name),
        'must be a standard resource for quota',
      ),
    );
  }
  return causes;
}

/** validateContainerResourceName (the resources of a Pod or Container limit). */
function containerResourceNameCauses(name: string, field: string): Cause[] {
  const causes = resourceNameCauses(name, field);
  const quoted = JSON.stringify(name);
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name))
      causes.push(
        invalid(field, quoted, 'must be a standard resource for containers'),
      );
  } else if (!isNativeResource(name) && !isExtendedResource(name)) {
    causes.push(
      invalid(field, quoted, "doesn't follow extended resource name standard"),
    );
  }
  return causes;
}

const ZERO: ExactQuantity = { nanos: 0n, format: 'DecimalSI' };

/** A quantity the decoder took (shape.ts checked it); `null` and what ParseQuantity reads as 0 are 0. */
function exact(v: unknown): ExactQuantity {
  return parseExactQuantity(v) ?? ZERO;
}

const entries = (v: unknown): Array<[string, unknown]> =>
  isPlainObject(v)
    ? Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
        a < b ? -1 : Number(a > b),
      )
    : [];

/** ValidateResourceQuotaSpec's checks of `spec.hard`. */
export function validateResourceQuota(quota: KubeObject): Cause[] {
  const causes: Cause[] = [];
  for (const [name, value] of entries(quota.spec?.hard)) {
    const field = `spec.hard[${name}]`;
    causes.push(...quotaResourceNameCauses(name, field));
    const q = exact(value);
    if (q.nanos < 0n)
      causes.push(
        invalid(
          field,
          JSON.stringify(canonicalQuantity(q)),
          'must be greater than or equal to 0',
        ),
      );
    if (
      (INTEGER_RESOURCES.has(name) || isExtendedResource(name)) &&
      quantityMilliValue(q) % 1000n !== 0n
    ) {
      causes.push(invalid(field, goQuantity(value), 'must be an integer'));
    }
  }
  return causes;
}

/**
 * ValidateLimitRange (after SetDefaults_LimitRangeItem, which admission.ts applied): each item's type, the names of
 * its resources, and how its amounts compare. Negative amounts are not refused: the real server stores them.
 */
export function validateLimitRange(limitRange: KubeObject): Cause[] {
  const causes: Cause[] = [];
  const seen = new Set<string>();
  const limits = Array.isArray(limitRange.spec?.limits)
    ? limitRange.spec.limits
    : [];
  limits.forEach((item: Record<string, any>, i: number) => {
    if (!isPlainObject(item)) return;
    const path = `spec.limits[${i}]`;
    const type = typeof item.type === 'string' ? item.type : '';
    const typeErrors = qualifiedNameErrors(type);
    if (typeErrors.length)
      typeErrors.forEach(m =>
        causes.push(invalid(`${path}.type`, JSON.stringify(type), m)),
      );
    else if (!type.includes('/') && !STANDARD_LIMIT_TYPES.has(type))
      causes.push(
        invalid(
          `${path}.type`,
          JSON.stringify(type),
          'must be a standard limit type or fully qualified',
        ),
      );
    if (seen.has(type))
      causes.push({
        field: `${path}.type`,
        message: `Duplicate value: ${JSON.stringify(type)}`,
        reason: 'FieldValueDuplicate',
      });
    seen.add(type);

    const names = (field: string, name: string) =>
      type === 'Pod' || type === 'Container'
        ? containerResourceNameCauses(name, field)
        : resourceNameCauses(name, field);
    const read = (key: string) => {
      const out = new Map<string, { raw: unknown; q: ExactQuantity }>();
      for (const [name, raw] of entries(item[key])) {
        causes.push(...names(`${path}.${key}[${name}]`, name));
        out.set(name, { raw, q: exact(raw) });
      }
      return out;
    };
    const max = read('max');
    const min = read('min');
    let defaults = new Map<string, { raw: unknown; q: ExactQuantity }>();
    let defaultRequests = defaults;
    if (type === 'Pod') {
      for (const key of ['default', 'defaultRequest'])
        if (entries(item[key]).length)
          causes.push({
            field: `${path}.${key}`,
            message: "Forbidden: may not be specified when `type` is 'Pod'",
            reason: 'FieldValueForbidden',
          });
    } else {
      defaults = read('default');
      defaultRequests = read('defaultRequest');
    }
    if (
      type === 'PersistentVolumeClaim' &&
      !min.has('storage') &&
      !max.has('storage')
    )
      causes.push({
        field: `${path}.limits`,
        message:
          'Required value: either minimum or maximum storage value is required, but neither was provided',
        reason: 'FieldValueRequired',
      });
    const ratios = read('maxLimitRequestRatio');

    const keys = [
      ...new Set([
        ...max.keys(),
        ...min.keys(),
        ...defaults.keys(),
        ...defaultRequests.keys(),
        ...ratios.keys(),
      ]),
    ].sort();
    // Each message quotes the amounts with String() first, so the invalid value shows its canonical `s`.
    const text = (v: { raw: unknown }) => goQuantityString(v.raw);
    const bad = (field: string, v: { raw: unknown }, detail: string) =>
      causes.push(invalid(field, goQuantity(v.raw, true), detail));
    const cmp = (a: ExactQuantity, b: ExactQuantity) =>
      a.nanos < b.nanos ? -1 : Number(a.nanos > b.nanos);
    for (const k of keys) {
      const mn = min.get(k);
      const mx = max.get(k);
      const df = defaults.get(k);
      const dr = defaultRequests.get(k);
      const ratio = ratios.get(k);
      if (mn && mx && cmp(mn.q, mx.q) > 0)
        bad(
          `${path}.min[${k}]`,
          mn,
          `min value ${text(mn)} is greater than max value ${text(mx)}`,
        );
      if (dr && mn && cmp(mn.q, dr.q) > 0)
        bad(
          `${path}.defaultRequest[${k}]`,
          dr,
          `min value ${text(mn)} is greater than default request value ${text(
            dr,
          )}`,
        );
      if (dr && mx && cmp(dr.q, mx.q) > 0)
        bad(
          `${path}.defaultRequest[${k}]`,
          dr,
          `default request value ${text(dr)} is greater than max value ${text(
            mx,
          )}`,
        );
      if (dr && df && cmp(dr.q, df.q) > 0)
        bad(
          `${path}.defaultRequest[${k}]`,
          dr,
          `default request value ${text(
            dr,
          )} is greater than default limit value ${text(df)}`,
        );
      if (df && mn && cmp(mn.q, df.q) > 0)
        bad(
          `${path}.default[${k}]`,
          mn,
          `min value ${text(mn)} is greater than default value ${text(df)}`,
        );
      if (df && mx && cmp(df.q, mx.q) > 0)
        bad(
          `${path}.default[${k}]`,
          mx,
          `default value ${text(df)} is greater than max value ${text(mx)}`,
        );
      if (ratio && cmp(ratio.q, { nanos: 10n ** 9n, format: 'DecimalSI' }) < 0)
        bad(
          `${path}.maxLimitRequestRatio[${k}]`,
          ratio,
          `ratio ${text(ratio)} is less than 1`,
        );
      if (ratio && mn && mx) {
        const MAX_MILLI = 9223372036854775807n / 1000n;
        let r = Number(quantityValue(ratio.q));
        let lo = quantityValue(mn.q);
        let hi = quantityValue(mx.q);
        if (
          quantityValue(ratio.q) < MAX_MILLI &&
          lo < MAX_MILLI &&
          hi < MAX_MILLI
        ) {
          r = Number(quantityMilliValue(ratio.q)) / 1000;
          lo = quantityMilliValue(mn.q);
          hi = quantityMilliValue(mx.q);
        }
        const most = Number(hi) / Number(lo);
        if (r > most)
          bad(
            `${path}.maxLimitRequestRatio[${k}]`,
            ratio,
            `ratio ${text(ratio)} is greater than max/min = ${goFloat(most)}`,
          );
      }
      const overcommit = isNativeResource(k) && !isHugePages(k);
      if (!overcommit && df && dr && cmp(df.q, dr.q) !== 0)
        bad(
          `${path}.defaultRequest[${k}]`,
          dr,
          `default value ${text(df)} must equal to defaultRequest value ${text(
            dr,
          )} in ${k}`,
        );
    }
  });
  return causes;
}

/** Go's `%f`: six decimals (`+Inf` for a division by zero). */
function goFloat(x: number): string {
  if (x === Infinity) return '+Inf';
  if (Number.isNaN(x)) return 'NaN';
  return x.toFixed(6);
}
