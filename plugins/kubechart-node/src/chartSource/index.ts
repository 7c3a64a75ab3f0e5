export * from './resolveChartSource';
