export { kubechartApiRef } from './KubechartApi';
export type {
  KubechartApi,
  ListDriftQuery,
  ListRunsQuery,
} from './KubechartApi';
export { KubechartClient } from './KubechartClient';
