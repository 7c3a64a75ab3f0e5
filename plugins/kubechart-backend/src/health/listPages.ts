import {
  ApiException,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
} from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { parseListInTurns } from './parseList';

/** A list page that sends nothing for this long fails (the informer reports it and starts again later). */
const PAGE_TIMEOUT_MS = 60_000;

/**
 * The most bytes of one list page read: past it the page is given up ({@link PageTooLong}) and asked
 * again for fewer objects (`listInPages`). Any tenant may write objects of 1.5 MB; a page of 100 of
 * them, read whole, held 150 MB at once and parsed for seconds.
 */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** A list page longer than {@link MAX_PAGE_BYTES}, given up as soon as it passed it. */
export class PageTooLong extends Error {
  constructor(
    message: string,
    /** The bytes received before it was given up. */
    readonly received: number,
  ) {
    super(message);
    this.name = 'PageTooLong';
  }
}

let parsing: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` (parsing a list page) in a turn of the event loop of its own, one at a time across the
 * process: when the pages of many informers of many clusters arrive together, each is parsed after
 * the one before in a later turn, with timers and requests served between them, instead of all in one
 * poll phase. Work that lets the event loop run while it parses (a page parsed in turns) holds the
 * next page's parse until it is done. Only the parsing waits its turn; requests to the clusters are
 * not held back (a cluster that does not answer must not hold the lists of the others).
 */
export function inParseTurn<R>(work: () => R | Promise<R>): Promise<R> {
  const turn = parsing.then(
    () =>
      new Promise<R>((resolve, reject) =>
        setImmediate(() => {
          try {
            Promise.resolve(work()).then(resolve, reject);
          } catch (e) {
            reject(e);
          }
        }),
      ),
  );
  parsing = turn.catch(() => undefined);
  return turn;
}

/**
 * One page of a list. Given `map`, the page function may pass each item through it as the item is
 * parsed; it then answers with `mappedBy: map`, and the items are not to be mapped again.
 */
export type ListPage<T extends KubernetesObject> = (
  page: {
    limit: number;
    _continue?: string;
  },
  map?: (item: T) => T,
) => Promise<
  KubernetesListObject<T> & {
    mappedBy?: (item: T) => T;
    /** The bytes of the page as the cluster sent it, when the page function counts them. */
    bytes?: number;
  }
>;

/**
 * Reads list pages of one cluster as plain JSON, without client-node's generated API classes (whose
 * ObjectSerializer copied every object of every page, a large part of a relist's work). Requests
 * carry what the kubeconfig's own requests carry (server, CA, client certificate, token or exec/OIDC
 * credentials, impersonation), read afresh for each page, and go over one kept-alive agent per cluster
 * (one TLS handshake, not one per page) unless the cluster is reached through a proxy. A page is read
 * up to {@link MAX_PAGE_BYTES} (past it, {@link PageTooLong}), then parsed after the pages before it
 * ({@link inParseTurn}), item by item in turns of the event loop, each item passed through the `map`
 * `listInPages` gives (the informer's trim) as soon as it is parsed (`parseListInTurns`): a page of
 * whole objects is never alive at once, none is kept past its parse, and no page is parsed in one
 * long stretch. The answer says how many bytes the page was (`bytes`). An answer other than 200
 * is an `ApiException` with its status (`code` 410 for an expired continue token), as client-node's
 * list calls throw. `close()` ends the kept-alive connections.
 */
export function makeListPages(kubeConfig: KubeConfig) {
  const cluster = kubeConfig.getCurrentCluster();
  const plain = cluster?.server.startsWith('http:');
  // Node's agent keeps a pool of connections per TLS identity (CA, client certificate, key, server
  // name): credentials that change get connections of their own.
  const agent = cluster?.proxyUrl
    ? undefined
    : new (plain ? http.Agent : https.Agent)({ keepAlive: true });
  const list =
    <T extends KubernetesObject>(
      path: string,
      query: Record<string, string> = {},
    ): ListPage<T> =>
    async ({ limit, _continue }, map) => {
      if (!cluster) throw new Error('The kubeconfig has no current cluster');
      const options: https.RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(options);
      const params = new URLSearchParams({
        ...query,
        limit: String(limit),
        ...(_continue ? { continue: _continue } : {}),
      });
      const url = `${cluster.server.replace(/\/+$/, '')}${path}?${params}`;
      const { status, headers, body } = await get(url, {
        ...options,
        agent: agent ?? options.agent,
        headers: { ...options.headers, Accept: 'application/json' },
      });
      if (status !== 200) {
        const text = body.toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not a Status object: the text is the body.
        }
        throw new ApiException(
          status,
          `list ${path} answered ${status}`,
          parsed,
          headers as Record<string, string>,
        );
      }
      return inParseTurn(async () => {
        const answer = await parseListInTurns(body, map);
        const { continue: next, ...metadata } = answer.metadata ?? {};
        return {
          metadata: { ...metadata, _continue: next || undefined },
          items: answer.items,
          mappedBy: map,
          bytes: body.length,
        };
      });
    };
  return { list, close: () => agent?.destroy() };
}

function get(
  url: string,
  options: https.RequestOptions,
): Promise<{
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('http:') ? http : https).get(
      url,
      options,
      response => {
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          if (received > MAX_PAGE_BYTES) return;
          received += chunk.length;
          if (received > MAX_PAGE_BYTES) {
            // Given up at once: what is left of the page is neither read nor kept.
            chunks.length = 0;
            reject(
              new PageTooLong(
                `list page longer than the ${MAX_PAGE_BYTES} bytes read at once`,
                received,
              ),
            );
            request.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', reject);
      },
    );
    request.setTimeout(PAGE_TIMEOUT_MS, () =>
      request.destroy(
        new Error(`list page timed out after ${PAGE_TIMEOUT_MS / 1000} s`),
      ),
    );
    request.on('error', reject);
  });
}
