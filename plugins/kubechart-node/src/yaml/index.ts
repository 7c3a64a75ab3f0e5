export * from './limits';
export * from './parseYamlLimited';
export * from './parseJsonLimited';
export { HELM_YAML_SCHEMA } from './helmYamlSchema';
export { describeYamlError } from './yamlErrors';
export { parseManifestsInTurns } from './manifestsInTurns';
export { runAtOnce, runInTurns } from './turns';
export type { Pausable } from './turns';
