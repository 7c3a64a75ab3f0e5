import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  V1ConfigMap,
} from '@kubernetes/client-node';
import https from 'node:https';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';
import { listInPages } from './listInPages';
import { makeListPages, PageTooLong } from './listPages';
import { trimEvent, trimWorkload } from './trimmedInformer';

jest.setTimeout(120_000);

/**
 * A tenant may write any ordinary object of its namespace, each up to the API server's 1.5 MB, and
 * the kubelet quotes image names (of any length) into events and pod status. None of it is asked for
 * by a request: the health cache reads it on its own, when it starts and when it lists again. What it
 * keeps of such objects, and how much it reads and parses at once, is bounded.
 */

const SECRET = 'Sup3rS3cretPw';
/** A message of about 1.2 MB, with a secret near its start and one at its end. */
const HUGE_MESSAGE = `Failed to pull image "registry.example.com/${'a'.repeat(
  1_200_000,
)}": password=${SECRET} rejected; token=${SECRET}`;
const HUGE_BYTES = Buffer.byteLength(HUGE_MESSAGE);

async function eventually<T>(
  fn: () => T,
  check: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

/**
 * Counts the bytes each list request's response hands its reader (`https.get` wrapped), the way
 * `countingReads` counts work: what a page costs, counted instead of timed.
 */
function countingResponseBytes(): { bytes: number[]; restore: () => void } {
  const get = https.get;
  const bytes: number[] = [];
  const spy = jest
    .spyOn(https, 'get')
    .mockImplementation((url: any, options: any, callback?: any) => {
      const index = bytes.push(0) - 1;
      return (get as any)(url, options, (response: any) => {
        response.on('data', (chunk: Buffer) => {
          bytes[index] += chunk.length;
        });
        callback?.(response);
      });
    });
  return { bytes, restore: () => spy.mockRestore() };
}

describe('a message longer than health keeps', () => {
  it('is kept as a note saying how many bytes were not kept, with nothing of the message (no half secret)', () => {
    const trimmed = trimEvent({
      metadata: { name: 'e' },
      involvedObject: { kind: 'Pod', name: 'web-1' },
      type: 'Warning',
      reason: 'Failed',
      message: HUGE_MESSAGE,
    });
    expect(trimmed.message).toBe(
      `(a message of ${HUGE_BYTES} bytes, not kept: health keeps messages of up to 1024 bytes)`,
    );
    expect(JSON.stringify(trimmed).length).toBeLessThan(1_500);
  });

  it("bounds an event's reason and the name and kind of what it is about too", () => {
    const trimmed = trimEvent({
      metadata: { name: 'e' },
      involvedObject: { kind: 'K'.repeat(300), name: 'n'.repeat(1_000_000) },
      type: 'Warning',
      reason: `Failed ${HUGE_MESSAGE}`,
      message: 'x',
    });
    expect(JSON.stringify(trimmed).length).toBeLessThan(1_500);
    expect(trimmed.involvedObject).toEqual({
      kind: '(a name of 300 bytes, not kept)',
      name: '(a name of 1000000 bytes, not kept)',
    });
  });

  it('up to the bound, is kept whole with its secrets hidden', () => {
    const message = `probe failed: ${'b'.repeat(980)} password=${SECRET}`;
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(1024);
    expect(
      trimEvent({
        metadata: { name: 'e' },
        involvedObject: {},
        type: 'Warning',
        message,
      }).message,
    ).toBe(`probe failed: ${'b'.repeat(980)} password=***`);
    // Bytes, not characters: 400 three-byte characters are 1200 bytes.
    expect(
      trimEvent({
        metadata: { name: 'e' },
        involvedObject: {},
        type: 'Warning',
        message: '€'.repeat(400),
      }).message,
    ).toBe(
      '(a message of 1200 bytes, not kept: health keeps messages of up to 1024 bytes)',
    );
  });
});

describe('the health cache reading large objects of a tenant', () => {
  let sim: KubeSim;
  let kubeConfig: KubeConfig;
  beforeAll(async () => {
    sim = await startSim({ nodes: 1 });
    kubeConfig = ClusterRegistry.fromConfig(
      new ConfigReader(testConfig(sim)),
    ).kubeConfig('dev');
  });
  afterAll(() => sim.stop());

  it('keeps a note, not the message, of warning events of 1.2 MB, and answers with alerts of a few hundred bytes', async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'loud' } } });
    for (let i = 0; i < 4; i++)
      await core.createNamespacedEvent({
        namespace: 'loud',
        body: {
          metadata: { name: `huge-${i}` },
          involvedObject: {
            kind: 'Pod',
            namespace: 'loud',
            name: `web-${i}`,
            apiVersion: 'v1',
          },
          type: 'Warning',
          reason: 'Failed',
          message: HUGE_MESSAGE,
          lastTimestamp: new Date(`2026-01-01T10:00:0${i}Z`),
        },
      });
    const cache = new ClusterHealthCache(
      'dev',
      kubeConfig,
      mockServices.logger.mock(),
      {
        minRecomputeIntervalMs: 0,
      },
    );
    try {
      await cache.start();
      const health = await eventually(
        () => cache.health(),
        h => h.alerts.filter(a => a.namespace === 'loud').length === 4,
      );
      const loud = health.alerts.filter(a => a.namespace === 'loud');
      expect(loud.map(a => a.message)).toEqual(
        Array(4).fill(
          `(a message of ${HUGE_BYTES} bytes, not kept: health keeps messages of up to 1024 bytes)`,
        ),
      );
      expect(JSON.stringify(health).length).toBeLessThan(10_000);
      expect(JSON.stringify(health)).not.toContain(SECRET);
    } finally {
      await cache.stop();
    }
  });

  it('keeps of workloads and pods what health reads, not 20,000 labels, annotations or pod templates, listed or watched', async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'labelled' } } });
    const labels: Record<string, string> = { app: 'web' };
    for (let i = 0; i < 20_000; i++) labels[`l${i}`] = 'v';
    const deployment = (name: string) => ({
      metadata: {
        name,
        labels,
        annotations: {
          'meta.helm.sh/release-name': 'shop',
          'example.com/big': 'x'.repeat(100_000),
        },
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'registry.example.com/web:1',
                env: [{ name: 'BIG', value: 'y'.repeat(100_000) }],
              },
            ],
          },
        },
      },
    });
    const pod = (name: string) => ({
      metadata: { name, labels },
      spec: {
        containers: [{ name: 'c', image: 'registry.example.com/web:1' }],
      },
    });
    await apps.createNamespacedDeployment({
      namespace: 'labelled',
      body: deployment('listed'),
    });
    await core.createNamespacedPod({
      namespace: 'labelled',
      body: pod('listed'),
    });
    const cache = new ClusterHealthCache(
      'dev',
      kubeConfig,
      mockServices.logger.mock(),
      {
        minRecomputeIntervalMs: 0,
      },
    );
    try {
      await cache.start();
      await apps.createNamespacedDeployment({
        namespace: 'labelled',
        body: deployment('watched'),
      });
      await core.createNamespacedPod({
        namespace: 'labelled',
        body: pod('watched'),
      });
      const held = await eventually(
        () => cache.inNamespace('labelled'),
        h => h.deployments.length === 2 && h.pods.length === 2,
      );
      expect(held.deployments.map(d => d.metadata?.name).sort()).toEqual([
        'listed',
        'watched',
      ]);
      for (const d of held.deployments) {
        // What tenant health attributes a workload by, and what it selects its pods with.
        expect(d.metadata?.annotations).toEqual({
          'meta.helm.sh/release-name': 'shop',
        });
        expect(d.metadata?.labels).toBeUndefined();
        expect(d.spec?.selector).toEqual({ matchLabels: { app: 'web' } });
        expect(d.spec?.replicas).toBe(0);
        expect(JSON.stringify(d).length).toBeLessThan(2_000);
      }
      expect(held.pods.map(p => p.metadata?.name).sort()).toEqual([
        'listed',
        'watched',
      ]);
      for (const p of held.pods)
        expect(JSON.stringify(p).length).toBeLessThan(2_000);
    } finally {
      await cache.stop();
    }
  });

  describe('list pages', () => {
    const path = '/api/v1/namespaces/bulky/configmaps';
    beforeAll(async () => {
      const core = kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'bulky' } } });
      for (let i = 0; i < 5; i++)
        await core.createNamespacedConfigMap({
          namespace: 'bulky',
          body: {
            metadata: { name: `cm-${i}` },
            data: { big: String(i).repeat(1_200_000) },
          },
        });
    });

    const keepName = (cm: V1ConfigMap): V1ConfigMap => ({
      metadata: { name: cm.metadata?.name },
    });

    it('stop reading a page past 4 MiB and ask that page again for fewer objects', async () => {
      const pages = makeListPages(kubeConfig);
      const counting = countingResponseBytes();
      try {
        const names: string[] = [];
        for await (const page of listInPages(
          pages.list<V1ConfigMap>(path),
          keepName,
        ))
          names.push(
            ...page.items
              .map(cm => cm.metadata?.name ?? '')
              .filter(name => name.startsWith('cm-')),
          );
        expect(names).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4']);
        // Five objects of 1.2 MB are 6 MB in one page of 100: no response is read much past 4 MiB
        // (what the socket had already delivered when the bound was passed, at most a chunk).
        expect(Math.max(...counting.bytes)).toBeLessThan(
          4 * 1024 * 1024 + 256 * 1024,
        );
      } finally {
        counting.restore();
        pages.close();
      }
    });

    it('trim the items of a page in turns of the event loop, not the whole page in one', async () => {
      const pages = makeListPages(kubeConfig);
      let turn = 0;
      let ticking = true;
      const tick = () => {
        turn++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const turnOfItem: number[] = [];
      try {
        const page = await pages.list<V1ConfigMap>(path)({ limit: 3 }, cm => {
          turnOfItem.push(turn);
          return keepName(cm);
        });
        expect(page.items).toHaveLength(3);
        // Three objects of 1.2 MB in a page of 3.6 MB: other work had a turn between each two.
        expect(turnOfItem).toHaveLength(3);
        expect(new Set(turnOfItem).size).toBe(3);
      } finally {
        ticking = false;
        pages.close();
      }
    });
  });
});

