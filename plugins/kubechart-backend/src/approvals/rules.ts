import { Config, readDurationFromConfig } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { RunTarget, tenantNamespace } from '@kubechart/plugin-kubechart-common';
import { durationToMilliseconds } from '@backstage/types';

/**
 * `owner`: the owner of the run's target (the tenant whose namespace it is, else the namespace's
 * assigned owner), never of an entity the request names. Any other entry is an entity ref.
 */
export const OWNER_APPROVER = 'owner';

/** One `kubechart.approvals.rules` entry: which targets are protected and who may approve. */
export type ApprovalRule = {
  name: string;
  /** Cluster name patterns (`*` matches any run of characters); empty: every cluster. */
  clusters: string[];
  /** Namespace patterns; empty together with `tenants`: every namespace of the matched clusters. */
  namespaces: string[];
  /** Tenant codes whose runs and namespaces are protected: every run into a tenant's namespace, whatever its kind. */
  tenants: string[];
  /** `owner` and/or entity refs (groups or users) whose members may approve. */
  approvers: string[];
  /** Distinct approvals needed. */
  required: number;
  expiresAfterMs: number;
};

export type ApprovalSettings = { rules: ApprovalRule[] };

const DEFAULT_EXPIRY_MS = 24 * 60 * 60 * 1000;

/** The longest rule name: the width of `kubechart_approvals.rule`. */
const MAX_RULE_NAME = 255;

/** `*` is the only wildcard; everything else matches itself. */
export function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map(p => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

function readExpiry(
  c: Config | undefined,
  key: string,
  fallback: number,
): number {
  if (!c?.has(key)) return fallback;
  const ms = durationToMilliseconds(readDurationFromConfig(c, { key }));
  if (!(ms > 0))
    throw new InputError(
      `kubechart.approvals ${key} must be a positive duration`,
    );
  return ms;
}

/**
 * Reads `kubechart.approvals`. A rule without approvers, or one asking for more approvals than
 * it could get, is a configuration error (the backend does not start) rather than a gate nobody can pass.
 */
export function readApprovalSettings(config: Config): ApprovalSettings {
  const c = config.getOptionalConfig('kubechart.approvals');
  if (!c) return { rules: [] };
  const defaultExpiry = readExpiry(c, 'expiresAfter', DEFAULT_EXPIRY_MS);
  const rules = (c.getOptionalConfigArray('rules') ?? []).map((r, i) => {
    const name = r.getOptionalString('name') ?? `rule ${i + 1}`;
    // Stored with every run the rule gates (a 255-character column): refused here, not at each run.
    if ([...name].length > MAX_RULE_NAME)
      throw new InputError(
        `kubechart.approvals rule ${i + 1}: its name has ${
          [...name].length
        } characters; at most ${MAX_RULE_NAME} are allowed`,
      );
    const approvers = (
      r.getOptionalStringArray('approvers') ?? [OWNER_APPROVER]
    ).map(a => {
      if (a === OWNER_APPROVER) return a;
      try {
        return stringifyEntityRef(
          parseEntityRef(a, {
            defaultKind: 'group',
            defaultNamespace: 'default',
          }),
        );
      } catch (e) {
        throw new InputError(
          `kubechart.approvals rule ${name}: approver ${a} is not an entity ref: ${e}`,
        );
      }
    });
    if (approvers.length === 0)
      throw new InputError(
        `kubechart.approvals rule ${name} names no approvers`,
      );
    const required = r.getOptionalNumber('required') ?? 1;
    if (!Number.isInteger(required) || required < 1) {
      throw new InputError(
        `kubechart.approvals rule ${name}: required must be a whole number of at least 1`,
      );
    }
    return {
      name,
      clusters: r.getOptionalStringArray('clusters') ?? [],
      namespaces: r.getOptionalStringArray('namespaces') ?? [],
      tenants: r.getOptionalStringArray('tenants') ?? [],
      approvers: [...new Set(approvers)],
      required,
      expiresAfterMs: readExpiry(r, 'expiresAfter', defaultExpiry),
    };
  });
  return { rules };
}

/**
 * The first rule that protects a run's target, if any. `tenant` is the tenant the target belongs
 * to: the tenant of a tenant run, or the tenant whose namespace a chart, manifests or rollback run
 * deploys to. A rule's tenant also protects that tenant's namespace by name, so a run into it is
 * protected even when no tenant record says so (fail closed).
 */
export function protectingRule(
  settings: ApprovalSettings,
  target: RunTarget,
  tenant?: string,
): ApprovalRule | undefined {
  return settings.rules.find(rule => {
    if (
      rule.clusters.length &&
      !rule.clusters.some(p => globMatches(p, target.cluster))
    )
      return false;
    if (!rule.namespaces.length && !rule.tenants.length) return true;
    if (rule.namespaces.some(p => globMatches(p, target.namespace)))
      return true;
    return rule.tenants.some(
      code => code === tenant || tenantNamespace(code) === target.namespace,
    );
  });
}

/** A core-group Namespace, which rules check by its name (the run's target), not as reaching into others. */
export const isNamespaceKind = (groupKind: string) =>
  groupKind === 'Namespace' || groupKind === '/Namespace';

/**
 * The gate of a run that applies cluster-scoped objects (other than a Namespace) on a cluster any
 * rule covers, whatever namespace the run targets: such an object reaches into every namespace (a
 * CRD changes the objects of its kind everywhere, a ClusterRole what RoleBindings grant with it), so
 * it cannot be checked against a rule's namespaces. Every rule covering the cluster decides: their
 * named approvers (groups or users) may approve, as many approvals as the strictest of them needs,
 * expiring as the earliest of them does. `owner` is left out: the owner of the run's namespace is not
 * the owner of the namespaces the change reaches. Undefined when no rule covers the cluster; a rule
 * with no approvers when none of the covering rules names one (the run is then refused).
 */
export function clusterScopedRule(
  settings: ApprovalSettings,
  cluster: string,
  reaching: string[],
): ApprovalRule | undefined {
  const rules = settings.rules.filter(
    rule =>
      !rule.clusters.length || rule.clusters.some(p => globMatches(p, cluster)),
  );
  if (!rules.length || !reaching.length) return undefined;
  const names = rules.map(r => r.name).join(', ');
  const name = `cluster-scoped objects on ${cluster} (${names})`;
  return {
    name:
      [...name].length > MAX_RULE_NAME
        ? `cluster-scoped objects on ${cluster} (${rules[0].name} and ${
            rules.length - 1
          } more)`.slice(0, MAX_RULE_NAME)
        : name,
    clusters: [cluster],
    namespaces: [],
    tenants: [],
    approvers: [
      ...new Set(
        rules.flatMap(r => r.approvers.filter(a => a !== OWNER_APPROVER)),
      ),
    ],
    required: Math.max(...rules.map(r => r.required)),
    expiresAfterMs: Math.min(...rules.map(r => r.expiresAfterMs)),
  };
}
