import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { Plan } from '@kubechart/plugin-assistant-common';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

const PODS = 5;
const CONTAINERS = 40;
const KIB = 1024;

const podsWithManyContainers = Array.from({ length: PODS }, (_, p) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `many-${p}`, namespace: 'shop', labels: { app: 'many' } },
  spec: {
    containers: Array.from({ length: CONTAINERS }, (__, c) => ({
      name: `c${c}`,
      image: 'busybox:1',
    })),
  },
}));

/** One request for a container's log, as the proxy saw it. */
type LogRead = {
  pod: string;
  container: string;
  limitBytes?: number;
  /** Bytes of log the proxy had served before this request. */
  servedBefore: number;
};

/**
 * A plain-HTTP proxy in front of kube-sim that answers every `…/pods/NAME/log` itself, as an API
 * server does for containers that print a lot (`lineBytes` ≥ what is asked: `limitBytes` bytes of
 * log lines) or little (`quietBytes`), and records what each request asked for. What it serves in
 * all is bounded (`SERVED_AT_MOST`) so that a reader without a budget still ends.
 */
async function logProxy(target: string) {
  const SERVED_AT_MOST = 4 * 1024 * KIB;
  const reads: LogRead[] = [];
  const state = { served: 0, quietBytes: undefined as number | undefined };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', target);
    const log = url.pathname.match(/\/namespaces\/[^/]+\/pods\/([^/]+)\/log$/);
    if (req.method === 'GET' && log) {
      const limit = url.searchParams.get('limitBytes');
      const read: LogRead = {
        pod: log[1],
        container: url.searchParams.get('container') ?? '',
        ...(limit === null ? {} : { limitBytes: Number(limit) }),
        servedBefore: state.served,
      };
      reads.push(read);
      const wanted = Math.min(
        state.quietBytes ?? read.limitBytes ?? 1024 * KIB,
        read.limitBytes ?? Infinity,
        SERVED_AT_MOST - state.served,
      );
      const line = `2026-01-01T00:00:00Z INFO ${read.pod}/${read.container} handled a request token=abc123\n`;
      const body = line
        .repeat(Math.ceil(Math.max(wanted, 0) / line.length))
        .slice(0, Math.max(wanted, 0));
      state.served += Buffer.byteLength(body);
      res.writeHead(200, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
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
    req.pipe(upstream);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    reads,
    state,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}

/**
 * One question for logs reads a bounded amount of log, whatever the pods it matches hold: the
 * containers read of each pod are bounded, and so are the bytes asked of the cluster for the whole
 * answer (each read asks for what is left); the answer names what was not read.
 */
describe('PlanExecutor: the log read for one answer is bounded', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof logProxy>>;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });
  const plan: Plan = {
    verb: 'logs',
    resource: 'pods',
    namespace: 'shop',
    labelSelector: 'app=many',
  };
  const run = async () =>
    (await executor.execute(plan, registry.kubeConfig('sim'))) as {
      type: string;
      text: string;
      truncated?: string;
    };
  const asked = () =>
    proxy.reads.reduce((sum, r) => sum + (r.limitBytes ?? Infinity), 0);
  /** Whether each read asked for no more than what was left of 64 KiB once the reads before it were served. */
  const withinBudget = () =>
    proxy.reads.every(
      r =>
        r.limitBytes !== undefined &&
        r.limitBytes > 0 &&
        r.servedBefore + r.limitBytes <= 64 * KIB,
    );

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      objects: podsWithManyContainers as any,
    });
    proxy = await logProxy(sim.url);
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: proxy.url,
        serviceAccountToken: sim.token,
        // The proxy speaks plain HTTP; test only.
        skipTLSVerify: true,
      },
    ]);
  });
  afterAll(async () => {
    await proxy?.close();
    await sim?.stop();
  });
  beforeEach(() => {
    proxy.reads.length = 0;
    proxy.state.served = 0;
    proxy.state.quietBytes = undefined;
  });

  it('asks the cluster for at most 64 KiB in all when the containers print a lot, and names what it did not read', async () => {
    const result = await run();
    expect(result.type).toBe('text');
    // Every read carries limitBytes, and together they ask for no more than the answer shows.
    expect(proxy.reads.every(r => r.limitBytes !== undefined)).toBe(true);
    expect(asked()).toBeLessThanOrEqual(64 * KIB);
    expect(proxy.state.served).toBeLessThanOrEqual(64 * KIB);
    expect(withinBudget()).toBe(true);
    expect(proxy.reads).toEqual([
      { pod: 'many-0', container: 'c0', limitBytes: 64 * KIB, servedBefore: 0 },
    ]);
    // Shown scrubbed, with where the cluster cut it and what was not read.
    expect(result.text).not.toContain('abc123');
    expect(result.text).toContain(
      '<cut by the cluster after 64 KiB: these are the first bytes of the last 200 lines; ask for fewer lines to see the newest>',
    );
    expect(result.text.length).toBeLessThanOrEqual(65 * KIB);
    expect(result.truncated).toBe(
      'Read the logs of 1 of 200 containers (at most 10 of each pod, 64 KiB of log in all); not read: many-0/c1, many-0/c2, many-0/c3, many-0/c4, many-0/c5, many-0/c6, many-0/c7, many-0/c8, many-0/c9, many-0/c10 and 189 more. Ask for one pod, or one container (-c), to read the rest.',
    );
  });

  it('reads at most 10 containers of each pod when they print little, and names the others', async () => {
    proxy.state.quietBytes = 100;
    const result = await run();
    expect(proxy.reads).toHaveLength(PODS * 10);
    expect(new Set(proxy.reads.map(r => r.container))).toEqual(
      new Set(Array.from({ length: 10 }, (_, c) => `c${c}`)),
    );
    expect(withinBudget()).toBe(true);
    expect(proxy.state.served).toBe(PODS * 10 * 100);
    expect(result.text).toContain('==> many-4/c9 <==');
    expect(result.text).not.toContain('many-4/c10');
    expect(result.truncated).toBe(
      'Read the logs of 50 of 200 containers (at most 10 of each pod, 64 KiB of log in all); not read: many-0/c10, many-0/c11, many-0/c12, many-0/c13, many-0/c14, many-0/c15, many-0/c16, many-0/c17, many-0/c18, many-0/c19 and 140 more. Ask for one pod, or one container (-c), to read the rest.',
    );
  });

  it('reads the one container asked for in each pod', async () => {
    proxy.state.quietBytes = 100;
    const result = await executor.execute(
      { ...plan, container: 'c25' },
      registry.kubeConfig('sim'),
    );
    expect(proxy.reads.map(r => `${r.pod}/${r.container}`)).toEqual(
      Array.from({ length: PODS }, (_, p) => `many-${p}/c25`),
    );
    expect(result).not.toHaveProperty('truncated');
  });
});
