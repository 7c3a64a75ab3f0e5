export * from './resolveChartSource';
export * from './readChartCrds';
