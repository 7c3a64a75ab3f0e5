import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { PolicyRule, KubeObject } from './policy/types';
import type { TenantRunInput } from '@kubechart/plugin-kubechart-common';

/** Lets modules add chart policy rules. @public */
export interface KubechartPolicyRulesExtensionPoint {
  addPolicyRules(...rules: PolicyRule[]): void;
}

/**
 * Extension point for chart policy rules; severities of added rules can be overridden in
 * `kubechart.policy.rules.<id>` like the built-in ones.
 * @public
 */
export const kubechartPolicyRulesExtensionPoint =
  createExtensionPoint<KubechartPolicyRulesExtensionPoint>({
    id: 'kubechart.policy-rules',
  });

/** What a tenant resource provider is told about the tenant being provisioned. @public */
export type TenantResourceContext = {
  tenant: string;
  namespace: string;
  cluster: string;
  input: TenantRunInput;
};

/**
 * Adds objects to every tenant namespace (after the NetworkPolicy, before Helm releases). Objects are
 * applied with server-side apply, so returning the same objects again converges.
 * @public
 */
export interface TenantResourceProvider {
  /** Shown in the run's step log, e.g. `default-service-account-pull-secret`. */
  name: string;
  resources(
    context: TenantResourceContext,
  ): Promise<KubeObject[]> | KubeObject[];
}

/** Lets modules add tenant resources. @public */
export interface KubechartTenantResourcesExtensionPoint {
  addTenantResources(...providers: TenantResourceProvider[]): void;
}

/** Extension point for extra tenant resources. @public */
export const kubechartTenantResourcesExtensionPoint =
  createExtensionPoint<KubechartTenantResourcesExtensionPoint>({
    id: 'kubechart.tenant-resources',
  });
