import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { PlanResource } from '@kubechart/plugin-assistant-common';
import http from 'node:http';
import https from 'node:https';
import { RESOURCE_TYPES } from './resources';

/**
 * Reads from a cluster within a byte bound: each answer is given up as soon as it passes the bytes
 * it may take (never held whole), and is parsed in a turn of the event loop of its own. The
 * assistant's name look-up and every read a plan makes go through here, so no answer of the cluster,
 * however large its objects, is read or parsed in one stretch past what the caller allowed.
 */

/** An answer longer than the request allowed: given up, not read to its end. */
export class AnswerTooLong extends Error {
  constructor(
    message: string,
    /** The bytes received before it was given up. */
    readonly received: number,
  ) {
    super(message);
  }
}

/** How long one request may take before it is given up. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Most bytes of an error answer kept (its Status says why; the rest is not read). */
const MAX_ERROR_BYTES = 64 * 1024;

let parsing: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` (parsing an answer) in a turn of the event loop of its own, one at a time: the
 * answers that arrive together are parsed one after the other in later turns, with timers and
 * other requests served between them, not in one stretch.
 */
export function inTurn<R>(work: () => R): Promise<R> {
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

/** The API path of a kind's objects (in `namespace` when given), or of the one called `name`. */
export function resourcePath(
  resource: PlanResource,
  namespace?: string,
  name?: string,
): string {
  const { apiVersion } = RESOURCE_TYPES[resource];
  return [
    apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`,
    namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '',
    `/${resource}`,
    name ? `/${encodeURIComponent(name)}` : '',
  ].join('');
}

/** What {@link getJson} read: the parsed answer and its size. */
export type JsonAnswer = { body: unknown; bytes: number };

/**
 * GETs `path` from the kubeconfig's current cluster with what its own requests carry (server, CA,
 * client certificate, token or exec/OIDC credentials, impersonation, proxy) and parses the answer
 * as JSON in a turn of its own. An answer longer than `maxBytes` is given up as soon as it passes
 * that ({@link AnswerTooLong}). An answer other than 200 is an `ApiException` with the status and
 * the answer's body (its Status, when it is JSON), as client-node's own requests fail. Aborting
 * `signal` gives the request up. `onChunk` is told the bytes of each part of a 200 answer before it
 * is kept: an error it throws gives the answer up, and is what this fails with.
 */
export async function getJson(
  kc: KubeConfig,
  path: string,
  options: {
    accept?: string;
    maxBytes: number;
    signal?: AbortSignal;
    onChunk?: (bytes: number) => void;
  },
): Promise<JsonAnswer> {
  const { accept = 'application/json', maxBytes, signal, onChunk } = options;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('The kubeconfig has no current cluster');
  signal?.throwIfAborted();
  const requestOptions: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(requestOptions);
  // An agent of this request only (applyToHTTPSOptions makes one each time): ended with it.
  const agent = requestOptions.agent as http.Agent | undefined;
  const url = `${cluster.server.replace(/\/+$/, '')}${path}`;
  let onAbort: (() => void) | undefined;
  try {
    const answer = await new Promise<{ status: number; body: Buffer }>(
      (resolve, reject) => {
        const request = (url.startsWith('http:') ? http : https).get(
          url,
          {
            ...requestOptions,
            headers: { ...requestOptions.headers, Accept: accept },
          },
          response => {
            const status = response.statusCode ?? 0;
            // An error's Status is small; more than that of it is not read.
            const allowed = status === 200 ? maxBytes : MAX_ERROR_BYTES;
            const tooLong = (received: number) => {
              request.destroy();
              reject(
                new AnswerTooLong(
                  `${path} answered more than ${allowed} bytes: not read`,
                  received,
                ),
              );
            };
            const declared = Number(response.headers['content-length']);
            if (status === 200 && declared > allowed) {
              tooLong(0);
              return;
            }
            const chunks: Buffer[] = [];
            let size = 0;
            response.on('data', (chunk: Buffer) => {
              if (size > allowed) return;
              size += chunk.length;
              if (size <= allowed && status === 200 && onChunk) {
                try {
                  onChunk(chunk.length);
                } catch (error) {
                  // Not kept, nor read further.
                  size = Infinity;
                  request.destroy();
                  reject(error);
                  return;
                }
              }
              if (size <= allowed) chunks.push(chunk);
              else if (status === 200) tooLong(size);
              else {
                // An error answer keeps its first bytes: enough to say why.
                chunks.push(chunk.subarray(0, chunk.length - (size - allowed)));
                request.destroy();
                resolve({ status, body: Buffer.concat(chunks) });
              }
            });
            response.on('end', () =>
              resolve({ status, body: Buffer.concat(chunks) }),
            );
            response.on('error', reject);
            response.on('close', () => {
              if (!response.complete && size <= allowed) {
                reject(new Error(`${path} was cut off`));
              }
            });
          },
        );
        request.setTimeout(REQUEST_TIMEOUT_MS, () =>
          request.destroy(
            new Error(`${path} timed out after ${REQUEST_TIMEOUT_MS / 1000} s`),
          ),
        );
        request.on('error', reject);
        onAbort = () =>
          request.destroy(
            signal?.reason instanceof Error
              ? signal.reason
              : new Error('The request was given up'),
          );
        signal?.addEventListener('abort', onAbort, { once: true });
      },
    );
    if (answer.status !== 200) {
      const text = answer.body.toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // A body that is not JSON is kept as text (a proxy's error page).
      }
      throw new ApiException(
        answer.status,
        'Unsuccessful HTTP Request',
        body,
        {},
      );
    }
    return {
      body: await inTurn(() => JSON.parse(answer.body.toString('utf8'))),
      bytes: answer.body.length,
    };
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    agent?.destroy();
  }
}
