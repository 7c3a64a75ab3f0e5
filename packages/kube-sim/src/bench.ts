/* eslint-disable no-console */
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startKubeSim } from './startKubeSim';
import { ResourceRegistry } from './server/resources';
import { recordedOpenApi } from './schema/openapi';
import { SchemaValidator } from './schema/validation';

/**
 * Seeds kube-sim with 100 nodes, 500 deployments and 5,000 pods through @kubernetes/client-node,
 * then times listing all pods. Prints figures only; nothing here asserts on time.
 */
const NODES = 100;
const NAMESPACES = 10;
const DEPLOYMENTS = 500;
const REPLICAS = 10;
const ITERATIONS = 20;

function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  ];
}

function heapMiB() {
  (global as any).gc?.();
  return (process.memoryUsage().heapUsed / 2 ** 20).toFixed(1);
}

async function main() {
  const t0 = Date.now();
  const sim = await startKubeSim({
    seed: 'empty',
    nodes: 0,
    podReadyDelayMs: 0,
    watchCacheSize: 50000,
  });
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);

  for (let i = 1; i <= NODES; i++) {
    await core.createNode({
      body: {
        metadata: {
          name: `bench-node-${i}`,
          labels: { 'kubernetes.io/hostname': `bench-node-${i}` },
        },
      },
    });
  }
  for (let n = 0; n < NAMESPACES; n++) {
    await core.createNamespace({ body: { metadata: { name: `bench-${n}` } } });
  }
  for (let d = 0; d < DEPLOYMENTS; d++) {
    const name = `svc-${d}`;
    await apps.createNamespacedDeployment({
      namespace: `bench-${d % NAMESPACES}`,
      body: {
        metadata: { name, labels: { app: name } },
        spec: {
          replicas: REPLICAS,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: {
              labels: { app: name, 'backstage.io/kubernetes-id': name },
            },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'nginx:1.25',
                  resources: { requests: { cpu: '50m', memory: '64Mi' } },
                },
              ],
            },
          },
        },
      },
    });
  }
  const expected = DEPLOYMENTS * REPLICAS;
  for (;;) {
    const list = await core.listPodForAllNamespaces({
      fieldSelector: 'status.phase=Running',
    });
    if (list.items.length >= expected) break;
    await new Promise(r => setTimeout(r, 250));
  }
  // Let the simulated controller settle (no more writes) so it does not compete with the timed lists.
  let lastRv = '';
  for (;;) {
    const rv = (await core.listNamespace()).metadata?.resourceVersion ?? '';
    if (rv === lastRv) break;
    lastRv = rv;
    await new Promise(r => setTimeout(r, 1000));
  }
  console.log(
    `seeded ${NODES} nodes, ${DEPLOYMENTS} deployments, ${expected} running pods in ${(
      (Date.now() - t0) /
      1000
    ).toFixed(1)}s`,
  );
  console.log(`heap used after seeding: ${heapMiB()} MiB`);

  const timings: number[] = [];
  let count = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    const list = await core.listPodForAllNamespaces();
    timings.push(Number(process.hrtime.bigint() - start) / 1e6);
    count = list.items.length;
  }
  timings.sort((a, b) => a - b);
  console.log(
    `list all ${count} pods through @kubernetes/client-node, ${ITERATIONS} iterations:`,
  );
  console.log(
    `  p50 ${percentile(timings, 50).toFixed(1)} ms   p95 ${percentile(
      timings,
      95,
    ).toFixed(1)} ms   min ${timings[0].toFixed(1)} ms   max ${timings[
      timings.length - 1
    ].toFixed(1)} ms`,
  );

  // The same list as raw HTTP + JSON.parse, to show how much of the time is the client's deserialization.
  const raw: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    const res = await fetch(`${sim.url}/api/v1/pods`, {
      headers: { Authorization: `Bearer ${sim.token}` },
    });
    JSON.parse(await res.text());
    raw.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  raw.sort((a, b) => a - b);
  console.log(
    `  raw HTTP + JSON.parse (no client-node): p50 ${percentile(
      raw,
      50,
    ).toFixed(1)} ms   p95 ${percentile(raw, 95).toFixed(1)} ms`,
  );

  const paged: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    let cont: string | undefined;
    do {
      const page = await core.listPodForAllNamespaces({
        limit: 500,
        _continue: cont,
      });
      cont = page.metadata?._continue;
    } while (cont);
    paged.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  paged.sort((a, b) => a - b);
  console.log(
    `  paged (limit=500): p50 ${percentile(paged, 50).toFixed(1)} ms`,
  );

  const selector: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    await core.listPodForAllNamespaces({
      labelSelector: `backstage.io/kubernetes-id=svc-${i}`,
    });
    selector.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  selector.sort((a, b) => a - b);
  console.log(
    `  by label selector (10 of ${count}): p50 ${percentile(
      selector,
      50,
    ).toFixed(1)} ms   p95 ${percentile(selector, 95).toFixed(1)} ms`,
  );
  console.log(
    `heap used (kube-sim and client in one process): ${heapMiB()} MiB; rss ${(
      process.memoryUsage().rss /
      2 ** 20
    ).toFixed(1)} MiB`,
  );
  await sim.stop();
}

