export * from './KubechartRunsClient';
export * from './events';
