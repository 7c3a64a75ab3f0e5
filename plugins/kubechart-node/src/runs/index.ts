export * from './KubechartRunsClient';
