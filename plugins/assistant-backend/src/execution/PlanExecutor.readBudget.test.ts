import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { TableResult, TextResult } from '@kubechart/plugin-assistant-common';
import { countingProxy } from '../__testUtils__/countingProxy';
import { ClusterRegistry } from './clusters';
import { MAX_PRINTED_FIELDS, PlanExecutor, countFields } from './PlanExecutor';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
/** What the executors below may read for one answer. */
const BUDGET = 12 * MiB;
/** ConfigMaps of 1 MiB each in namespace `big`: more than one answer may read. */
const BIG = 30;

const configMap = (
  name: string,
  namespace: string,
  data: Record<string, string>,
) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});

/**
 * What one answer reads from the cluster is bounded in bytes, whatever the objects it reaches
 * hold; what it prints, in fields. A table says where it stopped; other commands are refused with
 * how to ask for less, never answered from part of what they need.
 */
describe('PlanExecutor read budget', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200, maxReadBytes: BUDGET });
  const kc = () => registry.kubeConfig('sim');
  /** The bytes the cluster sends while `work` runs (headers and TLS included). */
  async function sent<T>(work: () => Promise<T>) {
    const before = proxy.counted.bytes;
    const result = await work().catch(e => e);
    return { result, bytes: proxy.counted.bytes - before };
  }

  beforeAll(async () => {
    const manyKeys: Record<string, string> = {};
    for (let i = 0; i <= MAX_PRINTED_FIELDS; i++) manyKeys[`k${i}`] = `${i}`;
    const fewKeys: Record<string, string> = {};
    for (let i = 0; i < 100; i++) fewKeys[`k${i}`] = `${i}`;
    sim = await startKubeSim({
      tls: true,
      objects: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'big' } },
        ...Array.from({ length: BIG }, (_, i) =>
          configMap(`filler-${i}`, 'big', { blob: 'x'.repeat(MiB - 1024) }),
        ),
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'keys' } },
        configMap('many-keys', 'keys', manyKeys),
        configMap('few-keys', 'keys', fewKeys),
        configMap('long-value', 'keys', { page: 'x'.repeat(300_000) }),
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'small' } },
        ...Array.from({ length: 30 }, (_, i) =>
          configMap(`settings-${i}`, 'small', { mode: 'on' }),
        ),
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

  it('shows the rows it could read of a list larger than one answer may read, and says it stopped', async () => {
    const { result, bytes } = await sent(() =>
      executor.execute(
        { verb: 'get', resource: 'configmaps', namespace: 'big' },
        kc(),
      ),
    );
    const table = result as TableResult;
    expect(table.type).toBe('table');
    expect(table.rows.length).toBeGreaterThan(0);
    expect(table.rows.length).toBeLessThan(BIG);
    expect(table.truncated).toContain(
      'The assistant stopped reading at 12 MiB of configmaps, its most for one answer.',
    );
    // What the cluster sent: the budget, and what was under way when an answer that had passed
    // its bound was given up (in the sockets' buffers; more on a loaded machine), headers and TLS.
    // Read whole, the list is 30 MiB.
    expect(bytes).toBeLessThan(BUDGET + 4 * MiB);
  });

  it('refuses a description it cannot read whole, with how to ask for less', async () => {
    const { result, bytes } = await sent(() =>
      executor.execute(
        { verb: 'describe', resource: 'configmaps', namespace: 'big' },
        kc(),
      ),
    );
    expect(result).toBeInstanceOf(Error);
    expect(result.name).toBe('InputError');
    expect(result.message).toBe(
      'The answer needs more than the 12 MiB the assistant reads from the cluster for one question (kubeAssistant.limits.readMegabytesPerAnswer): ask about fewer configmaps (name one, a namespace or a label selector), or use kubectl',
    );
    expect(bytes).toBeLessThan(BUDGET + 4 * MiB);
  });

  it('reads and answers lists of small objects whole, as before', async () => {
    const table = (await executor.execute(
      { verb: 'get', resource: 'configmaps', namespace: 'small' },
      kc(),
    )) as TableResult;
    expect(table.rows.map(r => r[0]).sort()).toEqual(
      [
        // The namespace's own, which the cluster adds to every namespace.
        'kube-root-ca.crt',
        ...Array.from({ length: 30 }, (_, i) => `settings-${i}`),
      ].sort(),
    );
    expect(table.truncated).toBeUndefined();
  });

  it('refuses to print an object of more fields than one answer prints, and prints a smaller one', async () => {
    const refused = await executor
      .execute(
        {
          verb: 'get',
          resource: 'configmaps',
          namespace: 'keys',
          name: 'many-keys',
          output: 'yaml',
        },
        kc(),
      )
      .catch(e => e);
    expect(refused.name).toBe('InputError');
    expect(refused.message).toBe(
      'configmap/many-keys has more fields than the assistant can print in one answer (10,000): read it with kubectl',
    );
    const described = await executor
      .execute(
        {
          verb: 'describe',
          resource: 'configmaps',
          namespace: 'keys',
          name: 'many-keys',
        },
        kc(),
      )
      .catch(e => e);
    expect(described.message).toBe(
      'configmap/many-keys has more fields than the assistant can describe in one answer (10,000): read it with kubectl',
    );
    const printed = (await executor.execute(
      {
        verb: 'get',
        resource: 'configmaps',
        namespace: 'keys',
        name: 'few-keys',
        output: 'json',
      },
      kc(),
    )) as TextResult;
    expect(JSON.parse(printed.text).data.k99).toBe('99');
  });

  it('refuses to print an object of more characters than one answer prints', async () => {
    const error = await executor
      .execute(
        {
          verb: 'get',
          resource: 'configmaps',
          namespace: 'keys',
          name: 'long-value',
          output: 'yaml',
        },
        kc(),
      )
      .catch(e => e);
    expect(error.name).toBe('InputError');
    expect(error.message).toBe(
      'configmap/long-value is larger than the assistant can print in one answer (262,144 characters): read it with kubectl',
    );
  });

  it('refuses one object larger than one answer of the cluster may be', async () => {
    const small = new PlanExecutor({ maxRows: 200, maxReadBytes: MiB / 2 });
    const error = await small
      .execute(
        {
          verb: 'get',
          resource: 'configmaps',
          namespace: 'big',
          name: 'filler-0',
          output: 'yaml',
        },
        kc(),
      )
      .catch(e => e);
    expect(error.name).toBe('InputError');
    expect(error.message).toContain(
      'The answer needs more than the 512 KiB the assistant reads from the cluster for one question',
    );
  });
});

describe('countFields', () => {
  it('counts values, keys and list entries', () => {
    // The object, its two keys and their values; the list's two entries.
    expect(countFields({ a: 1, b: [2, 3] }, 100)).toBe(7);
  });

  it('stops past the most it is asked about, whatever one list holds', () => {
    expect(countFields(new Array(2_000_000).fill(0), 10)).toBe(11);
    expect(countFields({ data: new Array(2_000_000).fill('x') }, 10)).toBe(11);
  });
});
