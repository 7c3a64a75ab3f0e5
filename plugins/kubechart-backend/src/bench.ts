/*
 * Benchmarks of the kubechart backend. Prints figures and ratios only; not a test.
 *   yarn workspace @kubechart/plugin-kubechart-backend bench [health [one|ten|small]|history|diff|manifests|engine|throughput]
 * History needs PostgreSQL: KUBECHART_BENCH_PG (default postgresql://postgres@127.0.0.1:5432); it seeds the
 * database KUBECHART_BENCH_DB (default kubechart_bench), which KUBECHART_BENCH_KEEP=1 keeps and
 * KUBECHART_BENCH_REUSE=1 measures on again without seeding it (nor migrating it).
 */
/* eslint-disable no-console */
import { spawn } from 'node:child_process';
import { ConfigReader } from '@backstage/config';
// The bench is development tooling, like the tests: kube-sim is a dev dependency on purpose.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import {
  ClusterRegistry,
  HelmCli,
  PolicyEngine,
} from '@kubechart/plugin-kubechart-node';
import {
  summarizePolicyReport,
  type ClusterHealth,
} from '@kubechart/plugin-kubechart-common';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  V1Deployment,
  V1Pod,
  setHeaderOptions,
} from '@kubernetes/client-node';
import knexFactory, { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { execFileSync, fork } from 'node:child_process';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import {
  PerformanceObserver,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { DatabaseRunStore } from './database/DatabaseRunStore';
import { RunFilter } from './database/RunStore';
import { RunEngine } from './engine/RunEngine';
import { readEngineSettings } from './engine/settings';
import type { BenchClusterSpec } from './benchClusters';
import { ClusterHealthCache } from './health/ClusterHealthCache';
import { HealthService } from './health/HealthService';
import { runDiff } from './service/runDiff';
// Development tooling, like the tests: the same large manifests as the diff tests.
// eslint-disable-next-line no-restricted-imports
import { chartManifest, largeTenantRuns } from './__testUtils__/largeTenant';
import { makeListPages } from './health/listPages';
import { makeTrimmedInformer, trimPod } from './health/trimmedInformer';

const quiet = () => undefined;
const logger: any = {
  info: quiet,
  warn: quiet,
  error: quiet,
  debug: quiet,
  child: () => logger,
};

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, p50: at(0.5), p95: at(0.95), max: s[s.length - 1] };
}
const ms = (n: number) => `${n.toFixed(2)} ms`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e6, r];
}

