import { mockServices } from '@backstage/backend-test-utils';
import { scopedPlanSchema } from '@kubechart/plugin-assistant-common';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { startFakeModelServer } from '../__testUtils__/fakeModelServer';
import { workOfAsync } from '@internal/kube-sim/testUtils';
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

  it('tells the model which plans need a namespace (logs, rollout, scale, patch, exec, a named object), with examples that run as shown', async () => {
    server.behaviours.ollama = { kind: 'answer', content: answer };
    const provider = new OllamaProvider({
      baseUrl: server.url,
      model: 'llama3.1',
    });
    // No namespace in context: the model is told when to use allNamespaces.
    await provider.plan(
      'crashing pods?',
      { clusters: ['sim'] },
      {
        signal: signal(),
      },
    );
    const prompt: string = server.requests[0].body.messages[0].content;
    expect(prompt).toContain(
      '- logs, rollout, scale, patch and exec work in one namespace (kubectl has no --all-namespaces for them), and so does a named object (kubectl rejects a name with --all-namespaces): never set allNamespaces on them; set namespace to the one the question or its context gives. Without one, name the object and leave namespace out (the assistant looks its namespace up), or the plan is refused.',
    );
    expect(prompt).toContain(
      '- Use allNamespaces=true for a list when no namespace is given and none is in context, except for logs and rollout.',
    );
    // Every example is a plan the assistant shows and runs as it is.
    const examples = [...prompt.matchAll(/ -> (\{.*\})$/gm)].map(
      m => JSON.parse(m[1]).plan,
    );
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const plan of examples) {
      expect(scopedPlanSchema.safeParse(plan).error?.issues).toBeUndefined();
    }
  });

  it('tells the model what the builtin parser refuses, and lets it answer without a plan', async () => {
    server.behaviours.ollama = { kind: 'answer', content: answer };
    const provider = new OllamaProvider({
      baseUrl: server.url,
      model: 'llama3.1',
    });
    await provider.plan('crashing pods?', context, { signal: signal() });
    const [request] = server.requests;
    const prompt: string = request.body.messages[0].content;
    for (const refused of [
      '"evict pods in shop"',
      '--dry-run',
      '-o json=x',
      'a dash that only looks like "-"',
      '"not matching app=web"',
      'a JSON body in braces ({...}) and is no patch',
      'asks why about a list without naming a state',
      // Refused by the backend whichever provider plans the change (AssistantService).
      'names a change without asking for it ("was deployment web scaled to 0?"',
      'asks for a change under a condition ("scale deployment web to 3 if needed"',
      'a change only when the question asks for that change in words (delete, scale, rollout restart and undo, label, annotate, cordon, uncordon, drain, exec, patch), spelled out',
      '"who evicted pod web-1?" asks for none',
      '"drian node-1" asks for no drain',
    ]) {
      expect(prompt).toContain(refused);
    }
    expect(prompt).toContain('kubectl logs NAME reads the pod NAME');
    expect(prompt).toContain('App=Web is not app=web');
    // The schema lets a model constrained by it decline: plan null.
    expect(request.body.format.properties.plan.anyOf).toContainEqual({
      type: 'null',
    });
  });

  it('skips a model that declines (plan null), with its reason, and asks the next provider', async () => {
    server.behaviours.ollama = {
      kind: 'answer',
      content: {
        plan: null,
        explanation: 'Evicting pods is no verb the plan has.',
      },
    };
    const chain = new ProviderChain(
      [
        {
          provider: new OllamaProvider({
            baseUrl: server.url,
            model: 'llama3.1',
          }),
          timeoutMs: 2000,
        },
        { provider: new BuiltinProvider(), timeoutMs: 1000 },
      ],
      mockServices.logger.mock(),
    );
    const refused = await chain.plan('evict pods in shop', context).then(
      () => undefined,
      (e: Error & { attempts?: unknown }) => e,
    );
    expect(refused?.name).toBe('PlanRefusedError');
    expect(refused?.attempts).toEqual([
      expect.objectContaining({
        provider: 'ollama',
        outcome: 'error',
        error:
          'the model did not plan the question: Evicting pods is no verb the plan has.',
      }),
      expect.objectContaining({ provider: 'builtin', outcome: 'refused' }),
    ]);
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

    it('keeps credentials in a provider URL out of the log and the attempts (the audit trail)', async () => {
      const warn = mockServices.logger.mock();
      server.behaviours.openai = { kind: 'answer', content: answer };
      // fetch refuses a URL with credentials and names the whole URL in its error.
      const proxied = new OllamaProvider({
        baseUrl: 'http://proxyuser:Pa55-url-P1@127.0.0.1:1',
        model: 'm',
      });
      const chain = new ProviderChain(
        [
          { provider: proxied, timeoutMs: 2000 },
          { provider: openai(), timeoutMs: 2000 },
        ],
        warn,
      );
      const result = await chain.plan('crashing pods?', context);
      expect(result.attempts[0].outcome).toBe('error');
      expect(result.attempts[0].error).toContain('includes credentials');
      const logged = JSON.stringify((warn.warn as jest.Mock).mock.calls);
      expect(logged).toContain('includes credentials');
      expect(JSON.stringify([result.attempts, logged])).not.toContain(
        'Pa55-url-P1',
      );
    });

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

  describe('hostile model answers', () => {
    const logger = mockServices.logger.mock();
    const providers = {
      ollama: () => new OllamaProvider({ baseUrl: server.url, model: 'm' }),
      openai: () => new OpenAiProvider({ baseUrl: server.url, model: 'm' }),
    };
    const spaced = (fenced: boolean, spaces: number) => {
      // A long run of whitespace in the middle: the old closing-fence regex retried it from every space.
      const json = `{"plan": {"verb": "get", "resource": "pods", "namespace": "shop"},${' '.repeat(
        spaces,
      )}"explanation": "Lists pods in shop."}`;
      return fenced ? `\`\`\`json\n${json}\n\`\`\`` : json;
    };

    it.each([
      ['ollama', false],
      ['ollama', true],
      ['openai', false],
      ['openai', true],
    ] as const)(
      'reads a %s answer holding 120 000 spaces (fenced: %s) at once',
      async (id, fenced) => {
        const chain = new ProviderChain(
          [{ provider: providers[id](), timeoutMs: 5000 }],
          logger,
        );
        const read = async (spaces: number) => {
          server.behaviours[id] = {
            kind: 'text',
            content: spaced(fenced, spaces),
          };
          let result: Awaited<ReturnType<ProviderChain['plan']>> | undefined;
          const work = await workOfAsync(async () => {
            result = await chain.plan('pods in shop', context);
          });
          expect(result?.provider).toBe(id);
          expect(result?.answer).toEqual({
            plan: { verb: 'get', resource: 'pods', namespace: 'shop' },
            explanation: 'Lists pods in shop.',
          });
          return work;
        };
        const large = await read(120_000);
        const small = await read(12_000);
        // Counted, not timed (it was 6–8 s of blocked event loop, past any provider timeout): ten
        // times the spaces, about ten times the work; and no regular expression runs over the
        // answer's text, where a backtracking one retries the run of spaces from each of them.
        expect(large.characters / small.characters).toBeLessThan(15);
        expect(large.longestRegexInput).toBeLessThan(12_000);
      },
    );

    it.each([
      '```json\n{}\n```',
      '```JSON {} ```',
      '```\n{}```',
      '  \n{}\n  ',
      '{}\n```',
      '```json{}',
    ])('reads an answer written as %j', async written => {
      server.behaviours.ollama = {
        kind: 'text',
        content: written.replace('{}', JSON.stringify(answer)),
      };
      const result = await providers
        .ollama()
        .plan('crashing pods?', context, { signal: signal() });
      expect(result.plan.filter).toBe('crash-looping');
    });

    it.each(['ollama', 'openai'] as const)(
      'refuses a %s answer over 256 KB and asks the next provider',
      async id => {
        server.behaviours[id] = {
          kind: 'answer',
          content: { ...answer, padding: 'x'.repeat(300_000) },
        };
        const chain = new ProviderChain(
          [
            { provider: providers[id](), timeoutMs: 5000 },
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
          'answered',
        ]);
        expect(result.attempts[0].error).toMatch(
          /answered more than 256 KB; the answer is refused/,
        );
      },
    );

    describe('a model that never stops talking', () => {
      let endless: http.Server;
      let endlessUrl: string;
      let status = 200;
      beforeAll(async () => {
        endless = http.createServer((req, res) => {
          req.resume();
          // Chunked, no Content-Length: whitespace for as long as the client reads.
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.write('{"plan": ');
          const chunk = ' '.repeat(16 * 1024);
          const more = () => {
            while (!res.destroyed && res.write(chunk));
            if (!res.destroyed) res.once('drain', more);
          };
          more();
        });
        await new Promise<void>(r => endless.listen(0, '127.0.0.1', r));
        endlessUrl = `http://127.0.0.1:${
          (endless.address() as AddressInfo).port
        }`;
      });
      afterAll(async () => {
        endless.closeAllConnections();
        await new Promise(r => endless.close(r));
      });

      it.each([
        [200, /answered more than 256 KB; the answer is refused/],
        [503, /answered 503 Service Unavailable: \{"plan": {5}/],
      ])(
        'is cut off after 256 KB when it answers %s, well before its timeout',
        async (code, message) => {
          status = code;
          for (const provider of [
            new OllamaProvider({ baseUrl: endlessUrl, model: 'm' }),
            new OpenAiProvider({ baseUrl: endlessUrl, model: 'm' }),
          ]) {
            const chain = new ProviderChain(
              [
                { provider, timeoutMs: 4000 },
                { provider: new BuiltinProvider(), timeoutMs: 1000 },
              ],
              logger,
            );
            const result = await chain.plan(
              'which pods are crash looping in shop',
              context,
            );
            expect(result.provider).toBe('builtin');
            expect(result.attempts[0].outcome).toBe('error');
            expect(result.attempts[0].error).toMatch(message);
            expect(result.attempts[0].latencyMs).toBeLessThan(3000);
          }
        },
      );
    });
  });
});
