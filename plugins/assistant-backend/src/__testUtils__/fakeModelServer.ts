import http from 'node:http';
import { AddressInfo } from 'node:net';

/** What the fake model does with the next requests. */
export type ModelBehaviour =
  | { kind: 'answer'; content: unknown }
  | { kind: 'hang' }
  | { kind: 'text'; content: string }
  | { kind: 'status'; status: number };

export type RecordedRequest = {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
};

/**
 * A local HTTP server speaking Ollama's `/api/chat` and OpenAI's
 * `/v1/chat/completions` wire formats, with scriptable answers.
 */
export async function startFakeModelServer() {
  const behaviours: Record<'ollama' | 'openai', ModelBehaviour> = {
    ollama: { kind: 'status', status: 503 },
    openai: { kind: 'status', status: 503 },
  };
  const requests: RecordedRequest[] = [];
  const hanging = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', chunk => {
      raw += chunk;
    });
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      const paths: Record<string, 'ollama' | 'openai'> = {
        '/api/chat': 'ollama',
        '/v1/chat/completions': 'openai',
      };
      const api = paths[req.url ?? ''];
      if (!api || req.method !== 'POST') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'not found' }));
        return;
      }
      const behaviour = behaviours[api];
      if (behaviour.kind === 'hang') {
        hanging.add(res);
        return;
      }
      if (behaviour.kind === 'status') {
        res.writeHead(behaviour.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'model unavailable' }));
        return;
      }
      const content =
        behaviour.kind === 'text'
          ? behaviour.content
          : JSON.stringify(behaviour.content);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (api === 'ollama') {
        res.end(
          JSON.stringify({
            model: body.model,
            created_at: new Date().toISOString(),
            message: { role: 'assistant', content },
            done_reason: 'stop',
            done: true,
            total_duration: 1234567,
            eval_count: 42,
          }),
        );
      } else {
        res.end(
          JSON.stringify({
            id: 'chatcmpl-test',
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content, refusal: null },
                logprobs: null,
                finish_reason: 'stop',
              },
            ],
            usage: {
              prompt_tokens: 100,
              completion_tokens: 40,
              total_tokens: 140,
            },
          }),
        );
      }
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    behaviours,
    requests,
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    },
  };
}
