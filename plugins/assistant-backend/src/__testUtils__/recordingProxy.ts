import http from 'node:http';
import { AddressInfo } from 'node:net';

/** A request that changes something, as the proxy saw it. */
export type Sent = { method: string; path: string; body?: any };

/**
 * A plain-HTTP proxy in front of kube-sim that records every request that
 * changes something, so a test can compare what was sent with the plan
 * shown. `refuse`, when set, answers a changing request with a Kubernetes
 * Status of the code it returns instead of forwarding it (a cluster that
 * refuses one object of several). `delay`, when set, holds a changing request
 * for the milliseconds it returns before forwarding it (a slow cluster); `hold`,
 * when set, holds a changing request until the promise it returns resolves (a
 * cluster that answers when the test says); `holdRead`, likewise, a reading (GET) request by its
 * path and query. A held or delayed request is
 * forwarded even if the client has given up meanwhile, as a real API server
 * that already received it would still apply it.
 */
export async function recordingProxy(target: string) {
  const sent: Sent[] = [];
  const faults: {
    refuse?: (request: Sent) => number | undefined;
    delay?: (request: Sent) => number | undefined;
    hold?: (request: Sent) => Promise<void> | undefined;
    holdRead?: (path: string) => Promise<void> | undefined;
  } = {};
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', target);
      let wait = 0;
      let held: Promise<void> | undefined;
      if (req.method !== 'GET') {
        let body: unknown;
        try {
          body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
        } catch {
          body = raw.toString('utf8');
        }
        const request = { method: req.method!, path: url.pathname, body };
        sent.push(request);
        const code = faults.refuse?.(request);
        if (code) {
          res.writeHead(code, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              code,
              message: `refused by the test proxy: ${url.pathname}`,
            }),
          );
          return;
        }
        wait = faults.delay?.(request) ?? 0;
        held = faults.hold?.(request);
      } else held = faults.holdRead?.(`${url.pathname}${url.search}`);
      const forward = () => {
        const upstream = http.request(
          url,
          { method: req.method, headers: req.headers },
          up => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => {
          res.writeHead(502);
          res.end();
        });
        upstream.end(raw);
      };
      if (held) held.then(forward);
      else if (wait > 0) setTimeout(forward, wait);
      else forward();
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    get refuse() {
      return faults.refuse;
    },
    set refuse(refuse: ((request: Sent) => number | undefined) | undefined) {
      faults.refuse = refuse;
    },
    get delay() {
      return faults.delay;
    },
    set delay(delay: ((request: Sent) => number | undefined) | undefined) {
      faults.delay = delay;
    },
    get hold() {
      return faults.hold;
    },
    set hold(hold: ((request: Sent) => Promise<void> | undefined) | undefined) {
      faults.hold = hold;
    },
    get holdRead() {
      return faults.holdRead;
    },
    set holdRead(
      holdRead: ((path: string) => Promise<void> | undefined) | undefined,
    ) {
      faults.holdRead = holdRead;
    },
    close: () => {
      // A held read's connection stays open until it is answered: close it too.
      server.closeAllConnections();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
