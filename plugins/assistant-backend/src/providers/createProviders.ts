import { Config } from '@backstage/config';
import { AssistantProvider } from '@kubechart/plugin-assistant-node';
import { BuiltinProvider } from './builtin/BuiltinProvider';
import { OllamaProvider } from './OllamaProvider';
import { OpenAiProvider } from './OpenAiProvider';
import { ProviderEntry } from './ProviderChain';

const DEFAULT_TIMEOUT_MS = 10_000;
const BUILTIN_TIMEOUT_MS = 1_000;

/**
 * Builds the provider order from `kubeAssistant.providers`. Providers added
 * through the extension point and not listed there come last.
 */
export function createProviderEntries(
  config: Config,
  extra: AssistantProvider[],
): ProviderEntry[] {
  const configured = config.getOptionalConfigArray('kubeAssistant.providers');
  const byId = new Map<string, AssistantProvider>(extra.map(p => [p.id, p]));
  const entries: ProviderEntry[] = [];
  if (!configured) {
    entries.push({
      provider: new BuiltinProvider(),
      timeoutMs: BUILTIN_TIMEOUT_MS,
    });
  } else {
    for (const c of configured) {
      const id = c.getString('id');
      const timeoutMs = c.getOptionalNumber('timeoutMs');
      let provider: AssistantProvider | undefined = byId.get(id);
      if (!provider) {
        if (id === 'builtin') provider = new BuiltinProvider();
        else if (id === 'ollama') {
          provider = new OllamaProvider({
            baseUrl: c.getString('baseUrl'),
            model: c.getString('model'),
          });
        } else if (id === 'openai') {
          provider = new OpenAiProvider({
            baseUrl: c.getString('baseUrl'),
            model: c.getString('model'),
            apiKey: c.getOptionalString('apiKey'),
          });
        } else {
          throw new Error(
            `kubeAssistant.providers: no provider "${id}" (built in: builtin, ollama, openai; others come from modules)`,
          );
        }
      }
      entries.push({
        provider,
        timeoutMs:
          timeoutMs ??
          (id === 'builtin' ? BUILTIN_TIMEOUT_MS : DEFAULT_TIMEOUT_MS),
      });
    }
  }
  const listed = new Set(entries.map(e => e.provider.id));
  for (const provider of extra) {
    if (!listed.has(provider.id)) {
      entries.push({ provider, timeoutMs: DEFAULT_TIMEOUT_MS });
      listed.add(provider.id);
    }
  }
  return entries;
}