describe('bounds that fail closed', () => {
  it('a list whose one object alone is longer than a page is read fails with the reason, nothing left out silently', async () => {
    const limits: number[] = [];
    const pages = listInPages<V1ConfigMap>(async ({ limit }) => {
      limits.push(limit);
      throw new PageTooLong('too long', 4 * 1024 * 1024 + 1);
    });
    await expect(pages.next()).rejects.toThrow(
      'an object of the list is longer than the 4194304 bytes health reads at once',
    );
    expect(limits).toEqual([100, 10, 1]);
  });

  it('a workload keeps its StatefulSet partition, and no release annotation Helm could not have written', () => {
    const kept = trimWorkload({
      metadata: {
        name: 's',
        namespace: 'n',
        generation: 2,
        labels: { app: 's' },
        annotations: { 'meta.helm.sh/release-name': 'r'.repeat(54) },
      },
      spec: {
        replicas: 3,
        serviceName: 's',
        selector: { matchLabels: { app: 's' } },
        template: {},
        updateStrategy: {
          type: 'RollingUpdate',
          rollingUpdate: { partition: 2, maxUnavailable: 1 },
        },
      },
      status: {
        replicas: 3,
        readyReplicas: 3,
        observedGeneration: 2,
        updatedReplicas: 1,
        updateRevision: 's-2',
        currentRevision: 's-1',
        conditions: [{ type: 'Other', status: 'True', message: 'x' }],
      },
    });
    expect(kept).toEqual({
      metadata: {
        name: 's',
        namespace: 'n',
        uid: undefined,
        resourceVersion: undefined,
        generation: 2,
      },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 's' }, matchExpressions: undefined },
        updateStrategy: {
          type: 'RollingUpdate',
          rollingUpdate: { partition: 2 },
        },
      },
      status: expect.objectContaining({
        replicas: 3,
        readyReplicas: 3,
        observedGeneration: 2,
        updatedReplicas: 1,
        updateRevision: 's-2',
        currentRevision: 's-1',
        conditions: [],
      }),
    });
  });
});
