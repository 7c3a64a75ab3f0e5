import {
  ApiBlueprint,
  PageBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { Content } from '@backstage/core-components';
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
    // Under the app's standard page header, like every other page of the app;
    // AuditLogPage, with a header of its own, is for legacy apps.
    loader: () =>
      import('./components/AuditLogPage').then(m => (
        <Content>
          <m.AuditLogContent />
        </Content>
      )),
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
