import {
  ApiException,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
} from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { parseList } from './parseList';

/** A list page that sends nothing for this long fails (the informer reports it and starts again later). */
const PAGE_TIMEOUT_MS = 60_000;

let parsing: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` (parsing a list page) in a turn of the event loop of its own, one at a time across the
 * process: when the pages of many informers of many clusters arrive together, each is parsed after
 * the one before in a later turn, with timers and requests served between them, instead of all in one
 * poll phase. Only the parsing waits its turn; requests to the clusters are not held back (a cluster
 * that does not answer must not hold the lists of the others).
 */
export function inParseTurn<R>(work: () => R): Promise<R> {
  const turn = parsing.then(
    () =>
      new Promise<R>((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(work());
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
) => Promise<KubernetesListObject<T> & { mappedBy?: (item: T) => T }>;

/**
 * Reads list pages of one cluster as plain JSON, without client-node's generated API classes (whose
 * ObjectSerializer copied every object of every page, a large part of a relist's work). Requests
 * carry what the kubeconfig's own requests carry (server, CA, client certificate, token or exec/OIDC
 * credentials, impersonation), read afresh for each page, and go over one kept-alive agent per cluster
 * (one TLS handshake, not one per page) unless the cluster is reached through a proxy. A page is
 * parsed in a turn of its own ({@link inParseTurn}), item by item, each item passed through the `map`
 * `listInPages` gives (the informer's trim) as soon as it is parsed ({@link parseList}): a page of
 * whole objects is never alive at once, and none is kept past the turn. An answer other than 200
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
      return inParseTurn(() => {
        const answer = parseList(body, map);
        const { continue: next, ...metadata } = answer.metadata ?? {};
        return {
          metadata: { ...metadata, _continue: next || undefined },
          items: answer.items,
          mappedBy: map,
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
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
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
