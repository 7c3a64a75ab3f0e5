/*
 * Benchmarks of the kubechart backend. Prints figures and ratios only; not a test.
 *   yarn workspace @kubechart/plugin-kubechart-backend bench [health|history|diff|manifests|engine|throughput]
 * History needs PostgreSQL: KUBECHART_BENCH_PG (default postgresql://postgres@127.0.0.1:5432).
 */
/* eslint-disable no-console */
import { ConfigReader } from '@backstage/config';
// The bench is development tooling, like the tests: kube-sim is a dev dependency on purpose.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { ClusterRegistry, HelmCli, PolicyEngine } from '@kubechart/plugin-kubechart-node';
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  Informer,
  NetworkingV1Api,
  ObjectCache,
  V1Pod,
  makeInformer,
} from '@kubernetes/client-node';
import knexFactory, { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { DatabaseRunStore } from './database/DatabaseRunStore';
import { RunFilter } from './database/RunStore';
import { RunEngine } from './engine/RunEngine';
import { readEngineSettings } from './engine/settings';
import { HealthService } from './health/HealthService';
import { runDiff } from './service/runDiff';
// Development tooling, like the tests: the same large manifests as the diff tests.
// eslint-disable-next-line no-restricted-imports
import { chartManifest, largeTenantRuns } from './__testUtils__/largeTenant';
import { makeTrimmedInformer, trimPod } from './health/trimmedInformer';

const quiet = () => undefined;
const logger: any = { info: quiet, warn: quiet, error: quiet, debug: quiet, child: () => logger };

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, p50: at(0.5), p95: at(0.95), max: s[s.length - 1] };
}
const ms = (n: number) => `${n.toFixed(2)} ms`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e6, r];
}

function serve(handler: (path: string) => Promise<unknown>): Promise<{ url: string; close(): void }> {
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
      r({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }),
    ),
  );
}

async function httpGet(url: string) {
  const res = await fetch(url);
  await res.text();
}

