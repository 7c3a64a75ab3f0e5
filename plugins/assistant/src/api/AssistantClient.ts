import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  AskRequest,
  AskResponse,
  Conversation,
  ConversationSummary,
  ExecuteRequest,
  ExecuteResponse,
} from '@kubechart/plugin-assistant-common';
import { AssistantApi } from './AssistantApi';

/**
 * Default {@link AssistantApi}, through the discovery and fetch APIs.
 *
 * @public
 */
export class AssistantClient implements AssistantApi {
  readonly #discoveryApi: DiscoveryApi;
  readonly #fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.#discoveryApi = options.discoveryApi;
    this.#fetchApi = options.fetchApi;
  }

  ask(request: AskRequest): Promise<AskResponse> {
    return this.#request('/ask', { method: 'POST', body: request });
  }

  execute(request: ExecuteRequest): Promise<ExecuteResponse> {
    return this.#request('/execute', { method: 'POST', body: request });
  }

  listConversations(): Promise<{ items: ConversationSummary[] }> {
    return this.#request('/conversations');
  }

  getConversation(
    id: string,
    options: { limit?: number; before?: string } = {},
  ): Promise<Conversation> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.before !== undefined) query.set('before', options.before);
    const search = query.toString();
    return this.#request(
      `/conversations/${encodeURIComponent(id)}${search ? `?${search}` : ''}`,
    );
  }

  async #request<T>(
    path: string,
    options: { method?: string; body?: unknown } = {},
  ): Promise<T> {
    const baseUrl = await this.#discoveryApi.getBaseUrl('kube-assistant');
    const response = await this.#fetchApi.fetch(`${baseUrl}${path}`, {
      method: options.method ?? 'GET',
      ...(options.body !== undefined
        ? {
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(options.body),
          }
        : {}),
    });
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
  }
}
