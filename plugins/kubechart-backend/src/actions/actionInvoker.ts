import { AsyncLocalStorage } from 'node:async_hooks';
import { ACTION_INVOKER_HEADER } from '../service/identity';

/** The plugin that invoked the kubechart action under way, when one passed the user's credentials on. */
const invoker = new AsyncLocalStorage<string>();

/**
 * Runs an action's work as invoked by `plugin` (the plugin that passed the user's credentials on to
 * the action, e.g. `plugin:mcp-actions`), or as invoked with the user's own token when undefined.
 */
export function invokedBy<T>(
  plugin: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  return plugin ? invoker.run(plugin, work) : work();
}

/**
 * A fetch for the client kubechart's actions call its REST API with: a call made within
 * {@link invokedBy} names that plugin in `ACTION_INVOKER_HEADER`, so that the REST API checks and
 * audits the call as relayed by it rather than by `plugin:kubechart` (see `withActionRelays`).
 */
export function fetchNamingInvoker(inner?: typeof fetch): typeof fetch {
  return (input, init) => {
    const plugin = invoker.getStore();
    const send = inner ?? fetch;
    if (!plugin) return send(input, init);
    const headers = new Headers(init?.headers);
    headers.set(ACTION_INVOKER_HEADER, plugin);
    return send(input, { ...init, headers });
  };
}