/**
 * What checking writes against the OpenAPI schemas costs: the same creates (raw HTTP POST of
 * Deployments, replicas 0 so the controller stays idle) and lists against kube-sim with and
 * without schema validation. Prints both and the ratio.
 */
interface Timing {
  create: number;
  list: number;
}

function sampleDeployment(name: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.25',
              ports: [{ containerPort: 80 }],
              env: [{ name: 'A', value: 'b' }],
              resources: { requests: { cpu: '50m', memory: '64Mi' } },
            },
          ],
        },
      },
    },
  });
}

async function schemaCost() {
  const CREATES = 1000;
  const measure = async (schemaValidation: boolean): Promise<Timing> => {
    const sim = await startKubeSim({
      seed: 'empty',
      nodes: 0,
      schemaValidation,
    });
    const headers = {
      Authorization: `Bearer ${sim.token}`,
      'Content-Type': 'application/json',
    };
    await fetch(`${sim.url}/api/v1/namespaces`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ metadata: { name: 'schema' } }),
    });
    const creates: number[] = [];
    for (let i = 0; i < CREATES; i++) {
      const name = `d-${i}`;
      const body = sampleDeployment(name);
      const start = process.hrtime.bigint();
      const res = await fetch(
        `${sim.url}/apis/apps/v1/namespaces/schema/deployments`,
        { method: 'POST', headers, body },
      );
      await res.text();
      creates.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const lists: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const start = process.hrtime.bigint();
      const res = await fetch(`${sim.url}/apis/apps/v1/deployments`, {
        headers,
      });
      JSON.parse(await res.text());
      lists.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    await sim.stop();
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return { create: total(creates), list: total(lists) };
  };
  // Warm up (module loading, JIT, parsing the OpenAPI documents), then alternate the two so load
  // from other work on the machine falls on both; the best of each is compared.
  await measure(true);
  const runs = { on: [] as Timing[], off: [] as Timing[] };
  for (let round = 0; round < 2; round++) {
    runs.off.push(await measure(false));
    runs.on.push(await measure(true));
  }
  const best = (xs: Timing[], k: keyof Timing) =>
    Math.min(...xs.map(x => x[k]));
  const ratio = (k: keyof Timing) => best(runs.on, k) / best(runs.off, k);
  console.log(
    `schema validation: ${CREATES} Deployment creates (raw HTTP), best of 2: ${best(
      runs.on,
      'create',
    ).toFixed(0)} ms with vs ${best(runs.off, 'create').toFixed(
      0,
    )} ms without: ratio ${ratio('create').toFixed(3)} (cost ${(
      (ratio('create') - 1) *
      100
    ).toFixed(1)}%)`,
  );
  console.log(
    `  list all ${CREATES} Deployments x${ITERATIONS}: ${best(
      runs.on,
      'list',
    ).toFixed(0)} ms with vs ${best(runs.off, 'list').toFixed(
      0,
    )} ms without: ratio ${ratio('list').toFixed(3)} (lists are not validated)`,
  );
  // The check on its own, in process: what it adds to each create, whatever the machine's load.
  const validator = new SchemaValidator(recordedOpenApi);
  const deployments = new ResourceRegistry().find('apps', 'v1', 'deployments')!;
  const body = JSON.parse(sampleDeployment('probe'));
  const start = process.hrtime.bigint();
  for (let i = 0; i < 10000; i++)
    validator.decode(deployments, JSON.parse(JSON.stringify(body)), 'Warn', []);
  const perCheck = Number(process.hrtime.bigint() - start) / 1e6 / 10000;
  console.log(
    `  one Deployment schema check (incl. a JSON copy): ${(
      perCheck * 1000
    ).toFixed(1)} µs; a create without checks took ${(
      best(runs.off, 'create') / CREATES
    ).toFixed(2)} ms on average: ${(
      (perCheck / (best(runs.off, 'create') / CREATES)) *
      100
    ).toFixed(1)}% of it`,
  );
}

// `yarn bench --schema-only` measures only what schema validation costs.
(process.argv.includes('--schema-only')
  ? schemaCost()
  : main().then(schemaCost)
).catch(e => {
  console.error(e);
  process.exit(1);
});
