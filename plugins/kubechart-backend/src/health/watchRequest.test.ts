import { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { MAX_WATCH_LINE_BYTES, makeWatchRequest } from './watchRequest';

// Tens of MiB go through a local connection on a shared machine.
jest.setTimeout(30_000);

describe('makeWatchRequest', () => {
  let server: http.Server;
  let answer: (res: http.ServerResponse) => void;
  let kubeConfig: KubeConfig;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.on('error', () => undefined);
      answer(res);
    });
    await new Promise<void>(resolve =>
      server.listen(0, '127.0.0.1', () => resolve()),
    );
    const { port } = server.address() as AddressInfo;
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        { name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
      ],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  /** Watches once: the events it gave and how it ended. */
  const watchOnce = () =>
    new Promise<{ events: Array<[string, any]>; err: unknown }>(
      (resolve, reject) => {
        const events: Array<[string, any]> = [];
        makeWatchRequest(kubeConfig)
          .watch(
            '/api/v1/configmaps',
            {},
            (type, object) => events.push([type, object]),
            err => resolve({ events, err }),
            new AbortController().signal,
          )
          .catch(reject);
      },
    );

  /** Writes `text` in pieces of `size` characters, each in its own turn of the event loop. */
  const writeInPieces = async (
    res: http.ServerResponse,
    text: string,
    size: number,
  ) => {
    for (let i = 0; i < text.length && !res.destroyed; i += size) {
      if (!res.write(text.slice(i, i + size)))
        await new Promise(r => res.once('drain', r));
      await new Promise(r => setImmediate(r));
    }
  };

  it('gives each event once, split across chunks or several in one', async () => {
    const event = (name: string) =>
      JSON.stringify({ type: 'ADDED', object: { metadata: { name } } });
    answer = res => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      void (async () => {
        await writeInPieces(res, `${event('a')}\n${event('b')}\n\n`, 7);
        res.end(`${event('c')}\n${event('d')}\n`);
      })();
    };
    const { events, err } = await watchOnce();
    expect(err).toBeNull();
    expect(events.map(([t, o]) => `${t} ${o.metadata.name}`)).toEqual([
      'ADDED a',
      'ADDED b',
      'ADDED c',
      'ADDED d',
    ]);
  });

  it('gives an event of a long line sent in many chunks once, whole', async () => {
    const data = 'x'.repeat(4 * 1024 * 1024);
    const line = `${JSON.stringify({
      type: 'MODIFIED',
      object: { metadata: { name: 'big' }, data: { value: data } },
    })}\n`;
    answer = res => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      void writeInPieces(res, line, 64 * 1024).then(() => res.end());
    };
    const { events, err } = await watchOnce();
    expect(err).toBeNull();
    expect(events).toHaveLength(1);
    expect(events[0][0]).toBe('MODIFIED');
    expect(events[0][1].data.value).toBe(data);
  });

  it('ends a watch whose line grows past the cap with an error, not an event', async () => {
    let written = 0;
    answer = res => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const piece = 'x'.repeat(1024 * 1024);
      void (async () => {
        res.write('{"type":"ADDED","object":{"data":"');
        // More than the cap, never a newline: the watch must give up before the line ends.
        for (
          let i = 0;
          i <= MAX_WATCH_LINE_BYTES / piece.length && !res.destroyed;
          i++
        ) {
          await writeInPieces(res, piece, piece.length);
          written += piece.length;
        }
        if (!res.destroyed) res.end('"}}\n');
      })();
    };
    const { events, err } = await watchOnce();
    expect(events).toEqual([]);
    expect(String(err)).toMatch(
      /the watch of \/api\/v1\/configmaps sent a line of more than 16 MiB without its end/,
    );
    expect(written).toBeLessThanOrEqual(MAX_WATCH_LINE_BYTES + 1024 * 1024);
  });
});
