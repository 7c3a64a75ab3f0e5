import { InputError, NotAllowedError } from '@backstage/errors';
import type { CreateRunRequest } from '@kubechart/plugin-kubechart-common';
import { compareQuantities, parseQuantity } from '../lib/quantity';
import { EngineSettings } from './settings';

/** ResourceQuota names for the same resource: `cpu` is `requests.cpu`, and so on. */
const ALIASES: Record<string, string> = {
  cpu: 'requests.cpu',
  memory: 'requests.memory',
  storage: 'requests.storage',
  'ephemeral-storage': 'requests.ephemeral-storage',
};
const canonical = (resource: string) => ALIASES[resource] ?? resource;

/** Reads a quantity of `what`, or throws InputError (400). */
function quantity(what: string, value: string) {
  const q = parseQuantity(value);
  if (!q)
    throw new InputError(
      `${what}: ${JSON.stringify(
        value,
      )} is not a Kubernetes quantity (such as 500m, 2, 4Gi)`,
    );
  return q;
}

/** What a ResourceQuota counts by these names (Kubernetes' standard quota resources), besides `hugepages-*`. */
const QUOTA_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.storage',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'persistentvolumeclaims',
  'configmaps',
  'services.nodeports',
  'services.loadbalancers',
]);
/** Quota resources counted in whole units (objects), as extended resources are. */
const COUNTED = new Set([
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
/** What a container asks for by these names (a LimitRange's Container item), besides `hugepages-*`. */
const CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes qualified name: `[prefix/]name`, the prefix a DNS subdomain (as resource names must be). */
function isQualifiedName(value: string): boolean {
  const parts = value.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  const prefix = parts.length === 2 ? parts[0] : undefined;
  if (
    prefix !== undefined &&
    (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))
  )
    return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

/** A resource outside Kubernetes' own (`example.com/gpu`, `count/pods`): counted whole, never overcommitted. */
const isExtended = (name: string) =>
  name.includes('/') &&
  !name.includes('kubernetes.io/') &&
  !name.startsWith('requests.') &&
  isQualifiedName(`requests.${name}`);

/** A value of a tenant's map, with the field that set it and the map (`quota.hard`, or a setting) it is in. */
type Entry = { value: string; field: string; map: string };

/** A resource name as a refusal quotes it (escaped, and cut: refusals are audited). */
const shown = (name: string) =>
  JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);

/** A tenant's map as it is applied: the setting's defaults, then what the request names, with where each came from. */
function effective(
  setting: Record<string, string>,
  settingName: string,
  requested: Record<string, string> | undefined,
  requestName: string,
): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const [k, value] of Object.entries(setting))
    out.set(k, { value, field: `${settingName}.${k}`, map: settingName });
  for (const [k, value] of Object.entries(requested ?? {}))
    out.set(k, { value, field: `${requestName}.${k}`, map: requestName });
  return out;
}

/**
 * Refuses (InputError, 400, naming the field) a tenant's quota or default limits that the API server would refuse,
 * or that would leave the tenant's pods no valid default, before anything is applied (a run would otherwise fail
 * half-way, its namespace and deployer made) and in a preview: what is applied is `kubechart.tenant.quota`,
 * `.defaultLimits` and `.defaultRequests` with the request's `quota.hard`, `.defaultLimits` and `.defaultRequests`
 * over them. Refused: a value that is no quantity, or is negative; a quota resource Kubernetes does not count (a
 * name with a "/" is taken as an extended resource), or a fraction of one counted in whole units; a default limit or
 * request of a resource containers do not ask for; a default request above its default limit, or one other than its
 * default limit for a resource that cannot be overcommitted (hugepages, extended resources).
 */
