export * from './HelmCli';
export * from './validation';
