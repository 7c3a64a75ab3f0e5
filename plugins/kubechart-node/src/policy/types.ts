import type { PolicySeverity } from '@kubechart/plugin-kubechart-common';

/** A Kubernetes object as parsed from YAML. @public */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: any;
};

/** What a rule may look at besides the object it checks. @public */
export type PolicyContext = {
  /** Every object of the rendered manifest (e.g. to find a PodDisruptionBudget). */
  objects: KubeObject[];
  /** Registries images may come from (`registry.example.com`, `ghcr.io/acme`). Empty: any. */
  trustedRegistries: string[];
  /** Service types that are allowed (default `ClusterIP`, `ExternalName` and headless). */
  allowedServiceTypes: string[];
};

/**
 * A chart policy rule. Add your own through `kubechartPolicyRulesExtensionPoint`.
 * @public
 */
export interface PolicyRule {
  /** Stable id used in config (`kubechart.policy.rules.<id>`) and in reports. */
  id: string;
  /** Severity unless config overrides it. */
  defaultSeverity: PolicySeverity;
  /** What a passing object satisfies, e.g. "containers run as non-root". */
  description: string;
  /** How to fix a violation, shown to the developer. */
  fix: string;
  /**
   * Checks one object. Returns `undefined` when the rule does not apply to it, an empty array when it
   * passes, or one message per violation.
   */
  check(object: KubeObject, context: PolicyContext): string[] | undefined;
}
