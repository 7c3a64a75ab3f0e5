export * from './HelmCli';
export * from './validation';
export * from './postRenderGate';
export * from './chartArtifact';
