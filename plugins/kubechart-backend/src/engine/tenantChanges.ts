import { TenantRunInput } from '@kubechart/plugin-kubechart-common';
import { TenantRecord } from '../database/RunStore';

/** What a tenant run changes on an existing tenant. */
export type TenantChanges = {
  /** One line per change, e.g. `owner: group:default/a → group:default/b`. Empty when nothing changes. */
  lines: string[];
  /** Releases the tenant has that the new spec no longer lists. */
  droppedReleases: string[];
};

const flatten = (v: unknown, prefix = ''): Record<string, string> => {
  if (!v || typeof v !== 'object') return prefix ? { [prefix]: String(v) } : {};
  return Object.assign(
    {},
    ...Object.entries(v as Record<string, unknown>).map(([k, x]) =>
      flatten(x, prefix ? `${prefix}.${k}` : k),
    ),
  );
};

/**
 * Compares a tenant re-submission with the tenant as it is: owner, display name, quota (against the
 * input of the tenant's last run) and the releases added or dropped.
 */
export function describeTenantChanges(
  existing: TenantRecord,
  previousInput: Record<string, unknown> | undefined,
  request: TenantRunInput,
): TenantChanges {
  const lines: string[] = [];
  if (request.owner !== undefined && request.owner !== existing.owner)
    lines.push(`owner: ${existing.owner ?? 'none'} → ${request.owner}`);
  if (
    request.displayName !== undefined &&
    request.displayName !== existing.displayName
  ) {
    lines.push(
      `display name: ${existing.displayName ?? 'none'} → ${
        request.displayName
      }`,
    );
  }
  const before = flatten(previousInput?.quota ?? {});
  const after = flatten(request.quota ?? {});
  const quota = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .sort()
    .filter(k => before[k] !== after[k])
    .map(k => `${k} ${before[k] ?? 'default'} → ${after[k] ?? 'default'}`);
  if (quota.length) lines.push(`quota: ${quota.join(', ')}`);
  const names = request.releases.map(r => r.name);
  const added = names.filter(n => !existing.releases.includes(n));
  const droppedReleases = existing.releases.filter(n => !names.includes(n));
  if (added.length) lines.push(`releases added: ${added.join(', ')}`);
  if (droppedReleases.length)
    lines.push(`releases removed from the spec: ${droppedReleases.join(', ')}`);
  return { lines, droppedReleases };
}
