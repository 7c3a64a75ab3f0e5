export { kubechartApiRef } from './KubechartApi';
export type {
  KubechartApi,
  ListRunsQuery,
  TenantListItem,
} from './KubechartApi';
export { KubechartClient } from './KubechartClient';
