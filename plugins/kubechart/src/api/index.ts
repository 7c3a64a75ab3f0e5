export { kubechartApiRef } from './KubechartApi';
export type { KubechartApi, ListRunsQuery } from './KubechartApi';
export { KubechartClient } from './KubechartClient';
