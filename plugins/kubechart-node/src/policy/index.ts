export * from './types';
export { builtinPolicyRules, parseImage } from './rules';
export * from './PolicyEngine';
