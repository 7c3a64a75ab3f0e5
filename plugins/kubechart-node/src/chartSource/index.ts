export * from './resolveChartSource';
export * from './readChartCrds';
export * from './installTimeInputs';
