import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  /** The parsed body when it is JSON. */
  body: any;
  /** The response headers (repeated headers such as `Warning` as arrays). */
  headers: http.IncomingHttpHeaders;
  /** Each `Warning` header, in order (Node joins repeated headers in `headers`). */
  warnings: string[];
}

/**
 * Sends one request with the kubeconfig's credentials and TLS settings plus extra headers
 * (e.g. `Impersonate-User`), and returns the raw answer. Header values may repeat (arrays).
 */
export async function rawRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  opts: {
    headers?: Record<string, string | string[]>;
    body?: unknown;
    contentType?: string;
  } = {},
): Promise<RawResponse> {
  const server = kc.getCurrentCluster()!.server;
  const url = new URL(path, server);
  const reqOpts: https.RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    headers: { Accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(reqOpts);
  // Over plain HTTP (kube-sim without TLS) the TLS agent client-node adds does not apply.
  if (url.protocol === 'http:') delete reqOpts.agent;
  const headers = reqOpts.headers as Record<string, any>;
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k] = v;
  let payload: string | undefined;
  if (opts.body !== undefined) {
    payload =
      typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = opts.contentType ?? 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(reqOpts, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = String(res.headers['content-type'] ?? '');
        let body: any;
        if (contentType.includes('json')) {
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
        }
        resolve({
          status: res.statusCode ?? 0,
          contentType,
          text,
          body,
          headers: res.headers,
          warnings: res.rawHeaders.filter(
            (_, i) =>
              i % 2 === 1 && res.rawHeaders[i - 1].toLowerCase() === 'warning',
          ),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A kubeconfig for the same cluster with another bearer token (or none: anonymous). */
export function withToken(kc: KubeConfig, token?: string): KubeConfig {
  const cluster = kc.getCurrentCluster()!;
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: [token ? { name: 'u', token } : { name: 'u' }],
    contexts: [{ name: 'u', cluster: cluster.name, user: 'u' }],
    currentContext: 'u',
  });
  return out;
}
