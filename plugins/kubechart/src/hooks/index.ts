export { useDeploymentRuns } from './useDeploymentRuns';
export type { RunFilters } from './useDeploymentRuns';
export { useRun } from './useRun';
export { useRunDiff } from './useRunDiff';
export { useClusterHealth } from './useClusterHealth';
export type { ClusterHealthResult } from './useClusterHealth';
export { useTenantHealth } from './useTenantHealth';
export { useTenants } from './useTenants';
export { useNow, secondsSince } from './useNow';
