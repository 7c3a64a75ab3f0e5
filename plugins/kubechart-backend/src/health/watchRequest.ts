import { ApiException, KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';

/**
 * Starts a watch request. `event` gets each line of the stream (`type`, `object`); `done` is called
 * once, when the stream ends (null: the server ended it cleanly) or fails (an answer other than 200,
 * a broken connection, a line that is not a watch event or is longer than {@link MAX_WATCH_LINE_BYTES},
 * the signal aborting it). The promise settles once the request is sent, not when it is answered; it
 * rejects only when the request could not be prepared (credentials of the kubeconfig), and then
 * `done` is not called.
 */
export type WatchRequest = (
  path: string,
  query: Record<string, string>,
  event: (type: string, object: any) => void,
  done: (err: unknown) => void,
  signal: AbortSignal,
) => Promise<void>;

/**
 * The longest line (one watch event) a watch may send: 16 MiB. An object etcd stores is at most
 * 1.5 MiB by default; a longer line is refused, not held in memory while it grows.
 */
export const MAX_WATCH_LINE_BYTES = 16 * 1024 * 1024;

/** How long a connection may be idle before TCP keep-alive probes it (as client-node's Watch). */
const KEEP_ALIVE_MS = 30_000;

/**
 * Watch requests to the kubeconfig's current cluster, with what its own requests carry (server, CA,
 * client certificate, token or exec/OIDC credentials, impersonation, proxy), each ended by its
 * `signal` whether or not it was answered. client-node's `Watch` hands out its abort controller only
 * once the response headers came: a request never answered could not be ended, and kept its
 * connection open for good.
 */
export function makeWatchRequest(kubeConfig: KubeConfig): {
  watch: WatchRequest;
} {
  const watch: WatchRequest = async (path, query, event, done, signal) => {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('The kubeconfig has no current cluster');
    const options: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    // An agent of this request only (applyToHTTPSOptions makes one each time): ended with it.
    const agent = options.agent as http.Agent | undefined;
    const state: { request?: http.ClientRequest; ended: boolean } = {
      ended: false,
    };
    // Ends the listening to `signal` once the request ended.
    const listening = new AbortController();
    const end = (err: unknown) => {
      if (state.ended) return;
      state.ended = true;
      listening.abort();
      state.request?.destroy();
      agent?.destroy();
      done(err);
    };
    const onAbort = () =>
      end(
        Object.assign(new Error(`the watch of ${path} was aborted`), {
          name: 'AbortError',
        }),
      );
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { signal: listening.signal });
    const params = new URLSearchParams({ ...query, watch: 'true' });
    const url = `${cluster.server.replace(/\/+$/, '')}${path}?${params}`;
    const sent = (url.startsWith('http:') ? http : https).get(
      url,
      {
        ...options,
        headers: { ...options.headers, Accept: 'application/json' },
      },
      response => {
        if (response.statusCode !== 200) {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // Not a Status object: the text is the body.
            }
            end(
              new ApiException(
                response.statusCode ?? 0,
                `watch ${path} answered ${response.statusCode}`,
                body,
                response.headers as Record<string, string>,
              ),
            );
          });
          response.on('error', end);
          return;
        }
        // Bytes, not text: a newline (0x0a) is never part of a multi-byte UTF-8 character. Only each
        // new chunk is searched for it; the pieces of a line are joined once it is whole.
        const pieces: Buffer[] = [];
        let pending = 0;
        const eventOf = (line: string) => {
          if (!line) return;
          let parsed: any;
          try {
            parsed = JSON.parse(line);
          } catch {
            parsed = undefined;
          }
          if (typeof parsed?.type !== 'string') {
            // What is not a watch event cannot be followed: the stream is given up.
            end(
              new Error(
                `the watch of ${path} sent a line that is not an event`,
              ),
            );
            return;
          }
          event(parsed.type, parsed.object);
        };
        response.on('data', (chunk: Buffer) => {
          let from = 0;
          while (!state.ended) {
            const newline = chunk.indexOf(0x0a, from);
            const to = newline < 0 ? chunk.length : newline;
            if (pending + to - from > MAX_WATCH_LINE_BYTES) {
              end(
                new Error(
                  `the watch of ${path} sent a line of more than ${
                    MAX_WATCH_LINE_BYTES / 1024 / 1024
                  } MiB without its end: the watch was given up`,
                ),
              );
              return;
            }
            if (newline < 0) {
              if (to > from) {
                pieces.push(chunk.subarray(from));
                pending += to - from;
              }
              return;
            }
            pieces.push(chunk.subarray(from, newline));
            const line = Buffer.concat(pieces, pending + newline - from)
              .toString('utf8')
              .trim();
            pieces.length = 0;
            pending = 0;
            from = newline + 1;
            eventOf(line);
          }
        });
        response.on('error', end);
        response.on('end', () => {
          if (Buffer.concat(pieces, pending).toString('utf8').trim())
            end(new Error(`the watch of ${path} ended inside an event`));
          else end(null);
        });
        // A stream cut short (the connection reset before the last chunk) is never a clean end.
        response.on('close', () => {
          if (!response.complete)
            end(
              Object.assign(new Error(`the watch of ${path} was cut off`), {
                code: 'ECONNRESET',
              }),
            );
        });
      },
    );
    state.request = sent;
    sent.on('socket', socket => socket.setKeepAlive(true, KEEP_ALIVE_MS));
    sent.on('error', end);
  };
  return { watch };
}
