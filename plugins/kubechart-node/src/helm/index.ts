export * from './HelmCli';
export * from './validation';
export * from './postRenderGate';
export * from './chartArtifact';
export { MAX_CHART_YAML_BYTES, readChartYaml } from './chartYaml';
export {
  labelObject,
  labelManifests,
  labelManifestsInTurns,
} from './tenantLabels';
