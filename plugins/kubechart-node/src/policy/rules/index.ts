import { PolicyRule } from '../types';
import { crossNamespaceRules } from './crossNamespace';
import { hostAccessRules } from './hostAccess';
import { ingressRules } from './ingress';
import { rbacPolicyRules } from './rbac';
import { reliabilityRules } from './reliability';
import { secretRules } from './secrets';
import { serviceRules } from './service';
import { workloadRules } from './workload';

export { parseImage } from './util';
export { DANGEROUS_CAPABILITIES } from './hostAccess';

/** The built-in chart policy rules. @public */
export const builtinPolicyRules: PolicyRule[] = [
  ...workloadRules,
  ...hostAccessRules,
  ...reliabilityRules,
  ...secretRules,
  ...rbacPolicyRules,
  ...serviceRules,
  ...ingressRules,
  ...crossNamespaceRules,
];
