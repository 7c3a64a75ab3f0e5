export { REDACTED, isSecretName } from './names';
export {
  hideUrlCredentials,
  redactText,
  redactUrl,
  type TextRedactionOptions,
} from './redactText';
export { hideListedValues } from './listedValues';
export {
  hideSecretLineBlocks,
  needleReplacer,
  secretLines,
  type SecretLines,
} from './knownValues';
