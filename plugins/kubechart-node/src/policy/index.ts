export * from './types';
export {
  builtinPolicyRules,
  parseImage,
  DANGEROUS_CAPABILITIES,
} from './rules';
export {
  DEFAULT_ALLOWED_INGRESS_ANNOTATIONS,
  INGRESS_HOST_KINDS,
  ingressHostsOf,
} from './rules/ingress';
export type { ClaimedHost, HostsHeld, ReadHost } from './rules/hostNames';
export {
  DEFAULT_SECRET_KEY_NAMES,
  isSecretName,
  secretValueKind,
} from './secrets';
export {
  DEFAULT_DEPLOYER_NAMESPACE,
  DEFAULT_DEPLOYER_SERVICE_ACCOUNT,
  builtinIsNamespaced,
  deployerIdentityViolation,
  deployerTokenSecretNames,
  effectiveNamespace,
  protectedObjectViolation,
  scopeRefusal,
  scopeViolation,
} from './scope';
export type { ScopeRefusal } from './scope';
export { findUnknownValues } from './unknownValues';
export { compileSelector, labelMap } from './labels';
export type { CompiledSelector, LabelMap, LabelSelector } from './labels';
export * from './PolicyEngine';
export {
  UNKNOWN_VALUE_RULE_ID,
  mergePolicyReports,
  releasePolicyReport,
} from './reports';
