/**
 * The Kubernetes assistant backend: turns questions into kubectl-equivalent
 * plans (builtin parser, Ollama, OpenAI-compatible) and runs them through
 * @kubernetes/client-node with safety checks, audit and history.
 *
 * @packageDocumentation
 */

export { assistantPlugin as default } from './plugin';
export { BuiltinProvider } from './providers/builtin/BuiltinProvider';
export { OllamaProvider } from './providers/OllamaProvider';
export type { OllamaProviderOptions } from './providers/OllamaProvider';
export { OpenAiProvider } from './providers/OpenAiProvider';
export type { OpenAiProviderOptions } from './providers/OpenAiProvider';
