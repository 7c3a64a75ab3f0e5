export * from './HelmCli';
export * from './validation';
export * from './postRenderGate';
export * from './chartArtifact';
export {
  labelObject,
  labelManifests,
  labelManifestsInTurns,
} from './tenantLabels';
