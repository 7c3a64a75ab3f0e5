import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import type { ClusterHealth } from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  CoreV1Api,
  Metrics,
  PatchStrategy,
  V1Node,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';
import { parseCpu, parseMemory } from './quantity';

jest.setTimeout(60_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

/**
 * Utilisation is the share of the capacity new pods can use: a cluster with half its nodes down or
 * cordoned is not half as busy.
 */
describe('cluster utilisation of the nodes that take pods', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  const core = () => registry.kubeConfig('dev').makeApiClient(CoreV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const cordon = (name: string, unschedulable: boolean) =>
    core().patchNode(
      {
        name,
        body: [
          { op: 'add', path: '/spec/unschedulable', value: unschedulable },
        ],
      },
      jsonPatch,
    );
  const setReady = async (name: string, ready: boolean) => {
    const node = await core().readNodeStatus({ name });
    const conditions = (node.status?.conditions ?? []).map(c =>
      c.type === 'Ready' ? { ...c, status: ready ? 'True' : 'False' } : c,
    );
    await core().patchNodeStatus(
      {
        name,
        body: [
          { op: 'replace', path: '/status/conditions', value: conditions },
        ],
      },
      jsonPatch,
    );
  };
  const alloc = (nodes: V1Node[]) => ({
    cpu: nodes.reduce((s, n) => s + parseCpu(n.status?.allocatable?.cpu), 0),
    memory: nodes.reduce(
      (s, n) => s + parseMemory(n.status?.allocatable?.memory),
      0,
    ),
  });

  beforeAll(async () => {
    sim = await startSim({ nodes: 4 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
    // One pod of 1 CPU and 1 GiB on each node but the third.
    await core().createNamespace({ body: { metadata: { name: 'capacity' } } });
    const names = (await core().listNode()).items
      .map(n => n.metadata!.name!)
      .sort();
    for (const name of [names[0], names[1], names[3]])
      await core().createNamespacedPod({
        namespace: 'capacity',
        body: {
          metadata: { name: `on-${name}` },
          spec: {
            nodeName: name,
            containers: [
              {
                name: 'c',
                image: 'registry.example.com/x:1',
                resources: { requests: { cpu: '1', memory: '1Gi' } },
              },
            ],
          },
        },
      });
  });
  afterAll(() => sim.stop());

  it("counts only Ready, schedulable nodes' capacity and the requests on them, and says how many nodes it leaves out", async () => {
    const cache = new ClusterHealthCache(
      'dev',
      registry.kubeConfig('dev'),
      mockServices.logger.mock(),
      { minRecomputeIntervalMs: 0, metricsIntervalMs: 3_600_000 },
    );
    await cache.start();
    try {
      // Usage from requests: metrics.k8s.io fails.
      await eventually(
        () => cache.health().utilisation.source,
        source => source === 'metrics',
      );
      sim.faults.failVerb({ verb: 'list', resource: 'nodes', status: 503 });
      await cache.refreshMetrics();
      sim.faults.clear();
      const nodes = (await core().listNode()).items;
      const [n1, n2, n3, n4] = nodes.map(n => n.metadata!.name!).sort();
      const all = alloc(nodes);
      const before = await eventually(
        () => cache.health().utilisation,
        u => u.cpu >= 3 / all.cpu - 1e-9,
      );
      expect(before.cpu).toBeCloseTo(3 / all.cpu, 9);
      expect(before.source).toBe('requests');

      // n2 is cordoned (its pod runs on), n3 goes NotReady: only n1 and n4 take new pods, each
      // running one pod.
      await cordon(n2, true);
      await setReady(n3, false);
      const taking = alloc(
        (await core().listNode()).items.filter(n =>
          [n1, n4].includes(n.metadata!.name!),
        ),
      );
      const after = await eventually(
        () => cache.health(),
        h => h.utilisation.excludedNodes === 2,
      );
      expect(after.utilisation.cpu).toBeCloseTo(2 / taking.cpu, 9);
      expect(after.utilisation.memory).toBeCloseTo(
        (2 * 2 ** 30) / taking.memory,
        9,
      );
      expect(after.nodes).toEqual({ ready: 3, total: 4 });
      expect(after.utilisation).toMatchObject({
        source: 'requests',
        excludedNodes: 2,
      });
      expect(before.excludedNodes).toBe(0);

      // No node takes pods: nothing is left of the capacity, which is not an idle cluster.
      await cordon(n1, true);
      await cordon(n4, true);
      const none = await eventually(
        () => cache.health().utilisation,
        u => u.excludedNodes === 4,
      );
      expect(none).toMatchObject({ cpu: 1, memory: 1, excludedNodes: 4 });
    } finally {
      await cache.stop();
      for (const n of (await core().listNode()).items) {
        await cordon(n.metadata!.name!, false);
        await setReady(n.metadata!.name!, true);
      }
    }
  });

  it("divides the metrics API's usage of the nodes that take pods by their capacity", async () => {
    const cache = new ClusterHealthCache(
      'dev',
      registry.kubeConfig('dev'),
      mockServices.logger.mock(),
      { minRecomputeIntervalMs: 0, metricsIntervalMs: 200 },
    );
    await cache.start();
    try {
      const nodes = (await core().listNode()).items;
      const [n1, n2, n3, n4] = nodes.map(n => n.metadata!.name!).sort();
      await cordon(n2, true);
      await setReady(n3, false);
      const h: ClusterHealth = await eventually(
        () => cache.health(),
        x =>
          x.utilisation.source === 'metrics' &&
          x.utilisation.excludedNodes === 2,
      );
      const taking = [n1, n4];
      const usage = (
        await new Metrics(registry.kubeConfig('dev')).getNodeMetrics()
      ).items.filter(m => taking.includes(m.metadata.name));
      const capacity = alloc(
        (await core().listNode()).items.filter(n =>
          taking.includes(n.metadata!.name!),
        ),
      );
      // kube-sim's usage of a node is stable: what the cache read is what the test reads.
      expect(h.utilisation.cpu).toBeCloseTo(
        usage.reduce((s, m) => s + parseCpu(m.usage.cpu), 0) / capacity.cpu,
        6,
      );
      expect(h.utilisation.memory).toBeCloseTo(
        usage.reduce((s, m) => s + parseMemory(m.usage.memory), 0) /
          capacity.memory,
        6,
      );
    } finally {
      await cache.stop();
      for (const n of (await core().listNode()).items) {
        await cordon(n.metadata!.name!, false);
        await setReady(n.metadata!.name!, true);
      }
    }
  });
});
