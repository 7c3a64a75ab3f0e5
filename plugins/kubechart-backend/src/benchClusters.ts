/*
 * Bench helper, run as a child process by bench.ts: kube-sim clusters in a process of their own, so
 * the API servers' work (seeding, serving lists) does not run on the event loop whose health
 * answers the bench times. Options come as JSON in argv[2]; it sends `{ ready: [...] }` (URL, token
 * and CA of each cluster) once every one listens (its controllers then roll the Deployments out), and
 * takes `{ expireWatches: index }` (the 410 fault) and `{ stop: true }`.
 */
/* eslint-disable no-console */
// The bench is development tooling, like the tests: kube-sim is a dev dependency on purpose.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { KubeObject, KubeSim, startKubeSim } from '@internal/kube-sim';

/** One simulated cluster: `nodes` nodes, `namespaces` × `deployments` Deployments of `replicas` pods. */
export interface BenchClusterSpec {
  nodes: number;
  namespaces: number;
  deployments: number;
  replicas: number;
}

/** The Deployments of a cluster, created inside kube-sim at start (no API round trip each). */
function workloads(spec: BenchClusterSpec): KubeObject[] {
  const objects: KubeObject[] = [];
  for (let n = 0; n < spec.namespaces; n++) {
    const namespace = `bench-${n}`;
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    for (let i = 0; i < spec.deployments; i++) {
      objects.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        // Each Deployment a Helm release of its own, as tenant health counts them.
        metadata: {
          name: `app-${i}`,
          namespace,
          annotations: { 'meta.helm.sh/release-name': `app-${i}` },
        },
        spec: {
          replicas: spec.replicas,
          selector: { matchLabels: { app: `app-${i}` } },
          template: {
            metadata: { labels: { app: `app-${i}` } },
            spec: {
              containers: [
                {
                  name: 'c',
                  image: 'registry.example.com/app:1.0',
                  resources: { requests: { cpu: '10m', memory: '16Mi' } },
                },
              ],
            },
          },
        },
      });
    }
  }
  return objects;
}

async function main() {
  const specs: BenchClusterSpec[] = JSON.parse(process.argv[2]);
  const sims: KubeSim[] = [];
  for (const spec of specs) {
    sims.push(
      await startKubeSim({
        tls: true,
        nodes: spec.nodes,
        podReadyDelayMs: 50,
        objects: workloads(spec),
        // Seeding writes each pod several times; keep enough history for informers' paged lists.
        watchCacheSize: 200_000,
      }),
    );
  }
  process.on('message', (m: any) => {
    if (m?.expireWatches !== undefined)
      sims[m.expireWatches].faults.expireWatches();
    if (m?.stop)
      void Promise.all(sims.map(s => s.stop())).then(() => process.exit(0));
  });
  process.send!({
    ready: sims.map(s => ({ url: s.url, token: s.token, caData: s.caData })),
  });
}

if (require.main === module) {
  main().catch(e => {
    console.error(e);
    process.exit(1);
  });
}
