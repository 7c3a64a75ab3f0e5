import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  PolicyDecision,
  isResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';

/** Members of these groups (or these users) may do and read everything. */
export const EXAMPLE_ADMINS = ['group:default/platform-team'];

/**
 * History reads that are resource permissions on the catalog entity they belong to: owners of
 * the entity may read them.
 */
const OWNER_READS = new Set([
  'kubechart.runs.read',
  'kubechart.tenants.read',
  'audit-log.entity-events.read',
]);

/** Permissions that need an admin: the whole audit trail, and what reaches beyond one's own tenant. */
const ADMIN_ONLY = new Set([
  'audit-log.events.read',
  'audit-log.events.export',
  'audit-log.events.prune',
  'kubechart.runs.cluster-scoped',
  'kubechart.tenants.admin',
  'kube-assistant.execute.dangerous',
  'kube-assistant.cluster-wide',
]);

/**
 * The example app's permission policy: admins (members of {@link EXAMPLE_ADMINS}) may do
 * everything; anyone else reads the deployment history, tenants and audit events of the catalog
 * entities they own (the catalog's `IS_ENTITY_OWNER` rule), may not read the whole audit trail or
 * act beyond their own tenants, and may use everything else (the catalog, templates, …).
 */
export class ExamplePermissionPolicy implements PermissionPolicy {
  constructor(private readonly admins: string[] = EXAMPLE_ADMINS) {}

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const claims = user?.info.ownershipEntityRefs ?? [];
    if (claims.some(ref => this.admins.includes(ref)))
      return { result: AuthorizeResult.ALLOW };
    const { permission } = request;
    if (
      OWNER_READS.has(permission.name) &&
      isResourcePermission(permission, 'catalog-entity')
    ) {
      if (!user) return { result: AuthorizeResult.DENY };
      return createCatalogConditionalDecision(
        permission,
        catalogConditions.isEntityOwner({ claims }),
      );
    }
    if (ADMIN_ONLY.has(permission.name))
      return { result: AuthorizeResult.DENY };
    return { result: AuthorizeResult.ALLOW };
  }
}

/** Installs {@link ExamplePermissionPolicy} in the permission backend. */
export const examplePermissionPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'example-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new ExamplePermissionPolicy());
      },
    });
  },
});
