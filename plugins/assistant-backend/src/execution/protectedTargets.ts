import { Config } from '@backstage/config';
import {
  CLUSTER_SCOPED_RESOURCES,
  Plan,
  PlanResource,
} from '@kubechart/plugin-assistant-common';

type Rule = { name: string; clusters: string[]; namespaces: string[] };

/** `*` is the only wildcard, as in `kubechart.approvals`. */
const matches = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map(p => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);

/**
 * How a change to a cluster-scoped object reaches into namespaces, so that it cannot be checked
 * against a rule's namespaces: it is refused as a change whose namespace is not known is. A
 * cluster-scoped kind not named here is refused too, with the last reason.
 */
const REACHES_INTO_NAMESPACES: Partial<Record<PlanResource, string>> = {
  customresourcedefinitions:
    'Deleting or changing a CustomResourceDefinition changes the objects of its kind in every namespace',
  clusterroles:
    'A ClusterRole grants what RoleBindings of any namespace give with it',
  clusterrolebindings:
    'A ClusterRoleBinding grants its role in every namespace',
  persistentvolumes:
    'A PersistentVolume holds the data of a claim in a namespace',
  // Deleting, draining or tainting one removes their pods; cordoning it keeps them from it.
  nodes: 'A node runs pods of every namespace',
};

/**
 * Targets KubeChart protects with approvals (`kubechart.approvals.rules`, when that plugin is
 * configured in the same Backstage): a change there must go through a KubeChart run, which waits for
 * an approver, so the assistant does not change them. A rule's `tenants` protect the tenants'
 * namespaces (`tenant-<code>`, KubeChart's naming); a rule with neither namespaces nor tenants
 * protects every namespace of its clusters.
 */
export class ProtectedTargets {
  static fromConfig(config: Config): ProtectedTargets {
    const rules = (
      config.getOptionalConfigArray('kubechart.approvals.rules') ?? []
    ).map((r, i) => {
      const namespaces = [
        ...(r.getOptionalStringArray('namespaces') ?? []),
        ...(r.getOptionalStringArray('tenants') ?? []).map(
          code => `tenant-${code}`,
        ),
      ];
      return {
        name: r.getOptionalString('name') ?? `rule ${i + 1}`,
        clusters: r.getOptionalStringArray('clusters') ?? [],
        namespaces: namespaces.length ? namespaces : ['*'],
      };
    });
    return new ProtectedTargets(rules);
  }

  constructor(private readonly rules: Rule[]) {}

  /**
   * Why a changing plan may not run here, or undefined when it may. A change to a Namespace object
   * is checked with its name. Fails closed: a change whose namespace is not known before it runs
   * (none given, every namespace, or Namespaces by selector), or to any other cluster-scoped object
   * (a CRD, RBAC, a PersistentVolume, a node: each reaches into namespaces), is refused while any
   * rule covers its cluster.
   */
  refusal(plan: Plan, cluster: string | undefined): string | undefined {
    const rules = this.rules.filter(
      r =>
        !r.clusters.length ||
        (cluster !== undefined && r.clusters.some(p => matches(p, cluster))),
    );
    if (!rules.length) return undefined;
    const where = cluster ? ` on cluster ${cluster}` : '';
    // A Namespace object is what the rule protects too: deleting it, or
    // labelling it (pod-security levels), changes everything inside.
    const isNamespaceObject = plan.resource === 'namespaces';
    if (
      CLUSTER_SCOPED_RESOURCES.includes(plan.resource) &&
      !isNamespaceObject
    ) {
      const reach =
        REACHES_INTO_NAMESPACES[plan.resource] ??
        `A change to ${plan.resource} may reach into every namespace`;
      return `${reach}: KubeChart protects namespaces${where} with approvals (rule ${rules[0].name}), so the assistant does not change ${plan.resource} here`;
    }
    const namespace = isNamespaceObject ? plan.name : plan.namespace;
    if (!namespace || (!isNamespaceObject && plan.allNamespaces)) {
      return `Changes need a namespace here: KubeChart protects namespaces${where} with approvals (rule ${rules[0].name}), so the assistant changes only a named namespace that no rule protects`;
    }
    const rule = rules.find(r => r.namespaces.some(p => matches(p, namespace)));
    return rule
      ? `Namespace ${namespace}${where} is protected by KubeChart approval rule ${rule.name}: change it through a KubeChart run, which waits for an approver; the assistant does not change it`
      : undefined;
  }
}
