import { Config } from '@backstage/config';
import {
  readRelayingPlugins,
  RelayingPluginsPolicy,
} from '@kubechart/plugin-audit-log-common';

/** The setting that lists the plugins that may pass a user's credentials on to the assistant. */
export const RELAYING_PLUGINS_SETTING =
  'kubeAssistant.onBehalfOf.relayingPlugins';

/**
 * The plugins that pass a user's credentials on to the assistant unless
 * `kubeAssistant.onBehalfOf.relayingPlugins` says otherwise: Backstage's MCP actions backend and the
 * scaffolder (a template step), which invoke the `plan-question` action for their user.
 */
export const DEFAULT_RELAYING_PLUGINS: string[] = [
  'plugin:scaffolder',
  'plugin:mcp-actions',
];

/** The plugins allowed by default, as the REST API and the action check them. */
export const DEFAULT_RELAYING_POLICY: RelayingPluginsPolicy = {
  plugins: DEFAULT_RELAYING_PLUGINS,
  setting: RELAYING_PLUGINS_SETTING,
  target: 'kube-assistant',
};

/**
 * Reads `kubeAssistant.onBehalfOf.relayingPlugins`; an entry that is not `plugin:<plugin id>` stops
 * the backend.
 */
export function readRelayingPolicy(config: Config): RelayingPluginsPolicy {
  return {
    ...DEFAULT_RELAYING_POLICY,
    plugins: readRelayingPlugins(
      config,
      RELAYING_PLUGINS_SETTING,
      DEFAULT_RELAYING_PLUGINS,
    ),
  };
}
