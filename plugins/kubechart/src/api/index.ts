export { APPROVAL_COMMENT_MAX_LENGTH, kubechartApiRef } from './KubechartApi';
export type {
  KubechartApi,
  ListDriftQuery,
  ListRunsQuery,
} from './KubechartApi';
export { KubechartClient } from './KubechartClient';
