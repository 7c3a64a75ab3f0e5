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

/**
 * Refuses (NotAllowedError, 403) a tenant quota that asks for more of a resource than the platform
 * allows: `kubechart.tenant.maxQuota`, else the default quota (`kubechart.tenant.quota`) for a
 * resource only that names, unless the caller holds `kubechart.tenants.admin`. The ResourceQuota is
 * the only bound on what a tenant takes from the cluster its deployer cannot change; a resource
 * neither names is not limited by the quota at all, so asking for a limit on it only restricts.
 * A value that is not a quantity is a 400 for anyone.
 */
export function checkTenantQuota(
  request: CreateRunRequest,
  tenantAdmin: boolean,
  settings: Pick<EngineSettings, 'maxQuota' | 'defaultQuota'>,
): void {
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
