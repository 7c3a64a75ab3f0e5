export {
  REDACTED,
  SECRET_KEY_PATTERN,
  isSecretKey,
  isSecretName,
} from './names';
export {
  hideUrlCredentials,
  redactText,
  redactUrl,
  type TextRedactionOptions,
} from './redactText';
export { hideListedValues } from './listedValues';
export {
  hideSecretLineBlocks,
  needleFinder,
  needleReplacer,
  secretLines,
  type SecretLines,
} from './knownValues';
export {
  LAST_APPLIED,
  forEachSecretValue,
  hiddenSize,
  isSecretEnvEntry,
  redactKubeObject,
  redactValues,
  scrubStrings,
  type KubeObjectRedactionOptions,
  type ValueRedactionOptions,
} from './objects';
export { keepKubeReferences } from './kubeReferences';
export { keepStructuralKeys } from './structuralKeys';
export { isSecretPathAnnotation } from './secretPaths';
