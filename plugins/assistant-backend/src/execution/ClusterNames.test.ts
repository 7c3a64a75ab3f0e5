import { KubeSim, startKubeSim } from '@internal/kube-sim';
import {
  ClusterNames,
  MAX_LIST_BYTES,
  MAX_SELECTOR_READS,
  MAX_WORKLOAD_BYTES,
} from './ClusterNames';
import { ClusterRegistry } from './clusters';
import { countingProxy } from '../__testUtils__/countingProxy';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

function deployment(
  name: string,
  namespace: string,
  extra: { env?: string; annotation?: string } = {},
) {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      labels,
      ...(extra.annotation
        ? { annotations: { 'example.com/notes': extra.annotation } }
        : {}),
    },
    spec: {
      // No pods: a pod quota does not limit how many of these a tenant may have.
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.27',
              ...(extra.env
                ? { env: [{ name: 'BIG', value: extra.env }] }
                : {}),
            },
          ],
        },
      },
    },
  };
}

const namespace = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});

/**
 * The names a question is matched against are read as metadata only, bounded in bytes per kind;
 * a workload's selector only for the workloads a question names, each read bounded in bytes.
 */
describe('ClusterNames against kube-sim', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let registry: ClusterRegistry;
  /** 24 Deployments of 1 MiB each (one environment value): what the objects of `big` hold. */
  const BIG = 24;
  const big = 'x'.repeat(MiB);
  /** Deployments whose metadata alone (one annotation each) is more than a list may send. */
  const NOTED = 2 * Math.ceil(MAX_LIST_BYTES / (200 * 1024));
  const note = 'n'.repeat(200 * 1024);

  beforeAll(async () => {
    sim = await startKubeSim({
      tls: true,
      objects: [
        namespace('big'),
        ...Array.from({ length: BIG }, (_, i) =>
          deployment(`filler-${i}`, 'big', { env: big }),
        ),
        deployment('web', 'big'),
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web-svc', namespace: 'big' },
          spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
        },
        namespace('noted'),
        ...Array.from({ length: NOTED }, (_, i) =>
          deployment(`noted-${i}`, 'noted', { annotation: note }),
        ),
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'api', namespace: 'noted' },
          spec: { selector: { app: 'api' }, ports: [{ port: 80 }] },
        },
        ...Array.from({ length: MAX_SELECTOR_READS + 4 }, (_, i) => [
          namespace(`shop-${i}`),
          // StatefulSets: the Deployments of the whole cluster are more than a list may send.
          {
            ...deployment('cart', `shop-${i}`),
            kind: 'StatefulSet',
          },
        ]).flat(),
      ] as any,
    });
    proxy = await countingProxy(sim.port);
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: `https://127.0.0.1:${proxy.port}`,
        serviceAccountToken: sim.token,
        caData: sim.caData,
        skipTLSVerify: false,
      },
    ]);
  });

  afterAll(async () => {
    await proxy?.close();
    await sim?.stop();
  });

  it("reads a namespace's names without its large objects, and the selector of the workload asked about", async () => {
    const before = proxy.counted.bytes;
    const found = await new ClusterNames().lookup(
      'sim',
      registry.kubeConfig('sim'),
      ['pods', 'of', 'deployment', 'web', 'filler-3', 'web-svc', 'big'],
      { namespace: 'big' },
    );
    // The objects hold 24 MiB; their names and one small object's selector are a small part of it.
    const read = proxy.counted.bytes - before;
    expect(read).toBeLessThan(BIG * MiB * 0.05);
    expect(found).toEqual(
      expect.arrayContaining([
        { name: 'big', resource: 'namespaces' },
        {
          name: 'web',
          resource: 'deployments',
          namespace: 'big',
          selector: 'app=web',
        },
        // Known by its name; its object is more than a selector is read from.
        { name: 'filler-3', resource: 'deployments', namespace: 'big' },
        { name: 'web-svc', resource: 'services', namespace: 'big' },
      ]),
    );
    expect(found).toHaveLength(4);
    expect(MAX_WORKLOAD_BYTES).toBeLessThan(MiB);
  });

  it('knows no names of a kind whose metadata is more than a list may send', async () => {
    const before = proxy.counted.bytes;
    const found = await new ClusterNames().lookup(
      'sim',
      registry.kubeConfig('sim'),
      ['api', 'noted-0', 'noted'],
      { namespace: 'noted' },
    );
    // The Service is known; the Deployments, whose list was given up, are not.
    expect(found).toEqual([
      { name: 'noted', resource: 'namespaces' },
      { name: 'api', resource: 'services', namespace: 'noted' },
    ]);
    // Given up once past the limit, not read to its end (NOTED × 200 KiB, twice the limit): what
    // the cluster sent is the limit and what was under way when its pages were given up.
    expect(proxy.counted.bytes - before).toBeLessThan(MAX_LIST_BYTES + 4 * MiB);
  });

  it('reads the selectors of a few named workloads, those in a namespace the question names first, once per cache period', async () => {
    const kc = registry.kubeConfig('sim');
    const requests = jest.spyOn(kc, 'applyToHTTPSOptions');
    const names = new ClusterNames();
    const words = ['pods', 'of', 'cart', 'in', 'shop-9'];
    const found = await names.lookup('sim', kc, words);
    const carts = found.filter(o => o.resource === 'statefulsets');
    expect(carts).toHaveLength(MAX_SELECTOR_READS + 4);
    // The one in the namespace named, and no more than the bound, have their selector.
    expect(carts.find(o => o.namespace === 'shop-9')?.selector).toBe(
      'app=cart',
    );
    expect(carts.filter(o => o.selector)).toHaveLength(MAX_SELECTOR_READS);
    expect(
      carts.every(o => o.selector === undefined || o.selector === 'app=cart'),
    ).toBe(true);
    // A page (at least one) per kind listed, one request per selector read.
    const listed = requests.mock.calls.length - MAX_SELECTOR_READS;
    expect(listed).toBeGreaterThanOrEqual(9);
    // Asked again within the cache period: nothing is read again.
    expect(await names.lookup('sim', kc, words)).toEqual(found);
    expect(requests.mock.calls.length).toBe(listed + MAX_SELECTOR_READS);
  });
});
