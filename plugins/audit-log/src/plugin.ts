import {
  createApiFactory,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { AuditLogClient, auditLogApiRef } from './api';
import { rootRouteRef } from './routes';

/**
 * The audit-log plugin for apps on the legacy frontend system.
 * @public
 */
export const auditLogPlugin = createPlugin({
  id: 'audit-log',
  routes: {
    root: rootRouteRef,
  },
  apis: [
    createApiFactory({
      api: auditLogApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new AuditLogClient({ discoveryApi, fetchApi }),
    }),
  ],
});

/**
 * The audit-log page, for apps on the legacy frontend system:
 * `<Route path="/audit-log" element={<AuditLogPage />} />`.
 * @public
 */
export const AuditLogPage = auditLogPlugin.provide(
  createRoutableExtension({
    name: 'AuditLogPage',
    component: () =>
      import('./components/AuditLogPage').then(m => m.AuditLogPage),
    mountPoint: rootRouteRef,
  }),
);