async function benchHealth() {
  const sim = await startKubeSim({ tls: true, nodes: 100, podReadyDelayMs: 50 });
  const registry = new ClusterRegistry([
    { name: 'big', url: sim.url, authProvider: 'serviceAccount', serviceAccountToken: sim.token, caData: sim.caData, skipTLSVerify: false },
  ]);
  const kc = registry.kubeConfig('big');
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  console.log('health: seeding 100 nodes, 500 deployments, 5,000 pods…');
  for (let n = 0; n < 10; n++) {
    const namespace = `bench-${n}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    for (let i = 0; i < 50; i++) {
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: `app-${i}` },
          spec: {
            replicas: 10,
            selector: { matchLabels: { app: `app-${i}` } },
            template: {
              metadata: { labels: { app: `app-${i}` } },
              spec: { containers: [{ name: 'c', image: 'registry.example.com/app:1.0', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
            },
          },
        },
      });
    }
  }
  for (let i = 0; i < 600; i++) {
    const pods = await core.listPodForAllNamespaces({ labelSelector: 'app' });
    if (pods.items.length >= 5000) break;
    await new Promise(r => setTimeout(r, 500));
  }
  // Heap a cached pod costs: a pod informer alone, whole pods against trimmed ones.
  const heapPerPod = async (make: () => Informer<V1Pod> & ObjectCache<V1Pod>) => {
    global.gc!();
    const before = process.memoryUsage().heapUsed;
    const informer = make();
    await informer.start();
    global.gc!();
    const bytes = (process.memoryUsage().heapUsed - before) / informer.list().length;
    await informer.stop();
    return bytes;
  };
  if (global.gc) {
    const listPods = () => core.listPodForAllNamespaces();
    const whole = await heapPerPod(() => makeInformer<V1Pod>(kc, '/api/v1/pods', listPods));
    const trimmed = await heapPerPod(() => makeTrimmedInformer<V1Pod>(kc, '/api/v1/pods', listPods, trimPod));
    const kb = (b: number) => `${(b / 1024).toFixed(2)} KB`;
    console.log(
      `health: heap per cached pod ${kb(trimmed)} trimmed (the health cache), ${kb(whole)} whole; target < 3 KB, ratio ${(trimmed / 3072).toFixed(2)}`,
    );
  } else {
    console.log('health: heap per cached pod not measured (run node with --expose-gc)');
  }
  const health = new HealthService(registry, logger);
  const [syncMs] = await timed(() => health.whenStarted('big'));
  console.log(`health: informer caches synced in ${ms(syncMs)}`);

  const cached = await serve(() => health.clusterHealth('big'));
  const batch = kc.makeApiClient(BatchV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  const hpa = kc.makeApiClient(AutoscalingV2Api);
  // What the core Kubernetes backend does per request: list every kind it shows, then compute.
  const listing = await serve(async () => {
    const [pods, , , , , deps, , sts, ds] = await Promise.all([
      core.listPodForAllNamespaces(),
      core.listServiceForAllNamespaces(),
      core.listConfigMapForAllNamespaces(),
      core.listLimitRangeForAllNamespaces(),
      core.listResourceQuotaForAllNamespaces(),
      apps.listDeploymentForAllNamespaces(),
      apps.listReplicaSetForAllNamespaces(),
      apps.listStatefulSetForAllNamespaces(),
      apps.listDaemonSetForAllNamespaces(),
      hpa.listHorizontalPodAutoscalerForAllNamespaces(),
      batch.listJobForAllNamespaces(),
      batch.listCronJobForAllNamespaces(),
      net.listIngressForAllNamespaces(),
      core.listSecretForAllNamespaces(),
    ]);
    const nodes = await core.listNode();
    return {
      nodes: nodes.items.length,
      pods: pods.items.length,
      ready: [...deps.items, ...sts.items, ...ds.items].filter(d => (d.status as any)?.readyReplicas).length,
    };
  });
  const run = async (url: string, n: number) => {
    for (let i = 0; i < 3; i++) await httpGet(url);
    const samples: number[] = [];
    for (let i = 0; i < n; i++) samples.push((await timed(() => httpGet(url)))[0]);
    return stats(samples);
  };
  const fromCache = await run(`${cached.url}/clusters/big/health`, 200);
  const fromLists = await run(`${listing.url}/`, 20);
  console.log(`health from cache:        p50 ${ms(fromCache.p50)}  p95 ${ms(fromCache.p95)}  (n=${fromCache.n}; target p95 < 20 ms)`);
  console.log(`health by listing it all: p50 ${ms(fromLists.p50)}  p95 ${ms(fromLists.p95)}  (n=${fromLists.n})`);
  console.log(`ratio (p95 listing / p95 cache): ${(fromLists.p95 / fromCache.p95).toFixed(1)}x (target >= 20x)`);
  cached.close();
  listing.close();
  await health.stop();
  await sim.stop();
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
  const manifest = gzipSync(Buffer.from(chartManifest('web', 'team-a', '1.4.2'), 'utf8'));
  const chunk = 100_000;
  for (let from = 1; from <= runs; from += chunk) {
    const to = Math.min(runs, from + chunk - 1);
    await knex.raw(
      `INSERT INTO kubechart_runs (id, kind, status, entity_ref, actor, cluster, namespace, release, input, "values",
         manifest_gz, transitions, created_at, started_at, finished_at, heartbeat_at)
       SELECT md5(g::text || 'run')::uuid::text,
         (ARRAY['chart','chart','chart','chart','chart','chart','tenant','tenant','manifests','rollback'])[1 + (g % 10)],
         CASE WHEN r.s < 0.88 THEN 'succeeded' WHEN r.s < 0.98 THEN 'failed' WHEN r.s < 0.99 THEN 'awaiting-approval'
              WHEN r.s < 0.995 THEN 'running' ELSE 'pending' END,
         'component:default/service-' || r.e,
         CASE WHEN r.a < 0.1 THEN 'user:default/ci-bot' ELSE 'user:default/user-' || ((r.e % 100) * 5 + floor(r.a * 5)::int) END,
         'prod-' || (r.e % 3), 'ns-' || r.e, 'web', '{"release":{"name":"web"}}',
         '{"replicas":2,"image":{"tag":"1.' || (g % 10) || '.0"}}', ?::bytea,
         '[{"status":"pending","at":"2026-01-01T00:00:00.000Z"}]', r.t, r.t, r.t + 30000, r.t + 30000
       FROM generate_series(?::int, ?::int) AS g,
         -- g * 0 ties the draws to each row: an uncorrelated subquery would be computed once.
         LATERAL (SELECT floor(${HISTORY_ENTITIES} * power(random(), 2))::int + g * 0 AS e, random() AS s, random() AS a,
                  (? - floor(random() * 365 * ${HISTORY_DAY}))::bigint AS t) AS r`,
      [manifest, from, to, now],
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
  const base = process.env.KUBECHART_BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432';
  const runs = Number(process.env.KUBECHART_BENCH_RUNS ?? 1_000_000);
  const admin = knexFactory({ client: 'pg', connection: `${base}/postgres` });
  const dbName = 'kubechart_bench';
  await admin.raw(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.raw(`CREATE DATABASE ${dbName}`);
  const knex: Knex = knexFactory({ client: 'pg', connection: `${base}/${dbName}`, pool: { min: 1, max: 5 } });
  try {
    await knex.migrate.latest({ directory: resolvePackagePath('@kubechart/plugin-kubechart-backend', 'migrations') });
    const now = Date.now();
    console.log(`history: seeding ${runs.toLocaleString('en')} runs over ${HISTORY_ENTITIES.toLocaleString('en')} entities…`);
    const [seedMs] = await timed(() => seedHistory(knex, runs, now));
    const perEntity = (await knex.raw(
      `SELECT max(n) AS max, percentile_cont(0.5) WITHIN GROUP (ORDER BY n) AS median, count(*) AS entities
       FROM (SELECT count(*) AS n FROM kubechart_runs GROUP BY entity_ref) c`,
    )).rows[0];
    console.log(
      `history: seeded in ${(seedMs / 1000).toFixed(1)} s; ${perEntity.entities} entities with runs, median ${perEntity.median} runs, most ${perEntity.max}`,
    );
    const store = new DatabaseRunStore(knex);
    const limit = 20;
    // Pseudo-random but repeatable picks, so that every run of the bench asks the same questions.
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const entity = () => Math.floor(HISTORY_ENTITIES * rand() ** 2);
    const ref = (e: number) => `component:default/service-${e}`;
    const teamMember = (e: number) => `user:default/user-${(e % 100) * 5 + Math.floor(rand() * 5)}`;
    const statuses = ['failed', 'succeeded', 'running', 'awaiting-approval'] as const;
    const cases: Array<[string, number, () => RunFilter]> = [
      ['first page of an entity', 5, () => ({ entityRef: ref(entity()) })],
      ['entity, filtered by actor', 10, () => {
        const e = entity();
        return { entityRef: ref(e), actor: teamMember(e) };
      }],
      ['entity, filtered by status', 10, () => ({ entityRef: ref(entity()), status: statuses[Math.floor(rand() * 4)] })],
      ['entity, last 7 days', 10, () => ({ entityRef: ref(entity()), from: new Date(now - 7 * HISTORY_DAY) })],
      ['entity, a custom 30-day range', 10, () => {
        const to = now - Math.floor(rand() * 300) * HISTORY_DAY;
        return { entityRef: ref(entity()), from: new Date(to - 30 * HISTORY_DAY), to: new Date(to) };
      }],
      ['all entities, filtered by actor', 10, () => ({ actor: teamMember(entity()) })],
      ['all entities, filtered by status', 10, () => ({ status: statuses[Math.floor(rand() * 4)] })],
      ['all entities, a custom 1-day range', 10, () => {
        const to = now - Math.floor(rand() * 300) * HISTORY_DAY;
        return { from: new Date(to - HISTORY_DAY), to: new Date(to) };
      }],
    ];
    const load = () => os.loadavg().map(l => l.toFixed(2)).join(' ');
    for (const [name, target, filter] of cases) {
      for (let i = 0; i < 20; i++) await store.listRuns(filter(), { limit });
      const samples: number[] = [];
      const next: number[] = [];
      for (let i = 0; i < 300; i++) {
        const f = filter();
        const [t, page] = await timed(() => store.listRuns(f, { limit }));
        samples.push(t);
        if (i < 100 && page.nextCursor) {
          next.push((await timed(() => store.listRuns(f, { limit, cursor: page.nextCursor })))[0]);
        }
      }
      const s = stats(samples);
      const n = next.length ? `; next page p95 ${ms(stats(next).p95)}` : '';
      console.log(
        `history ${name} (${limit} a page, ${runs.toLocaleString('en')} runs): p50 ${ms(s.p50)}  p95 ${ms(s.p95)}  (n=${s.n}; target p95 < ${target} ms, ratio ${(s.p95 / target).toFixed(2)}${n}; load ${load()})`,
      );
    }
  } finally {
    await knex.destroy();
    if (!process.env.KUBECHART_BENCH_KEEP) await admin.raw(`DROP DATABASE IF EXISTS ${dbName}`);
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
  const changed = diff.manifest.split('\n').filter(l => /^[-+](?![-+]{2} )/.test(l)).length;
  for (let i = 0; i < 3; i++) await runDiff(a, b);
  const samples: number[] = [];
  for (let i = 0; i < 50; i++) samples.push((await timed(() => runDiff(a, b)))[0]);
  const s = stats(samples);
  const load = os.loadavg().map(l => l.toFixed(2)).join(' ');
  console.log(
    `diff of two runs (${objects(a.manifest!)} and ${objects(b.manifest!)} objects, ${lines(a.manifest!)} and ${lines(b.manifest!)} lines, ${changed} lines changed): p50 ${ms(s.p50)}  p95 ${ms(s.p95)}  (n=${s.n}; target < 50 ms, ratio ${(s.p95 / 50).toFixed(2)}; load ${load})`,
  );
}

const helmBinary = () => execFileSync('sh', ['-c', 'command -v helm3 || command -v helm']).toString().trim();

/** Engine configuration against a kube-sim cluster named `dev`, with the test charts. */
function engineConfig(sim: Pick<KubeSim, 'url' | 'token' | 'caData'>, kubechart: Record<string, any> = {}) {
  return new ConfigReader({
    kubernetes: {
      clusterLocatorMethods: [
        { type: 'config', clusters: [{ name: 'dev', url: sim.url, authProvider: 'serviceAccount', serviceAccountToken: sim.token, caData: sim.caData }] },
      ],
    },
    kubechart: {
      helm: { binary: helmBinary(), chartDirectories: [resolvePackagePath('@kubechart/plugin-kubechart-backend', 'src/__fixtures__/charts')] },
      policy: { mode: 'warn' },
      wait: { pollIntervalMs: 100 },
      limits: { runsPerUserPerMinute: 1000, maxTenants: 1000 },
      ...kubechart,
    },
  });
}

async function benchEngine() {
  const sim = await startKubeSim({ tls: true, podReadyDelayMs: 300, nodes: 10 });
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
  const knex = knexFactory({ client: 'better-sqlite3', connection: ':memory:', useNullAsDefault: true });
  const store = await DatabaseRunStore.create({ database: { getClient: async () => knex } });
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
    releases: [{ name: 'web', chart: 'webapp' }, { name: 'api', chart: 'webapp' }],
  });
  const waitMsOf = async (id: string) => {
    const events = await store.getEvents(id);
    const start = events.find(e => e.step === 'wait' && e.stepStatus === 'started');
    const end = events.find(e => e.step === 'wait' && (e.stepStatus === 'succeeded' || e.stepStatus === 'failed'));
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
    if (done.status !== 'succeeded') throw new Error(`bench run failed: ${done.failureReason}`);
    overheads.push(total - helmMs - (await waitMsOf(run.id)));
    if (process.env.KUBECHART_BENCH_VERBOSE) {
      const events = await store.getEvents(run.id);
      const t0 = Date.parse(events[0].at);
      for (const e of events) if (e.type !== 'log') console.log(`  +${Date.parse(e.at) - t0}ms ${e.message.slice(0, 80)}`);
      console.log(`  total ${total.toFixed(0)}ms helm ${helmMs.toFixed(0)}ms`);
    }
  }
  const o = stats(overheads);
  console.log(`engine overhead per tenant run (excluding helm and pod wait): p50 ${ms(o.p50)}  max ${ms(o.max)}  (target < 300 ms)`);

  const [wall, runs] = await timed(async () => {
    const started = await Promise.all(Array.from({ length: 10 }, (_, i) => engine.submit(request(`many-${i}`), `user:default/bench-${i}`)));
    const progress = setInterval(async () => {
      if (!process.env.KUBECHART_BENCH_VERBOSE) return;
      for (const r of started) {
        const ev = await store.getEvents(r.id);
        console.log(r.id.slice(0, 8), ev[ev.length - 1]?.message?.slice(0, 150));
      }
    }, 10_000);
    await engine.waitIdle();
    clearInterval(progress);
    return Promise.all(started.map(r => store.getRun(r.id)));
  });
  const ok = runs.filter(r => r?.status === 'succeeded').length;
  const lockErrors = runs.filter(r => /lock|already active/i.test(r?.failureReason ?? '')).length;
  console.log(`10 tenants concurrently: ${ok}/10 succeeded, ${lockErrors} lock errors, wall ${ms(wall)}`);
  await knex.destroy();
  await sim.stop();
}

/**
 * Bytes a run's manifest takes in PostgreSQL before (plain text, which PostgreSQL may TOAST-compress
 * on its own) and after (gzip in `manifest_gz`), for the test chart rendered by helm and for a
 * 500-object manifest.
 */
async function benchManifestStorage() {
  const base = process.env.KUBECHART_BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432';
  const admin = knexFactory({ client: 'pg', connection: `${base}/postgres` });
  const dbName = 'kubechart_bench_manifests';
  await admin.raw(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.raw(`CREATE DATABASE ${dbName}`);
  await admin.destroy();
  const knex: Knex = knexFactory({ client: 'pg', connection: `${base}/${dbName}`, pool: { min: 1, max: 2 } });
  try {
    await knex.migrate.latest({ directory: resolvePackagePath('@kubechart/plugin-kubechart-backend', 'migrations') });
    const store = new DatabaseRunStore(knex);
    const helm = new HelmCli({ binary: helmBinary() });
    const chart = resolvePackagePath('@kubechart/plugin-kubechart-backend', 'src/__fixtures__/charts/webapp');
    const rendered = await helm.template({ release: 'web', chart, namespace: 'team-a' });
    const objects = rendered.split(/^---$/m).filter(d => /^kind:/m.test(d)).length;
    // The same chart installed under many release names: as many objects as a large tenant has.
    const copies = Math.ceil(500 / objects);
    const large = Array.from({ length: copies }, (_, i) => rendered.replace(/\bweb\b/g, `web-${i}`)).join('\n---\n');
    for (const [name, manifest, count] of [
      ['test chart (webapp)', rendered, objects],
      ['large tenant', large, objects * copies],
    ] as const) {
      const plain = randomUUID();
      const run = await store.createRun(
        { id: randomUUID(), kind: 'chart', status: 'pending', actor: 'user:default/bench', target: { cluster: 'dev', namespace: `ns-${plain}` }, input: {} },
        [`ns:dev/${plain}`],
      );
      await store.finishRun(run.id, 'succeeded', { manifest });
      // As runs were stored before compression: the text in `manifest`.
      await knex('kubechart_runs').insert({ ...(await knex('kubechart_runs').where({ id: run.id }).first()), id: plain, manifest, manifest_gz: null });
      const [{ before }] = (await knex.raw('select pg_column_size(manifest) as before from kubechart_runs where id = ?', [plain])).rows;
      const [{ after }] = (await knex.raw('select pg_column_size(manifest_gz) as after from kubechart_runs where id = ?', [run.id])).rows;
      const raw = Buffer.byteLength(manifest);
      console.log(
        `manifest bytes per run, ${name} (${count} objects): raw ${raw}, stored before ${before} (PostgreSQL text, TOAST), after ${after} (gzip); after/before ${(after / before).toFixed(2)}, after/raw ${(after / raw).toFixed(2)} (no target; the issue asks for before/after)`,
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
  const sim = await startKubeSim({ tls: true, podReadyDelayMs: 300, nodes: 20 });
  const config = engineConfig(sim, {
    helm: {
      binary: helmBinary(),
      chartDirectories: [resolvePackagePath('@kubechart/plugin-kubechart-backend', 'src/__fixtures__/charts')],
      maxConcurrent: pool,
      timeoutSeconds: 900,
    },
    wait: { pollIntervalMs: 500, timeoutSeconds: 1800 },
  });
  const knex = knexFactory({ client: 'better-sqlite3', connection: ':memory:', useNullAsDefault: true });
  const store = await DatabaseRunStore.create({ database: { getClient: async () => knex } });
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
  console.log(`throughput: submitting ${tenants} tenant runs at once (helm pool ${pool})…`);
  const [wall, runs] = await timed(async () => {
    const submitted = await Promise.allSettled(
      Array.from({ length: tenants }, (_, i) =>
        engine.submit(
          { kind: 'tenant', cluster: 'dev', tenant: `load-${i}`, releases: [{ name: 'web', chart: 'webapp' }] },
          `user:default/team-${i}`,
        ),
      ),
    );
    await engine.waitIdle();
    return Promise.all(submitted.map(r => (r.status === 'fulfilled' ? store.getRun(r.value.id) : Promise.resolve(undefined))));
  });
  clearInterval(sampler);
  const ok = runs.filter(r => r?.status === 'succeeded').length;
  const errors = tenants - ok;
  const reasons = [...new Set(runs.filter(r => r?.status !== 'succeeded').map(r => r?.failureReason ?? 'not submitted'))].slice(0, 3);
  const perMinute = (ok / wall) * 60_000;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  const rssTarget = 1024 * 2 ** 20;
  console.log(
    `throughput: ${ok}/${tenants} succeeded, ${errors} errors (target 0)${reasons.length ? `: ${reasons.join(' | ')}` : ''}; wall ${(wall / 1000).toFixed(1)} s`,
  );
  console.log(`throughput: ${perMinute.toFixed(1)} tenant runs/minute (no target set; one release each, helm pool ${pool})`);
  console.log(
    `throughput: backend peak RSS ${mb(peakRss)} (${mb(rssBefore)} before; target < ${mb(rssTarget)}, ratio ${(peakRss / rssTarget).toFixed(2)}); most helm processes at once ${peakHelm} (limit ${pool})`,
  );
  await knex.destroy();
  await sim.stop();
  if (errors > 0 || peakHelm > pool) process.exitCode = 1;
}

async function main() {
  const which = process.argv[2];
  if (!which || which === 'health') await benchHealth();
  if (!which || which === 'history') await benchHistory();
  if (!which || which === 'diff') await benchDiff();
  if (!which || which === 'manifests') await benchManifestStorage();
  if (!which || which === 'engine') await benchEngine();
  if (!which || which === 'throughput') await benchThroughput();
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  e => {
    console.error(e);
    process.exit(1);
  },
);
