import {
  coreServices,
  createBackendModule,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { startTestBackend } from '@backstage/backend-test-utils';
import { assistantProvidersExtensionPoint } from './extensions';
import { AssistantProvider } from './provider';

describe('assistantProvidersExtensionPoint', () => {
  it('hands providers added by a module to the plugin', async () => {
    const received: AssistantProvider[] = [];
    const answers: unknown[] = [];

    const plugin = createBackendPlugin({
      pluginId: 'kube-assistant',
      register(env) {
        env.registerExtensionPoint(assistantProvidersExtensionPoint, {
          addProvider: (...providers) => received.push(...providers),
        });
        env.registerInit({
          deps: { logger: coreServices.logger },
          async init() {
            for (const provider of received) {
              answers.push(
                await provider.plan(
                  'pods in shop',
                  { clusters: ['local'] },
                  { signal: new AbortController().signal },
                ),
              );
            }
          },
        });
      },
    });

    const module = createBackendModule({
      pluginId: 'kube-assistant',
      moduleId: 'static-provider',
      register(env) {
        env.registerInit({
          deps: { providers: assistantProvidersExtensionPoint },
          async init({ providers }) {
            providers.addProvider({
              id: 'static',
              async plan(_question, context) {
                return {
                  plan: {
                    verb: 'get',
                    resource: 'pods',
                    cluster: context.clusters[0],
                  },
                  explanation: 'Lists pods.',
                };
              },
            });
          },
        });
      },
    });

    const backend = await startTestBackend({ features: [plugin, module] });
    expect(received.map(p => p.id)).toEqual(['static']);
    expect(answers).toEqual([
      {
        plan: { verb: 'get', resource: 'pods', cluster: 'local' },
        explanation: 'Lists pods.',
      },
    ]);
    await backend.stop();
  });
});
