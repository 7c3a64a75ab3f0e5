export * from './KubechartRunsClient';
export * from './events';
export * from './signedInUser';
export * from './recordedRunLimits';
