import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import type { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';
import { registerKubechartActions } from './kubechartActions';

const BOB = 'user:default/bob';

/** KubeChart's actions over a runs service that records what it was asked, with `config`. */
function actions(config: object = {}) {
  const registered = new Map<string, any>();
  const actionsRegistry = {
    register: (a: any) => registered.set(a.name, a),
  } as unknown as ActionsRegistryService;
  const created: unknown[] = [];
  const runs = {
    createRun: async (request: unknown) => {
      created.push(request);
      return { id: 'r1', status: 'pending' };
    },
    listRuns: async () => ({ items: [] }),
  } as unknown as KubechartRunsService;
  registerKubechartActions({
    actionsRegistry,
    runs,
    config: mockServices.rootConfig({ data: config }),
  });
  const logger = mockServices.logger.mock();
  const invoke = (name: string, input: object, actor?: string) =>
    registered.get(name).action({
      input,
      credentials: mockCredentials.user(
        BOB,
        actor ? ({ actor: { subject: actor } } as any) : undefined,
      ),
      logger,
    });
  return { invoke, created, logger };
}

const TENANT = { cluster: 'dev', tenant: 'bob-made', releases: [] };

describe("kubechart's actions and the plugin that passed the caller's credentials on", () => {
  it('refuses a plugin not in kubechart.onBehalfOf.relayingPlugins before anything is asked of kubechart', async () => {
    const { invoke, created } = actions();
    for (const name of ['provision-tenant', 'list-runs']) {
      await expect(invoke(name, TENANT, 'plugin:catalog')).rejects.toThrow(
        `plugin:catalog may not act on behalf of ${BOB}: a user's credentials are accepted when passed on only from the plugins listed in kubechart.onBehalfOf.relayingPlugins; nothing was done. ${BOB} calls kubechart with their own token`,
      );
    }
    expect(created).toEqual([]);
  });

  it('runs for the MCP actions backend and the scaffolder, and logs which of them relayed the call', async () => {
    const { invoke, created, logger } = actions();
    for (const plugin of ['plugin:mcp-actions', 'plugin:scaffolder']) {
      await expect(
        invoke('provision-tenant', TENANT, plugin),
      ).resolves.toMatchObject({ output: { runId: 'r1' } });
      expect(logger.info).toHaveBeenLastCalledWith(
        `kubechart:provision-tenant invoked for ${BOB}, relayed by ${plugin}`,
        { action: 'kubechart:provision-tenant', actor: BOB, relayedBy: plugin },
      );
    }
    expect(created).toHaveLength(2);
    // The user's own token: nothing to name.
    logger.info.mockClear();
    await invoke('provision-tenant', TENANT);
    expect(logger.info).not.toHaveBeenCalled();
    expect(created).toHaveLength(3);
  });

  it('follows the configured list', async () => {
    const { invoke, created } = actions({
      kubechart: { onBehalfOf: { relayingPlugins: ['plugin:portal-bff'] } },
    });
    await expect(
      invoke('provision-tenant', TENANT, 'plugin:portal-bff'),
    ).resolves.toMatchObject({ output: { runId: 'r1' } });
    await expect(
      invoke('provision-tenant', TENANT, 'plugin:mcp-actions'),
    ).rejects.toThrow('plugin:mcp-actions may not act on behalf of');
    expect(created).toHaveLength(1);
  });
});
