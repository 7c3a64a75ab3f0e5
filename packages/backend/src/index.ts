/*
 * Hi!
 *
 * Note that this is an EXAMPLE Backstage backend. Please check the README.
 *
 * Happy hacking!
 */

import { createBackend } from '@backstage/backend-defaults';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import { examplePermissionPolicyModule } from './permissionPolicy';
import { exampleUsersAuthModule } from './exampleUsersAuth';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-proxy-backend'));

// scaffolder plugin
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-github'));
backend.add(
  import('@backstage/plugin-scaffolder-backend-module-notifications'),
);

// techdocs plugin
backend.add(import('@backstage/plugin-techdocs-backend'));

// auth plugin
backend.add(import('@backstage/plugin-auth-backend'));
// See https://backstage.io/docs/backend-system/building-backends/migrating#the-auth-plugin
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
// See https://backstage.io/docs/auth/guest/provider
// Development only: sign in as the example org's other users (an approver must not be the requester).
backend.add(exampleUsersAuthModule);

// catalog plugin
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);

// See https://backstage.io/docs/features/software-catalog/configuration#subscribing-to-catalog-errors
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

// permission plugin
backend.add(import('@backstage/plugin-permission-backend'));
// The example policy: platform-team members (the guest user among them) may do everything; others
// read the deployment history and audit events of the entities they own. See ./permissionPolicy.ts.
backend.add(examplePermissionPolicyModule);

// search plugin
backend.add(import('@backstage/plugin-search-backend'));

// search engine
// See https://backstage.io/docs/features/search/search-engines
backend.add(import('@backstage/plugin-search-backend-module-pg'));

// search collators
backend.add(import('@backstage/plugin-search-backend-module-catalog'));
backend.add(import('@backstage/plugin-search-backend-module-techdocs'));

// kubernetes plugin
backend.add(import('@backstage/plugin-kubernetes-backend'));

// user settings plugin
backend.add(import('@backstage/plugin-user-settings-backend'));

// events plugin: the event broker the catalog, signals and notifications look for
// (without it they log "events backend not found")
backend.add(import('@backstage/plugin-events-backend'));

// notifications and signals plugins
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));

// mcp actions plugin
backend.add(import('@backstage/plugin-mcp-actions-backend'));

// KubeChart: provisioning engine, deployment history and health; its template actions; a catalog
// entity per tenant.
backend.add(import('@kubechart/plugin-kubechart-backend'));
backend.add(import('@kubechart/plugin-scaffolder-backend-module-kubechart'));
backend.add(import('@kubechart/plugin-catalog-backend-module-kubechart'));

// KubeChart audit log: every auditor event of every plugin, in a verifiable hash chain.
backend.add(auditLogAuditorServiceFactory);
backend.add(import('@kubechart/plugin-audit-log-backend'));

// KubeChart natural-language Kubernetes assistant.
backend.add(import('@kubechart/plugin-assistant-backend'));

backend.start();