function serve(
  handler: (path: string) => Promise<unknown>,
): Promise<{ url: string; close(): void }> {
  const server = http.createServer(async (req, res) => {
    try {
      const body = JSON.stringify(await handler(req.url ?? '/'));
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  return new Promise(r =>
    server.listen(0, '127.0.0.1', () =>
      r({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => server.close(),
      }),
    ),
  );
}

/** Starts one kube-sim cluster in a child process (see benchClusters.ts). */
function startBenchCluster(spec: BenchClusterSpec) {
  const child = fork(
    resolvePackagePath(
      '@kubechart/plugin-kubechart-backend',
      'src/benchClusters.ts',
    ),
    [JSON.stringify([spec])],
    {
      execArgv: [
        '--max-old-space-size=8192',
        '--require',
        require.resolve('@backstage/cli/config/nodeTransform.cjs'),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  process.once('exit', () => child.kill());
  // A real API server runs on machines of its own; here the clusters share the bench's two cores. At
  // the lowest CPU priority they use what the backend leaves, instead of descheduling it mid-request.
  if (child.pid !== undefined)
    os.setPriority(child.pid, os.constants.priority.PRIORITY_LOW);
  return new Promise<{
    cluster: { url: string; token: string; caData?: string };
    expireWatches(): void;
    stop(): Promise<void>;
  }>((resolve, reject) => {
    child.once('exit', code =>
      reject(new Error(`kube-sim process exited (${code})`)),
    );
    const onMessage = (m: any) => {
      if (!m?.ready) return;
      child.off('message', onMessage);
      resolve({
        cluster: m.ready[0],
        expireWatches: () => child.send({ expireWatches: 0 }),
        stop: () =>
          new Promise(r => {
            child.removeAllListeners('exit');
            child.once('exit', () => r());
            child.send({ stop: true });
          }),
      });
    };
    child.on('message', onMessage);
  });
}

/** Starts kube-sim clusters, each in a child process of its own (so they use every core). */
async function startBenchClusters(specs: BenchClusterSpec[]) {
  const started = await Promise.all(specs.map(startBenchCluster));
  return {
    clusters: started.map(s => s.cluster),
    expireWatches: (i: number) => started[i].expireWatches(),
    stop: async () => {
      await Promise.all(started.map(s => s.stop()));
    },
  };
}

const load = () =>
  `load ${os
    .loadavg()
    .map(l => l.toFixed(1))
    .join(' ')}`;
const ratio = (measured: number, target: number) =>
  `ratio ${(measured / target).toFixed(2)}`;

/**
 * Health of big clusters through HealthService (what GET /clusters/:name/health calls), each
 * kube-sim cluster in a child process: heap per cached pod, request latency, watch-to-health and
 * watch-to-signal latency of a pod change, and the longest stall while every informer lists again
 * after its watch expired (410).
 */
async function benchHealthScenario(title: string, specs: BenchClusterSpec[]) {
  const totalPods = specs.reduce(
    (s, c) => s + c.namespaces * c.deployments * c.replicas,
    0,
  );
  const totalDeployments = specs.reduce(
    (s, c) => s + c.namespaces * c.deployments,
    0,
  );
  console.log(
    `health [${title}]: ${specs.length} cluster(s), ${
      specs.map(
        c =>
          `${c.nodes} nodes / ${c.namespaces * c.deployments} deployments / ${
            c.namespaces * c.deployments * c.replicas
          } pods`,
      )[0]
    } each, each cluster a kube-sim API server in a child process of its own at the lowest CPU priority (not on this process's event loop or heap); seeding… (${load()})`,
  );
  const [seedMs, sims] = await timed(async () => {
    const started = await startBenchClusters(specs);
    const names = started.clusters.map((_, i) => `c${i}`);
    const registry = new ClusterRegistry(
      started.clusters.map((c, i) => ({
        name: names[i],
        url: c.url,
        authProvider: 'serviceAccount',
        serviceAccountToken: c.token,
        caData: c.caData,
        skipTLSVerify: false,
      })),
    );
    // Every Deployment rolled out: as many ready replicas as asked for.
    for (const [i, name] of names.entries()) {
      const apps = registry.kubeConfig(name).makeApiClient(AppsV1Api);
      const want = specs[i].namespaces * specs[i].deployments;
      for (;;) {
        // A busy kube-sim may time a request out: ask again.
        const deps = await apps
          .listDeploymentForAllNamespaces()
          .catch(() => ({ items: [] as V1Deployment[] }));
        const ready = deps.items.filter(
          d =>
            d.metadata?.namespace?.startsWith('bench-') &&
            d.status?.readyReplicas === d.spec?.replicas,
        ).length;
        if (ready >= want) break;
        await new Promise(r => setTimeout(r, 3000));
      }
    }
    return { ...started, names, registry };
  });
  const { names, registry } = sims;
  console.log(
    `health [${title}]: ${totalDeployments} deployments with ${totalPods} pods ready after ${(
      seedMs / 1000
    ).toFixed(0)} s (${load()})`,
  );

  // Heap: a trimmed pod informer of the first cluster alone, then every informer of every cluster.
  const kb = (b: number) => `${(b / 1024).toFixed(2)} KB`;
  if (global.gc) {
    const kc = registry.kubeConfig(names[0]);
    const listPages = makeListPages(kc);
    global.gc();
    const before = process.memoryUsage().heapUsed;
    const informer = makeTrimmedInformer<V1Pod>(
      kc,
      '/api/v1/pods',
      listPages.list<V1Pod>('/api/v1/pods'),
      trimPod,
    );
    await informer.start();
    global.gc();
    const perPod =
      (process.memoryUsage().heapUsed - before) / informer.list().length;
    await informer.stop();
    listPages.close();
    console.log(
      `health [${title}]: heap per cached pod (pod informer of one cluster, ${
        informer.list().length
      } pods) ${kb(perPod)}; target < 3 KB, ${ratio(perPod, 3072)} (${load()})`,
    );
  }
  const signals: Array<{ at: number; cluster: string; status: string }> = [];
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const health = new HealthService(registry, logger, {
    onClusterHealthChange: h =>
      signals.push({
        at: performance.now(),
        cluster: h.cluster,
        status: h.status,
      }),
  });
  const [syncMs] = await timed(() =>
    Promise.all(names.map(n => health.whenStarted(n))),
  );
  for (const n of names) {
    const h = await health.clusterHealth(n);
    if (h.status !== 'ok')
      throw new Error(`cluster ${n} is ${h.status}: ${h.message}`);
  }
  if (global.gc) {
    global.gc();
    const perPod = (process.memoryUsage().heapUsed - heapBefore) / totalPods;
    console.log(
      `health [${title}]: informer caches of ${
        names.length
      } cluster(s) synced in ${(syncMs / 1000).toFixed(
        1,
      )} s; whole health cache (nodes, pods, workloads, events) ${kb(
        perPod,
      )} of heap per pod; target < 3 KB, ${ratio(perPod, 3072)} (${load()})`,
    );
  } else {
    console.log(
      `health [${title}]: heap not measured (run node with --expose-gc)`,
    );
  }

  // The time the backend spends on a request (HealthService's answer), apart from the HTTP round trip.
  const handlerMs: number[] = [];
  const server = await serve(async url => {
    const began = performance.now();
    const answer = await health.clusterHealth(url.split('/')[2]);
    handlerMs.push(performance.now() - began);
    return answer;
  });
  // The bench's requests go over kept-alive node:http connections. Node's fetch kept 5-20 KB of every
  // request alive long enough to be promoted: on the heap of the backend under test, the bench's own
  // 400-1,800 requests a second promoted 30-120 MB every 10 s (node:http: 2 MB), garbage no
  // deployment's backend has (its clients are browsers on other machines), which full GCs then
  // collected in the middle of the timed requests.
  const agent = new http.Agent({ keepAlive: true });
  const get = (cluster: string) =>
    new Promise<ClusterHealth>((resolve, reject) => {
      http
        .get(`${server.url}/clusters/${cluster}/health`, { agent }, res => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => {
            try {
              resolve(JSON.parse(body));
            } catch (e) {
              reject(e);
            }
          });
          res.on('error', reject);
        })
        .on('error', reject);
    });
  for (const n of names) await get(n);
  const samples: number[] = [];
  // Each recompute stamps a new observedAt: how many answers were recomputed on the request path.
  const observed = new Set<string>();
  let bytes = 0;
  // Garbage collections while the requests run (the heap holds every cached object of every cluster).
  const gcPauses: number[] = [];
  const gcObserver = new PerformanceObserver(list =>
    gcPauses.push(...list.getEntries().map(e => e.duration)),
  );
  gcObserver.observe({ entryTypes: ['gc'] });
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  handlerMs.length = 0;
  for (let i = 0; i < 500; i++) {
    const [t, h] = await timed(() => get(names[i % names.length]));
    samples.push(t);
    observed.add(`${h.cluster} ${h.observedAt}`);
    bytes = JSON.stringify(h).length;
  }
  loopDelay.disable();
  await new Promise(r => setImmediate(r));
  gcObserver.disconnect();
  const req = stats(samples);
  const gc = stats(gcPauses.length ? gcPauses : [0]);
  const handled = stats(handlerMs);
  console.log(
    `health [${title}]: GET health p50 ${ms(req.p50)}  p95 ${ms(
      req.p95,
    )}  max ${ms(req.max)} (n=${req.n}; ${
      observed.size
    } distinct answers, ${bytes} bytes each; ` +
      `HealthService's own part p50 ${ms(handled.p50)} p95 ${ms(
        handled.p95,
      )} max ${ms(handled.max)}; meanwhile ${
        gcPauses.length
      } GC pauses, max ${ms(gc.max)}, sum ${ms(
        gcPauses.reduce((a, b) => a + b, 0),
      )}; event loop delay max ${ms(
        loopDelay.max / 1e6,
      )}); target p95 < 5 ms, ${ratio(req.p95, 5)} (${load()})`,
  );

  // Tenant health of one namespace (GET /tenants/:code/health): its releases' readiness from the
  // cache, then the whole answer (which also reads the namespace's quota, ingresses and routes).
  const tenant = {
    cluster: names[0],
    code: 'bench-0',
    namespace: 'bench-0',
    status: 'active' as const,
    releases: Array.from(
      { length: specs[0].deployments },
      (_, i) => `app-${i}`,
    ),
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  const readiness = await health.tenantReadiness(tenant);
  if (readiness.status !== 'healthy')
    throw new Error(`tenant bench-0 is ${readiness.status}`);
  for (let i = 0; i < 20; i++) await health.tenantHealth(tenant);
  const readySamples: number[] = [];
  for (let i = 0; i < 500; i++)
    readySamples.push((await timed(() => health.tenantReadiness(tenant)))[0]);
  const tenantReady = stats(readySamples);
  const tenantWhole: number[] = [];
  for (let i = 0; i < 200; i++)
    tenantWhole.push((await timed(() => health.tenantHealth(tenant)))[0]);
  const tw = stats(tenantWhole);
  const podsInNs = specs[0].deployments * specs[0].replicas;
  console.log(
    `health [${title}]: tenant health of one namespace (${
      specs[0].deployments
    } releases, ${podsInNs} of the cluster's ${
      specs[0].namespaces * podsInNs
    } pods): ` +
      `readiness from the cache p50 ${ms(tenantReady.p50)}  p95 ${ms(
        tenantReady.p95,
      )} (n=${
        tenantReady.n
      }); whole answer with quota, ingresses and routes p50 ${ms(
        tw.p50,
      )}  p95 ${ms(tw.p95)} (n=${tw.n}); no target of its own (${load()})`,
  );

  // A pod's containers start crash-looping, then recover: time until the health answer and the
  // signal the health card listens to show it.
  const podsOf = async (cluster: string, namespace = 'bench-0') =>
    (
      await registry
        .kubeConfig(cluster)
        .makeApiClient(CoreV1Api)
        .listNamespacedPod({ namespace, labelSelector: 'app=app-0' })
    ).items;
  const setCrashLoop = async (
    cluster: string,
    pod: V1Pod,
    looping: boolean,
  ) => {
    const statuses = (pod.status?.containerStatuses ?? []).map(c =>
      looping
        ? {
            ...c,
            ready: false,
            restartCount: 1,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: 'back-off 10s restarting failed container',
              },
            },
          }
        : c,
    );
    await registry
      .kubeConfig(cluster)
      .makeApiClient(CoreV1Api)
      .patchNamespacedPodStatus(
        {
          name: pod.metadata!.name!,
          namespace: pod.metadata!.namespace!,
          body: [
            {
              op: 'replace',
              path: '/status/containerStatuses',
              value: statuses,
            },
          ],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
  };
  const shows = (h: ClusterHealth, pod: V1Pod) =>
    h.alerts.some(
      a => a.object === `Pod/${pod.metadata?.name}` && a.type === 'crash-loop',
    );
  const until = async (
    check: () => Promise<boolean> | boolean,
    timeoutMs = 15_000,
  ) => {
    const t0 = performance.now();
    while (!(await check())) {
      if (performance.now() - t0 > timeoutMs) return false;
      await new Promise(r => setImmediate(r));
    }
    return true;
  };
  const toHealth: number[] = [];
  const toSignal: number[] = [];
  for (let round = 0; round < 10; round++) {
    const cluster = names[round % names.length];
    const pod = (await podsOf(cluster))[0];
    for (const looping of [true, false]) {
      await new Promise(r => setTimeout(r, 1100)); // one change per signal interval
      const t0 = performance.now();
      const seen = signals.length;
      await setCrashLoop(cluster, pod, looping);
      const healthOk = await until(
        async () => shows(await get(cluster), pod) === looping,
      );
      toHealth.push(healthOk ? performance.now() - t0 : Infinity);
      const want = looping ? 'degraded' : 'ok';
      const signalOk = await until(() =>
        signals
          .slice(seen)
          .some(s => s.cluster === cluster && s.status === want),
      );
      toSignal.push(
        signalOk
          ? signals
              .slice(seen)
              .find(s => s.cluster === cluster && s.status === want)!.at - t0
          : Infinity,
      );
    }
  }
  const th = stats(toHealth);
  const ts = stats(toSignal);
  console.log(
    `health [${title}]: pod change → health API p50 ${ms(th.p50)}  p95 ${ms(
      th.p95,
    )}  max ${ms(th.max)} (n=${
      th.n
    }, from sending the status patch); target p95 < 1 s, ${ratio(
      th.p95,
      1000,
    )} (${load()})`,
  );
  console.log(
    `health [${title}]: pod change → cluster-health signal p50 ${ms(
      ts.p50,
    )}  p95 ${ms(ts.p95)}  max ${ms(ts.max)} (n=${
      ts.n
    }); target p95 < 1 s, ${ratio(ts.p95, 1000)} (${load()})`,
  );

  // Every watch of every cluster ends with 410 Expired: the informers list again while requests keep
  // coming. A pod change made at once, to a pod of the namespace listed last (lists come in key order),
  // shows when the pod informer has (nearly) relisted, however a list is applied (whole or by page).
  const lastNamespace = Array.from(
    { length: specs[0].namespaces },
    (_, i) => `bench-${i}`,
  )
    .sort()
    .pop();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const during: number[] = [];
  let relisting = true;
  const requests = (async () => {
    for (let i = 0; relisting; i++)
      during.push((await timed(() => get(names[i % names.length])))[0]);
  })();
  await new Promise(r => setTimeout(r, 200));
  delay.enable();
  // The longest gap between turns of the event loop, and the CPU the process used in it: a gap with
  // little CPU is time the process waited for a core (other processes), not work of its own. The
  // process's CPU counts the GC's helper threads too; its main thread's alone is the event loop's own
  // work (GC pauses included), and the most of it between two turns is a floor under the longest stall
  // that holds whatever else runs on the machine.
  const gap = { wall: 0, cpu: 0, main: 0 };
  let mostMainCpu = 0;
  let ticking = true;
  let lastTick = {
    at: performance.now(),
    cpu: process.cpuUsage(),
    main: process.threadCpuUsage(),
  };
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  const tick = () => {
    const now = {
      at: performance.now(),
      cpu: process.cpuUsage(),
      main: process.threadCpuUsage(),
    };
    const mainCpu = cpuMs(now.main) - cpuMs(lastTick.main);
    mostMainCpu = Math.max(mostMainCpu, mainCpu);
    if (now.at - lastTick.at > gap.wall) {
      gap.wall = now.at - lastTick.at;
      gap.cpu = cpuMs(now.cpu) - cpuMs(lastTick.cpu);
      gap.main = mainCpu;
    }
    lastTick = now;
    if (ticking) setTimeout(tick, 1);
  };
  tick();
  const relistGc: number[] = [];
  const relistGcObserver = new PerformanceObserver(list =>
    relistGc.push(...list.getEntries().map(e => e.duration)),
  );
  relistGcObserver.observe({ entryTypes: ['gc'] });
  const pod = (await podsOf(names[0], lastNamespace))[0];
  const t0 = performance.now();
  for (let i = 0; i < names.length; i++) sims.expireWatches(i);
  await setCrashLoop(names[0], pod, true);
  const relisted = await until(
    async () => shows(await get(names[0]), pod),
    120_000,
  );
  const relistMs = performance.now() - t0;
  await new Promise(r => setTimeout(r, 1000));
  relisting = false;
  await requests;
  ticking = false;
  delay.disable();
  await new Promise(r => setImmediate(r));
  relistGcObserver.disconnect();
  const d = stats(during);
  const answers = await Promise.all(names.map(n => get(n)));
  console.log(
    `health [${title}]: relist after 410 Expired on every watch: ${
      relisted
        ? `a pod change made at once showed after ${ms(relistMs)}`
        : 'the change did not show within 120 s'
    }; ` +
      `${d.n} requests meanwhile, p50 ${ms(d.p50)}  p95 ${ms(
        d.p95,
      )}  longest stall ${ms(d.max)}; event loop delay max ${ms(
        delay.max / 1e6,
      )}; longest gap between event-loop turns ${ms(
        gap.wall,
      )} in which the process used ${ms(gap.cpu)} of CPU (its main thread ${ms(
        gap.main,
      )}); most main-thread CPU between two turns ${ms(mostMainCpu)}; ${
        relistGc.length
      } GC pauses meanwhile, max ${ms(Math.max(0, ...relistGc))}, sum ${ms(
        relistGc.reduce((a, b) => a + b, 0),
      )}; ` +
      `answers after: ${answers
        .map(a => a.status)
        .join(',')} (longest stall target < 100 ms, ${ratio(
        d.max,
        100,
      )}; health p95 target 5 ms, ${ratio(d.p95, 5)}) (${load()})`,
  );
  await setCrashLoop(
    names[0],
    (
      await podsOf(names[0], lastNamespace)
    )[0],
    false,
  );
  agent.destroy();
  server.close();
  await health.stop();

  // What one recompute of the first cluster's answer costs: a fresh metrics reading marks the cache
  // changed, and the next answer is computed anew (each stamps a new observedAt).
  const cache = new ClusterHealthCache(
    names[0],
    registry.kubeConfig(names[0]),
    logger,
    { minRecomputeIntervalMs: 0 },
  );
  await cache.start();
  const recomputes: number[] = [];
  let last = cache.health().observedAt;
  for (let i = 0; i < 50; i++) {
    await cache.refreshMetrics();
    await new Promise(r => setTimeout(r, 2));
    const began = performance.now();
    const h = cache.health();
    const took = performance.now() - began;
    if (h.observedAt !== last) recomputes.push(took);
    last = h.observedAt;
  }
  await cache.stop();
  const rc = stats(recomputes.length ? recomputes : [NaN]);
  console.log(
    `health [${title}]: one recompute of cluster ${names[0]}'s answer p50 ${ms(
      rc.p50,
    )}  p95 ${ms(rc.p95)}  max ${ms(rc.max)} (n=${
      rc.n
    }); no target of its own (${load()})`,
  );
  await sims.stop();
}

async function benchHealth() {
  const which = process.argv[3] ?? 'all';
  // One cluster at ten times the size the health cache was first measured at (100 nodes / 5,000 pods).
  if (which === 'all' || which === 'one')
    await benchHealthScenario('one cluster at 10x', [
      { nodes: 1000, namespaces: 50, deployments: 100, replicas: 10 },
    ]);
  // Ten clusters of that first size at once.
  if (which === 'all' || which === 'ten')
    await benchHealthScenario(
      '10 clusters',
      Array.from({ length: 10 }, () => ({
        nodes: 100,
        namespaces: 10,
        deployments: 50,
        replicas: 10,
      })),
    );
  // The first size, one cluster (for comparison with earlier figures).
  if (which === 'small')
    await benchHealthScenario('one cluster at 1x', [
      { nodes: 100, namespaces: 10, deployments: 50, replicas: 10 },
    ]);
}

const HISTORY_ENTITIES = 10_000;
const HISTORY_DAY = 86_400_000;

/**
 * Seeds KUBECHART_BENCH_RUNS (default 1,000,000) runs over 10,000 entities in one scratch database,
 * in SQL (generate_series), with a skewed spread: a few entities hold thousands of runs, most a few
 * dozen; each entity's runs come from its team's five people or the CI bot; 88 % succeed, 10 % fail,
 * the rest are pending, running or waiting for approval; created over the last 365 days. Every run
 * stores a gzip-compressed three-object manifest, as the engine writes it.
 */
async function seedHistory(knex: Knex, runs: number, now: number) {
  const rendered = chartManifest('web', 'team-a', '1.4.2');
  const manifest = gzipSync(Buffer.from(rendered, 'utf8'));
  // The report the chart policy gives that manifest, on every run but rollbacks (as the engine records it).
  const report = new PolicyEngine().checkYaml(rendered);
  const summary = summarizePolicyReport(report);
  const chunk = 100_000;
  for (let from = 1; from <= runs; from += chunk) {
    const to = Math.min(runs, from + chunk - 1);
    await knex.raw(
      `INSERT INTO kubechart_runs (id, kind, status, entity_ref, actor, cluster, namespace, release, input, "values",
         manifest_gz, policy_report, policy_summary, transitions, created_at, started_at, finished_at, heartbeat_at)
       SELECT md5(g::text || 'run')::uuid::text,
         (ARRAY['chart','chart','chart','chart','chart','chart','tenant','tenant','manifests','rollback'])[1 + (g % 10)],
         CASE WHEN r.s < 0.88 THEN 'succeeded' WHEN r.s < 0.98 THEN 'failed' WHEN r.s < 0.99 THEN 'awaiting-approval'
              WHEN r.s < 0.995 THEN 'running' ELSE 'pending' END,
         'component:default/service-' || r.e,
         CASE WHEN r.a < 0.1 THEN 'user:default/ci-bot' ELSE 'user:default/user-' || ((r.e % 100) * 5 + floor(r.a * 5)::int) END,
         'prod-' || (r.e % 3), 'ns-' || r.e, 'web', '{"release":{"name":"web"}}',
         '{"replicas":2,"image":{"tag":"1.' || (g % 10) || '.0"}}', ?::bytea,
         CASE WHEN g % 10 < 9 THEN ? END, CASE WHEN g % 10 < 9 THEN ? END,
         '[{"status":"pending","at":"2026-01-01T00:00:00.000Z"}]', r.t, r.t, r.t + 30000, r.t + 30000
       FROM generate_series(?::int, ?::int) AS g,
         -- g * 0 ties the draws to each row: an uncorrelated subquery would be computed once.
         LATERAL (SELECT floor(${HISTORY_ENTITIES} * power(random(), 2))::int + g * 0 AS e, random() AS s, random() AS a,
                  (? - floor(random() * 365 * ${HISTORY_DAY}))::bigint AS t) AS r`,
      [
        manifest,
        JSON.stringify(report),
        JSON.stringify(summary),
        from,
        to,
        now,
      ],
    );
    process.stdout.write(`\rhistory: ${to.toLocaleString('en')} runs seeded`);
  }
  process.stdout.write('\n');
  await knex.raw('VACUUM ANALYZE kubechart_runs');
}

/**
 * Deployment history on PostgreSQL: the queries the history tab sends (GET /runs through
 * DatabaseRunStore.listRuns, the store call the route makes, 20 runs a page as the tab asks for),
 * first page and filtered by actor, status and time window, then the same filters across all
 * entities (what the REST API and the MCP action also accept).
 */
async function benchHistory() {
  const base =
    process.env.KUBECHART_BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432';
  const runs = Number(process.env.KUBECHART_BENCH_RUNS ?? 1_000_000);
  const admin = knexFactory({ client: 'pg', connection: `${base}/postgres` });
  const dbName = process.env.KUBECHART_BENCH_DB ?? 'kubechart_bench';
  if (!/^[a-z_][a-z0-9_]*$/.test(dbName))
    throw new Error(
      `KUBECHART_BENCH_DB ${dbName} is not a plain database name`,
    );
  const reuse = Boolean(process.env.KUBECHART_BENCH_REUSE);
  if (!reuse) {
    await admin.raw(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.raw(`CREATE DATABASE ${dbName}`);
  }
  const knex: Knex = knexFactory({
    client: 'pg',
    connection: `${base}/${dbName}`,
    pool: { min: 1, max: 5 },
  });
  try {
    // A reused database keeps the time its runs were seeded at, so the time filters find the same runs.
    let now = Date.now();
    if (reuse) {
      now = Number(
        (await knex.raw('SELECT max(created_at) AS t FROM kubechart_runs'))
          .rows[0].t,
      );
      console.log(
        `history: measuring again on ${dbName} (${runs.toLocaleString(
          'en',
        )} runs)`,
      );
    } else {
      await knex.migrate.latest({
        directory: resolvePackagePath(
          '@kubechart/plugin-kubechart-backend',
          'migrations',
        ),
      });
      console.log(
        `history: seeding ${runs.toLocaleString(
          'en',
        )} runs over ${HISTORY_ENTITIES.toLocaleString('en')} entities…`,
      );
      await timed(() => seedHistory(knex, runs, now)).then(([seedMs]) =>
        console.log(`history: seeded in ${(seedMs / 1000).toFixed(1)} s`),
      );
    }
    const perEntity = (
      await knex.raw(
        `SELECT max(n) AS max, percentile_cont(0.5) WITHIN GROUP (ORDER BY n) AS median, count(*) AS entities
       FROM (SELECT count(*) AS n FROM kubechart_runs GROUP BY entity_ref) c`,
      )
    ).rows[0];
    console.log(
      `history: ${perEntity.entities} entities with runs, median ${perEntity.median} runs, most ${perEntity.max}`,
    );
    const store = new DatabaseRunStore(knex);
    const limit = 20;
    // Pseudo-random but repeatable picks, so that every run of the bench asks the same questions.
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const entity = () => Math.floor(HISTORY_ENTITIES * rand() ** 2);
    const ref = (e: number) => `component:default/service-${e}`;
    const teamMember = (e: number) =>
      `user:default/user-${(e % 100) * 5 + Math.floor(rand() * 5)}`;
    const statuses = [
      'failed',
      'succeeded',
      'running',
      'awaiting-approval',
    ] as const;
    const cases: Array<[string, number, () => RunFilter]> = [
      ['first page of an entity', 5, () => ({ entityRef: ref(entity()) })],
      [
        'entity, filtered by actor',
        10,
        () => {
          const e = entity();
          return { entityRef: ref(e), actor: teamMember(e) };
        },
      ],
      [
        'entity, filtered by status',
        10,
        () => ({
          entityRef: ref(entity()),
          status: statuses[Math.floor(rand() * 4)],
        }),
      ],
      [
        'entity, last 7 days',
        10,
        () => ({
          entityRef: ref(entity()),
          from: new Date(now - 7 * HISTORY_DAY),
        }),
      ],
      [
        'entity, a custom 30-day range',
        10,
        () => {
          const to = now - Math.floor(rand() * 300) * HISTORY_DAY;
          return {
            entityRef: ref(entity()),
            from: new Date(to - 30 * HISTORY_DAY),
            to: new Date(to),
          };
        },
      ],
      [
        'all entities, filtered by actor',
        10,
        () => ({ actor: teamMember(entity()) }),
      ],
      [
        'all entities, filtered by status',
        10,
        () => ({ status: statuses[Math.floor(rand() * 4)] }),
      ],
      [
        'all entities, a custom 1-day range',
        10,
        () => {
          const to = now - Math.floor(rand() * 300) * HISTORY_DAY;
          return { from: new Date(to - HISTORY_DAY), to: new Date(to) };
        },
      ],
    ];
    const loadAvg = () =>
      os
        .loadavg()
        .map(l => l.toFixed(2))
        .join(' ');
    for (const [name, target, filter] of cases) {
      for (let i = 0; i < 20; i++) await store.listRuns(filter(), { limit });
      const samples: number[] = [];
      const next: number[] = [];
      for (let i = 0; i < 300; i++) {
        const f = filter();
        const [t, page] = await timed(() => store.listRuns(f, { limit }));
        samples.push(t);
        if (i < 100 && page.nextCursor) {
          next.push(
            (
              await timed(() =>
                store.listRuns(f, { limit, cursor: page.nextCursor }),
              )
            )[0],
          );
        }
      }
      const s = stats(samples);
      const n = next.length ? `; next page p95 ${ms(stats(next).p95)}` : '';
      if (name === 'first page of an entity') {
        // What a page weighs as the tab receives it, and what the same runs weigh whole (GET /runs/:id).
        const bytes: number[] = [];
        const whole: number[] = [];
        for (let i = 0; i < 20; i++) {
          const page = await store.listRuns(filter(), { limit });
          bytes.push(Buffer.byteLength(JSON.stringify(page)));
          whole.push(
            Buffer.byteLength(
              JSON.stringify(
                await Promise.all(page.items.map(r => store.getRun(r.id))),
              ),
            ),
          );
        }
        const kb = (b: number[]) =>
          `${(b.reduce((a, x) => a + x, 0) / b.length / 1024).toFixed(1)} KB`;
        console.log(
          `history ${name}: a page of ${limit} runs is ${kb(
            bytes,
          )} of JSON on average; the same runs whole ${kb(whole)} (20 pages)`,
        );
      }
      console.log(
        `history ${name} (${limit} a page, ${runs.toLocaleString(
          'en',
        )} runs): p50 ${ms(s.p50)}  p95 ${ms(s.p95)}  (n=${
          s.n
        }; target p95 < ${target} ms, ratio ${(s.p95 / target).toFixed(
          2,
        )}${n}; load ${loadAvg()})`,
      );
    }
  } finally {
    await knex.destroy();
    if (!process.env.KUBECHART_BENCH_KEEP)
      await admin.raw(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.destroy();
  }
}

/**
 * Two runs of a large tenant (167 releases of the three-object chart: 501 objects, about 9,500
 * lines each), the second one changing what a typical upgrade changes: a new image tag in 12
 * Deployments, replicas in 3, 2 releases removed and 2 added. Times runDiff, what
 * GET /runs/:id/diff/:other answers with.
 */
async function benchDiff() {
  const { before: a, after: b } = largeTenantRuns();
  const objects = (m: string) => m.split(/^---$/m).length;
  const lines = (m: string) => m.split('\n').length;
  const diff = await runDiff(a, b);
  const changed = diff.manifest
    .split('\n')
    .filter(l => /^[-+](?![-+]{2} )/.test(l)).length;
  for (let i = 0; i < 3; i++) await runDiff(a, b);
  const samples: number[] = [];
  for (let i = 0; i < 50; i++)
    samples.push((await timed(() => runDiff(a, b)))[0]);
  const s = stats(samples);
  const loadAvg = os
    .loadavg()
    .map(l => l.toFixed(2))
    .join(' ');
  console.log(
    `diff of two runs (${objects(a.manifest!)} and ${objects(
      b.manifest!,
    )} objects, ${lines(a.manifest!)} and ${lines(
      b.manifest!,
    )} lines, ${changed} lines changed): p50 ${ms(s.p50)}  p95 ${ms(
      s.p95,
    )}  (n=${s.n}; target < 50 ms, ratio ${(s.p95 / 50).toFixed(
      2,
    )}; load ${loadAvg})`,
  );
}

const helmBinary = () =>
  execFileSync('sh', ['-c', 'command -v helm3 || command -v helm'])
    .toString()
    .trim();

/** Engine configuration against a kube-sim cluster named `dev`, with the test charts. */
function engineConfig(
  sim: Pick<KubeSim, 'url' | 'token' | 'caData'>,
  kubechart: Record<string, any> = {},
) {
  return new ConfigReader({
    kubernetes: {
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: [
            {
              name: 'dev',
              url: sim.url,
              authProvider: 'serviceAccount',
              serviceAccountToken: sim.token,
              caData: sim.caData,
            },
          ],
        },
      ],
    },
    kubechart: {
      helm: {
        binary: helmBinary(),
        chartDirectories: [
          resolvePackagePath(
            '@kubechart/plugin-kubechart-backend',
            'src/__fixtures__/charts',
          ),
        ],
      },
      policy: { mode: 'warn' },
      wait: { pollIntervalMs: 100 },
      limits: {
        runsPerUserPerMinute: 1000,
        runsPerUserAtOnce: 1000,
        maxTenants: 1000,
        maxTenantsPerOwner: 1000,
      },
      ...kubechart,
    },
  });
}

async function benchEngine() {
  const sim = await startKubeSim({
    tls: true,
    podReadyDelayMs: 300,
    nodes: 10,
  });
  const helmBin = helmBinary();
  const config = engineConfig(sim);
  // Time spent inside helm is measured by wrapping its exec.
  let helmMs = 0;
  class TimedHelm extends HelmCli {
    override async exec(...args: Parameters<HelmCli['exec']>) {
      const [t, r] = await timed(() => super.exec(...args));
      helmMs += t;
      return r;
    }
  }
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  const store = await DatabaseRunStore.create({
    database: { getClient: async () => knex },
  });
  const engine = new RunEngine({
    store,
    clusters: ClusterRegistry.fromConfig(config),
    helm: new TimedHelm({ binary: helmBin }),
    policy: PolicyEngine.fromConfig(config),
    logger,
    settings: readEngineSettings(config),
  });
  const request = (code: string) => ({
    kind: 'tenant' as const,
    cluster: 'dev',
    tenant: code,
    credentials: ['databasePassword'],
    releases: [
      { name: 'web', chart: 'webapp' },
      { name: 'api', chart: 'webapp' },
    ],
  });
  const waitMsOf = async (id: string) => {
    const events = await store.getEvents(id);
    const start = events.find(
      e => e.step === 'wait' && e.stepStatus === 'started',
    );
    const end = events.find(
      e =>
        e.step === 'wait' &&
        (e.stepStatus === 'succeeded' || e.stepStatus === 'failed'),
    );
    return start && end ? Date.parse(end.at) - Date.parse(start.at) : 0;
  };
  const overheads: number[] = [];
  for (let i = 0; i < Number(process.env.KUBECHART_BENCH_SOLO ?? 5); i++) {
    helmMs = 0;
    const [total, run] = await timed(async () => {
      const r = await engine.submit(request(`solo-${i}`), 'user:default/bench');
      await engine.waitFor(r.id);
      return r;
    });
    const done = (await store.getRun(run.id))!;
    if (done.status !== 'succeeded')
      throw new Error(`bench run failed: ${done.failureReason}`);
    overheads.push(total - helmMs - (await waitMsOf(run.id)));
    if (process.env.KUBECHART_BENCH_VERBOSE) {
      const events = await store.getEvents(run.id);
      const t0 = Date.parse(events[0].at);
      for (const e of events)
        if (e.type !== 'log')
          console.log(
            `  +${Date.parse(e.at) - t0}ms ${e.message.slice(0, 80)}`,
          );
      console.log(`  total ${total.toFixed(0)}ms helm ${helmMs.toFixed(0)}ms`);
    }
  }
  const o = stats(overheads);
  console.log(
    `engine overhead per tenant run (excluding helm and pod wait): p50 ${ms(
      o.p50,
    )}  max ${ms(o.max)}  (target < 300 ms)`,
  );

  const [wall, runs] = await timed(async () => {
    const started = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        engine.submit(request(`many-${i}`), `user:default/bench-${i}`),
      ),
    );
    const progress = setInterval(async () => {
      if (!process.env.KUBECHART_BENCH_VERBOSE) return;
      for (const r of started) {
        const ev = await store.getEvents(r.id);
        console.log(
          r.id.slice(0, 8),
          ev[ev.length - 1]?.message?.slice(0, 150),
        );
      }
    }, 10_000);
    await engine.waitIdle();
    clearInterval(progress);
    return Promise.all(started.map(r => store.getRun(r.id)));
  });
  const ok = runs.filter(r => r?.status === 'succeeded').length;
  const lockErrors = runs.filter(r =>
    /lock|already active/i.test(r?.failureReason ?? ''),
  ).length;
  console.log(
    `10 tenants concurrently: ${ok}/10 succeeded, ${lockErrors} lock errors, wall ${ms(
      wall,
    )}`,
  );
  await knex.destroy();
  await sim.stop();
}

/**
 * Bytes a run's manifest takes in PostgreSQL before (plain text, which PostgreSQL may TOAST-compress
 * on its own) and after (gzip in `manifest_gz`), for the test chart rendered by helm and for a
 * 500-object manifest.
 */
async function benchManifestStorage() {
  const base =
    process.env.KUBECHART_BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432';
  const admin = knexFactory({ client: 'pg', connection: `${base}/postgres` });
  const dbName = 'kubechart_bench_manifests';
  await admin.raw(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.raw(`CREATE DATABASE ${dbName}`);
  await admin.destroy();
  const knex: Knex = knexFactory({
    client: 'pg',
    connection: `${base}/${dbName}`,
    pool: { min: 1, max: 2 },
  });
  try {
    await knex.migrate.latest({
      directory: resolvePackagePath(
        '@kubechart/plugin-kubechart-backend',
        'migrations',
      ),
    });
    const store = new DatabaseRunStore(knex);
    const helm = new HelmCli({ binary: helmBinary() });
    const chart = resolvePackagePath(
      '@kubechart/plugin-kubechart-backend',
      'src/__fixtures__/charts/webapp',
    );
    const rendered = await helm.template({
      release: 'web',
      chart,
      namespace: 'team-a',
    });
    const objects = rendered
      .split(/^---$/m)
      .filter(d => /^kind:/m.test(d)).length;
    // The same chart installed under many release names: as many objects as a large tenant has.
    const copies = Math.ceil(500 / objects);
    const large = Array.from({ length: copies }, (_, i) =>
      rendered.replace(/\bweb\b/g, `web-${i}`),
    ).join('\n---\n');
    for (const [name, manifest, count] of [
      ['test chart (webapp)', rendered, objects],
      ['large tenant', large, objects * copies],
    ] as const) {
      const plain = randomUUID();
      const run = await store.createRun(
        {
          id: randomUUID(),
          kind: 'chart',
          status: 'pending',
          actor: 'user:default/bench',
          target: { cluster: 'dev', namespace: `ns-${plain}` },
          input: {},
        },
        [`ns:dev/${plain}`],
      );
      await store.finishRun(run.id, 'succeeded', { manifest });
      // As runs were stored before compression: the text in `manifest`.
      await knex('kubechart_runs').insert({
        ...(await knex('kubechart_runs').where({ id: run.id }).first()),
        id: plain,
        manifest,
        manifest_gz: null,
      });
      const [{ before }] = (
        await knex.raw(
          'select pg_column_size(manifest) as before from kubechart_runs where id = ?',
          [plain],
        )
      ).rows;
      const [{ after }] = (
        await knex.raw(
          'select pg_column_size(manifest_gz) as after from kubechart_runs where id = ?',
          [run.id],
        )
      ).rows;
      const raw = Buffer.byteLength(manifest);
      console.log(
        `manifest bytes per run, ${name} (${count} objects): raw ${raw}, stored before ${before} (PostgreSQL text, TOAST), after ${after} (gzip); after/before ${(
          after / before
        ).toFixed(2)}, after/raw ${(after / raw).toFixed(
          2,
        )} (no target; the issue asks for before/after)`,
      );
    }
  } finally {
    await knex.destroy();
  }
}

/**
 * Throughput: KUBECHART_BENCH_TENANTS (default 100) tenant runs submitted at once to one engine,
 * each with one helm release, through the helm process pool (kubechart.helm.maxConcurrent,
 * KUBECHART_BENCH_HELM_POOL, default 4). Prints errors, runs per minute, the backend process's
 * peak RSS (helm's own processes not included) and the most helm processes seen at once.
 */
async function benchThroughput() {
  const tenants = Number(process.env.KUBECHART_BENCH_TENANTS ?? 100);
  const pool = Number(process.env.KUBECHART_BENCH_HELM_POOL ?? 4);
  const sim = await startKubeSim({
    tls: true,
    podReadyDelayMs: 300,
    nodes: 20,
  });
  const config = engineConfig(sim, {
    helm: {
      binary: helmBinary(),
      chartDirectories: [
        resolvePackagePath(
          '@kubechart/plugin-kubechart-backend',
          'src/__fixtures__/charts',
        ),
      ],
      maxConcurrent: pool,
      timeoutSeconds: 900,
    },
    wait: { pollIntervalMs: 500, timeoutSeconds: 1800 },
  });
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  const store = await DatabaseRunStore.create({
    database: { getClient: async () => knex },
  });
  const helm = HelmCli.fromConfig(config);
  const engine = new RunEngine({
    store,
    clusters: ClusterRegistry.fromConfig(config),
    helm,
    policy: PolicyEngine.fromConfig(config),
    logger,
    settings: readEngineSettings(config),
  });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  let peakHelm = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    peakHelm = Math.max(peakHelm, helm.poolState().running);
  }, 100);
  console.log(
    `throughput: submitting ${tenants} tenant runs at once (helm pool ${pool})…`,
  );
  const [wall, runs] = await timed(async () => {
    const submitted = await Promise.allSettled(
      Array.from({ length: tenants }, (_, i) =>
        engine.submit(
          {
            kind: 'tenant',
            cluster: 'dev',
            tenant: `load-${i}`,
            releases: [{ name: 'web', chart: 'webapp' }],
          },
          `user:default/team-${i}`,
        ),
      ),
    );
    await engine.waitIdle();
    return Promise.all(
      submitted.map(r =>
        r.status === 'fulfilled'
          ? store.getRun(r.value.id)
          : Promise.resolve(undefined),
      ),
    );
  });
  clearInterval(sampler);
  const ok = runs.filter(r => r?.status === 'succeeded').length;
  const errors = tenants - ok;
  const reasons = [
    ...new Set(
      runs
        .filter(r => r?.status !== 'succeeded')
        .map(r => r?.failureReason ?? 'not submitted'),
    ),
  ].slice(0, 3);
  const perMinute = (ok / wall) * 60_000;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  const rssTarget = 1024 * 2 ** 20;
  console.log(
    `throughput: ${ok}/${tenants} succeeded, ${errors} errors (target 0)${
      reasons.length ? `: ${reasons.join(' | ')}` : ''
    }; wall ${(wall / 1000).toFixed(1)} s`,
  );
  console.log(
    `throughput: ${perMinute.toFixed(
      1,
    )} tenant runs/minute (no target set; one release each, helm pool ${pool})`,
  );
  console.log(
    `throughput: backend peak RSS ${mb(peakRss)} (${mb(
      rssBefore,
    )} before; target < ${mb(rssTarget)}, ratio ${(peakRss / rssTarget).toFixed(
      2,
    )}); most helm processes at once ${peakHelm} (limit ${pool})`,
  );
  await knex.destroy();
  await sim.stop();
  if (errors > 0 || peakHelm > pool) process.exitCode = 1;
}

const SECTIONS: Record<string, () => Promise<void>> = {
  health: benchHealth,
  history: benchHistory,
  diff: benchDiff,
  manifests: benchManifestStorage,
  engine: benchEngine,
  throughput: benchThroughput,
};

async function main() {
  const which = process.argv[2];
  if (which) {
    const section = SECTIONS[which];
    if (!section)
      throw new Error(
        `Unknown bench section ${which}; use ${Object.keys(SECTIONS).join(
          ', ',
        )}`,
      );
    await section();
    return;
  }
  // Each section in a process of its own, as each figure stands for a backend doing that work
  // alone: the heap one section leaves (755 MB after history) would otherwise weigh on the next.
  for (const name of Object.keys(SECTIONS)) {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [...process.execArgv, process.argv[1], name],
        { stdio: 'inherit' },
      );
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) process.exitCode = code ?? 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  e => {
    console.error(e);
    process.exit(1);
  },
);
