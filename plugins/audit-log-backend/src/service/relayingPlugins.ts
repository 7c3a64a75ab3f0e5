import {
  LoggerService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import {
  readRelayingPlugins,
  RelayingPluginsPolicy,
  warnWhenOwnActorLeftOut,
} from '@kubechart/plugin-audit-log-common';

/** The setting that lists the plugins that may pass a user's credentials on to the audit log. */
export const RELAYING_PLUGINS_SETTING = 'auditLog.onBehalfOf.relayingPlugins';

/** The plugin the `query-audit-events` action reads the REST API as, with the user's credentials. */
export const AUDIT_LOG_PLUGIN = 'plugin:audit-log';

/**
 * The plugins that pass a user's credentials on to the audit log unless
 * `auditLog.onBehalfOf.relayingPlugins` says otherwise: Backstage's MCP actions backend and the
 * scaffolder (a template step), which invoke the `query-audit-events` action for their user, and the
 * audit log itself, whose action reads `GET /events` with those credentials.
 */
export const DEFAULT_RELAYING_PLUGINS: string[] = [
  'plugin:scaffolder',
  AUDIT_LOG_PLUGIN,
  'plugin:mcp-actions',
];

/** The plugins allowed by default, as the REST API and the action check them. */
export const DEFAULT_RELAYING_POLICY: RelayingPluginsPolicy = {
  plugins: DEFAULT_RELAYING_PLUGINS,
  setting: RELAYING_PLUGINS_SETTING,
  target: 'audit-log',
};

/**
 * Reads `auditLog.onBehalfOf.relayingPlugins`; an entry that is not `plugin:<plugin id>` stops the
 * backend. A list without the audit log itself turns its action off for every user: that is logged.
 */
export function readRelayingPolicy(
  config: RootConfigService,
  logger: LoggerService,
): RelayingPluginsPolicy {
  const plugins = readRelayingPlugins(
    config,
    RELAYING_PLUGINS_SETTING,
    DEFAULT_RELAYING_PLUGINS,
  );
  warnWhenOwnActorLeftOut(logger, plugins, {
    setting: RELAYING_PLUGINS_SETTING,
    actor: AUDIT_LOG_PLUGIN,
    refused: 'the audit-log:query-audit-events action',
    calls: 'it reads the audit log REST API',
    offers: 'the action',
  });
  return { ...DEFAULT_RELAYING_POLICY, plugins };
}
