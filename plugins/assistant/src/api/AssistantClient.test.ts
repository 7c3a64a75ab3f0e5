import { errorMessage } from '../lib/errorMessage';
import { AssistantClient } from './AssistantClient';

describe('AssistantClient', () => {
  const discoveryApi = {
    getBaseUrl: jest.fn(async (id: string) => `http://backstage/api/${id}`),
  };

  it('posts questions as JSON to the kube-assistant backend', async () => {
    const fetch = jest.fn(
      async () =>
        new Response(JSON.stringify({ messageId: 'm1' }), {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
        }),
    );
    const client = new AssistantClient({ discoveryApi, fetchApi: { fetch } });
    await expect(client.ask({ question: 'list pods' })).resolves.toEqual({
      messageId: 'm1',
    });
    expect(fetch).toHaveBeenCalledWith(
      'http://backstage/api/kube-assistant/ask',
      expect.objectContaining({
        method: 'POST',
        body: JSON.stringify({ question: 'list pods' }),
      }),
    );
  });

  it('reads a conversation a page at a time', async () => {
    const fetch = jest.fn(
      async (_input: RequestInfo | URL) =>
        new Response(JSON.stringify({ id: 'c1', messages: [] }), {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
        }),
    );
    const client = new AssistantClient({ discoveryApi, fetchApi: { fetch } });
    const id = '11111111-1111-4111-8111-111111111111';
    const before = '22222222-2222-4222-8222-222222222222';
    await client.getConversation(id);
    await client.getConversation(id, { limit: 50, before });
    expect(fetch.mock.calls.map(([url]) => url)).toEqual([
      `http://backstage/api/kube-assistant/conversations/${id}`,
      `http://backstage/api/kube-assistant/conversations/${id}?limit=50&before=${before}`,
    ]);
  });

  it('throws the backend error message', async () => {
    const fetch = jest.fn(
      async () =>
        new Response(
          JSON.stringify({
            error: {
              name: 'NotAllowedError',
              message: 'Dangerous commands are turned off',
            },
            response: { statusCode: 403 },
          }),
          {
            status: 403,
            statusText: 'Forbidden',
            headers: { 'Content-Type': 'application/json' },
          },
        ),
    );
    const client = new AssistantClient({ discoveryApi, fetchApi: { fetch } });
    const error = await client
      .execute({ messageId: '00000000-0000-4000-8000-000000000000' })
      .catch(e => e);
    expect(error.name).toBe('ResponseError');
    expect(errorMessage(error)).toBe('Dangerous commands are turned off');
  });
});