export function checkTenantQuotaValues(
  request: CreateRunRequest,
  settings: Pick<
    EngineSettings,
    'defaultQuota' | 'defaultLimits' | 'defaultRequests'
  >,
): void {
  if (request.kind !== 'tenant') return;
  const hard = effective(
    settings.defaultQuota,
    'kubechart.tenant.quota',
    request.quota?.hard,
    'quota.hard',
  );
  const limits = effective(
    settings.defaultLimits,
    'kubechart.tenant.defaultLimits',
    request.quota?.defaultLimits,
    'quota.defaultLimits',
  );
  const requests = effective(
    settings.defaultRequests,
    'kubechart.tenant.defaultRequests',
    request.quota?.defaultRequests,
    'quota.defaultRequests',
  );
  const amount = ({ value, field }: Entry) => {
    const q = quantity(field, value);
    if (q.numerator < 0n)
      throw new InputError(
        `${field}: ${JSON.stringify(
          value,
        )} is negative; a quota, default limit or default request is 0 or more`,
      );
    return q;
  };
  for (const [name, entry] of hard) {
    const standard =
      QUOTA_RESOURCES.has(name) ||
      name.startsWith('hugepages-') ||
      name.startsWith('requests.hugepages-');
    if (!isQualifiedName(name) || (!name.includes('/') && !standard))
      throw new InputError(
        `${entry.map}: ${shown(
          name,
        )} is not a resource a ResourceQuota limits (such as requests.cpu, limits.memory, requests.storage, pods, services, count/deployments.apps, <class>.storageclass.storage.k8s.io/requests.storage or hugepages-<size>; a name with a "/" is an extended resource)`,
      );
    const q = amount(entry);
    if ((COUNTED.has(name) || isExtended(name)) && q.numerator % q.denominator)
      throw new InputError(
        `${entry.field}: ${JSON.stringify(
          entry.value,
        )} is not a whole number; ${name} is counted in whole units`,
      );
  }
  for (const map of [limits, requests]) {
    for (const [name, entry] of map) {
      const container = name.includes('/')
        ? isQualifiedName(name) &&
          (name.includes('kubernetes.io/') || isExtended(name))
        : CONTAINER_RESOURCES.has(name) || name.startsWith('hugepages-');
      if (!container)
        throw new InputError(
          `${entry.map}: ${shown(
            name,
          )} is not a resource a container requests (cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource such as example.com/gpu)`,
        );
      amount(entry);
    }
  }
  for (const [name, req] of requests) {
    const limit = limits.get(name);
    if (!limit) continue;
    const order = compareQuantities(amount(req), amount(limit));
    if (order > 0)
      throw new InputError(
        `${req.field}: ${req.value} is above the default limit of ${name} (${limit.value}, ${limit.field}); a default request may not exceed its default limit`,
      );
    const noOvercommit =
      name.startsWith('hugepages-') ||
      (name.includes('/') && !name.includes('kubernetes.io/'));
    if (noOvercommit && order !== 0)
      throw new InputError(
        `${req.field}: ${req.value} is not the default limit of ${name} (${limit.value}, ${limit.field}); ${name} cannot be overcommitted, so its default request and limit must be equal`,
      );
  }
}

/**
 * Refuses (NotAllowedError, 403) a tenant quota that asks for more of a resource than the platform
 * allows: `kubechart.tenant.maxQuota`, else the default quota (`kubechart.tenant.quota`) for a
 * resource only that names, unless the caller holds `kubechart.tenants.admin`. The ResourceQuota is
 * the only bound on what a tenant takes from the cluster its deployer cannot change; a resource
 * neither names is not limited by the quota at all, so asking for a limit on it only restricts.
 * A value that is not a quantity is a 400 for anyone, as is anything {@link checkTenantQuotaValues} refuses.
 */
export function checkTenantQuota(
  request: CreateRunRequest,
  tenantAdmin: boolean,
  settings: Pick<
    EngineSettings,
    'maxQuota' | 'defaultQuota' | 'defaultLimits' | 'defaultRequests'
  >,
): void {
  checkTenantQuotaValues(request, settings);
  if (request.kind !== 'tenant' || !request.quota?.hard) return;
  const ceilings = new Map<string, { value: string; from: string }>();
  for (const [resource, value] of Object.entries(settings.defaultQuota))
    ceilings.set(canonical(resource), {
      value,
      from: 'the default quota, kubechart.tenant.quota',
    });
  for (const [resource, value] of Object.entries(settings.maxQuota))
    ceilings.set(canonical(resource), {
      value,
      from: 'kubechart.tenant.maxQuota',
    });
  for (const [resource, value] of Object.entries(request.quota.hard)) {
    const asked = quantity(`quota.hard.${resource}`, value);
    const ceiling = ceilings.get(canonical(resource));
    if (!ceiling || tenantAdmin) continue;
    const most = quantity(ceiling.from, ceiling.value);
    if (compareQuantities(asked, most) > 0) {
      throw new NotAllowedError(
        `Tenant ${request.tenant} asks for a quota of ${resource} ${value}, above the most the platform allows (${ceiling.value}, ${ceiling.from}); ask for less, or ask the platform team (kubechart.tenants.admin)`,
      );
    }
  }
}
