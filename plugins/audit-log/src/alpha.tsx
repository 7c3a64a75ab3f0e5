import {
  ApiBlueprint,
  PageBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import ListAltIcon from '@material-ui/icons/ListAlt';
import { AuditLogClient, auditLogApiRef } from './api';
import { rootRouteRef } from './routes';

export { auditLogTranslationRef } from './translation';

/** @alpha */
export const auditLogApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: auditLogApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new AuditLogClient({ discoveryApi, fetchApi }),
    }),
});

/** @alpha */
export const auditLogPage = PageBlueprint.make({
  params: {
    path: '/audit-log',
    title: 'Audit log',
    icon: <ListAltIcon />,
    routeRef: rootRouteRef,
    // the standard Backstage Header/Content layout, as on the legacy page,
    // instead of the app's plugin header
    noHeader: true,
    loader: () =>
      import('./components/AuditLogPage').then(m => <m.AuditLogPage />),
  },
});

/**
 * The audit-log plugin for the new frontend system: an API and a page at
 * /audit-log (with a nav item from its title and icon).
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'audit-log',
  title: 'Audit log',
  icon: <ListAltIcon />,
  routes: {
    root: rootRouteRef,
  },
  extensions: [auditLogApi, auditLogPage],
});
