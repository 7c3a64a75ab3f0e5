import { mockServices } from '@backstage/backend-test-utils';
import { startFakeModelServer } from '../__testUtils__/fakeModelServer';
import { BuiltinProvider } from './builtin/BuiltinProvider';
import { OllamaProvider } from './OllamaProvider';
import { OpenAiProvider } from './OpenAiProvider';
import { ProviderChain } from './ProviderChain';

describe('model providers', () => {
  let server: Awaited<ReturnType<typeof startFakeModelServer>>;
  const context = { clusters: ['sim'], namespace: 'shop' };
  const signal = () => new AbortController().signal;
  const answer = {
    plan: {
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
      filter: 'crash-looping',
      name: null,
    },
    explanation: 'Lists crash-looping pods in shop.',
  };

  beforeAll(async () => {
    server = await startFakeModelServer();
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    server.requests.length = 0;
  });

  it('asks Ollama with a JSON schema and no streaming', async () => {
    server.behaviours.ollama = { kind: 'answer', content: answer };
    const provider = new OllamaProvider({
      baseUrl: `${server.url}/`,
      model: 'llama3.1',
    });
    const result = await provider.plan('crashing pods?', context, {
      signal: signal(),
    });
    expect(result).toEqual({
      plan: {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        filter: 'crash-looping',
      },
      explanation: 'Lists crash-looping pods in shop.',
    });
    const [request] = server.requests;
    expect(request.path).toBe('/api/chat');
    expect(request.body.stream).toBe(false);
    expect(request.body.model).toBe('llama3.1');
    expect(request.body.format.required).toEqual(['plan', 'explanation']);
    expect(request.body.messages[1]).toEqual({
      role: 'user',
      content: 'crashing pods?',
    });
    expect(request.body.messages[0].content).toContain('namespace "shop"');
  });

  it('asks an OpenAI-compatible endpoint with response_format and a bearer key', async () => {
    server.behaviours.openai = { kind: 'answer', content: answer };
    const provider = new OpenAiProvider({
      baseUrl: `${server.url}/v1`,
      model: 'gpt-x',
      apiKey: 'sk-test',
    });
    const result = await provider.plan('crashing pods?', context, {
      signal: signal(),
    });
    expect(result.plan.filter).toBe('crash-looping');
    const [request] = server.requests;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe('Bearer sk-test');
    expect(request.body.response_format.type).toBe('json_schema');
    expect(
      request.body.response_format.json_schema.schema.properties.plan,
    ).toBeDefined();
  });

  it('reports HTTP errors with the status', async () => {
    server.behaviours.ollama = { kind: 'status', status: 503 };
    const provider = new OllamaProvider({ baseUrl: server.url, model: 'm' });
    await expect(
      provider.plan('x', context, { signal: signal() }),
    ).rejects.toThrow(/Ollama answered 503/);
  });

  describe('ProviderChain', () => {
    const logger = mockServices.logger.mock();
    const ollama = () =>
      new OllamaProvider({ baseUrl: server.url, model: 'm' });
    const openai = () =>
      new OpenAiProvider({ baseUrl: server.url, model: 'm' });

    it('falls back when the first provider times out', async () => {
      server.behaviours.ollama = { kind: 'hang' };
      server.behaviours.openai = { kind: 'answer', content: answer };
      const chain = new ProviderChain(
        [
          { provider: ollama(), timeoutMs: 150 },
          { provider: openai(), timeoutMs: 2000 },
        ],
        logger,
      );
      const result = await chain.plan('crashing pods?', context);
      expect(result.provider).toBe('openai');
      expect(result.attempts.map(a => a.outcome)).toEqual([
        'timeout',
        'answered',
      ]);
      expect(result.attempts[0].latencyMs).toBeGreaterThanOrEqual(140);
    });

    it('rejects nonsense and answers that are not a valid plan', async () => {
      server.behaviours.ollama = {
        kind: 'text',
        content: 'Sure! Run kubectl get pods, friend.',
      };
      server.behaviours.openai = {
        kind: 'answer',
        content: {
          plan: { verb: 'explode', resource: 'pods' },
          explanation: 'boom',
        },
      };
      const chain = new ProviderChain(
        [
          { provider: ollama(), timeoutMs: 2000 },
          { provider: openai(), timeoutMs: 2000 },
          { provider: new BuiltinProvider(), timeoutMs: 1000 },
        ],
        logger,
      );
      const result = await chain.plan(
        'which pods are crash looping in shop',
        context,
      );
      expect(result.provider).toBe('builtin');
      expect(result.attempts.map(a => a.outcome)).toEqual([
        'error',
        'invalid',
        'answered',
      ]);
      expect(result.attempts[0].error).toMatch(/did not answer with JSON/);
      expect(result.attempts[1].error).toMatch(/plan.verb/);
      expect(result.answer.plan).toEqual({
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        filter: 'crash-looping',
      });
    });

    it('drops what a model claims about safety', async () => {
      server.behaviours.ollama = {
        kind: 'answer',
        content: {
          plan: {
            verb: 'delete',
            resource: 'pods',
            name: 'web-0',
            namespace: 'shop',
          },
          explanation: 'Harmless cleanup.',
          safety: 'safe',
        },
      };
      const chain = new ProviderChain(
        [{ provider: ollama(), timeoutMs: 2000 }],
        logger,
      );
      const result = await chain.plan('clean up web-0', context);
      expect(result.answer).toEqual({
        plan: {
          verb: 'delete',
          resource: 'pods',
          name: 'web-0',
          namespace: 'shop',
        },
        explanation: 'Harmless cleanup.',
      });
    });

    it('fails with every attempt when no provider answers', async () => {
      server.behaviours.ollama = { kind: 'status', status: 500 };
      const chain = new ProviderChain(
        [{ provider: ollama(), timeoutMs: 2000 }],
        logger,
      );
      await expect(chain.plan('x', context)).rejects.toThrow(
        /ollama: Ollama answered 500/,
      );
    });
  });
});
