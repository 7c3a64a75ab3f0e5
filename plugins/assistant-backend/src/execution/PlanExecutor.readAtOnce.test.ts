import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { TableResult, TextResult } from '@kubechart/plugin-assistant-common';
import { recordingProxy } from '../__testUtils__/recordingProxy';
import { ClusterRegistry } from './clusters';
import { PlanExecutor, refusedByExecutor } from './PlanExecutor';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
/** ConfigMaps of 10 KiB each in namespace `mid`: 6 MiB in all, read over several pages. */
const MID = 600;

/**
 * What the backend holds of what it read from clusters, all answers under way together, is
 * bounded: a run that would hold more is refused with the reason (and recorded as refused), and a
 * table holds one page of objects at a time, whatever it reads in all.
 */
describe('PlanExecutor: what all answers under way hold at once', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let registry: ClusterRegistry;
  const kc = () => registry.kubeConfig('sim');

  beforeAll(async () => {
    sim = await startKubeSim({
      objects: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mid' } },
        ...Array.from({ length: MID }, (_, i) => ({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: `mid-${String(i).padStart(3, '0')}`,
            namespace: 'mid',
          },
          data: { blob: 'x'.repeat(10 * 1024 - 300) },
        })),
      ] as any,
    });
    proxy = await recordingProxy(sim.url);
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

  afterEach(() => {
    proxy.holdRead = undefined;
  });

  it('refuses a run that would hold more than all answers may hold at once, and runs it once the others are done', async () => {
    const executor = new PlanExecutor({
      maxRows: 200,
      maxReadBytes: 12 * MiB,
      maxReadBytesAtOnce: 10 * MiB,
    });
    // The first description reads every ConfigMap of `mid` (6 MiB), then stays under way.
    let letGo = () => {};
    const reached = new Promise<void>(resolve => {
      const gate = new Promise<void>(go => {
        letGo = go;
      });
      // Its first request for the events of what it describes, only.
      proxy.holdRead = path => {
        if (!path.includes('/events')) return undefined;
        proxy.holdRead = undefined;
        resolve();
        return gate;
      };
    });
    const describe = {
      verb: 'describe',
      resource: 'configmaps',
      namespace: 'mid',
    } as const;
    const first = executor.execute(describe, kc());
    await reached;

    // A table reads the same 6 MiB, a page at a time, in the 4 MiB left: it is answered whole.
    const table = (await executor.execute(
      { verb: 'get', resource: 'configmaps', namespace: 'mid', sortBy: 'name' },
      kc(),
    )) as TableResult;
    expect(table.type).toBe('table');
    expect(table.totalRows).toBe(MID + 1);
    expect(table.rows[0][0]).toBe('kube-root-ca.crt');
    expect(table.rows[1][0]).toBe('mid-000');
    expect(table.truncated).toBe(
      'Showing 200 of 601 rows; narrow the question to see the rest.',
    );

    // A second description would hold 6 MiB more: refused, with why and what to do.
    const second = await executor.execute(describe, kc()).catch(e => e);
    expect(second).toBeInstanceOf(Error);
    expect(second.name).toBe('ServiceUnavailableError');
    expect(second.message).toBe(
      'The assistant already holds the most it reads from clusters at once (10 MiB, kubeAssistant.limits.readMegabytesAtOnce) for the answers under way: try again when they are done, or ask about fewer configmaps (name one, a namespace or a label selector)',
    );
    // Recorded and audited as refused, not as failed.
    expect(refusedByExecutor(second)).toBe(true);

    letGo();
    const done = (await first) as TextResult;
    expect(done.truncated).toBe('Described 10 of 601.');
    // What the first and the refused one held is given back: the same description now runs.
    const again = (await executor.execute(describe, kc())) as TextResult;
    expect(again.truncated).toBe('Described 10 of 601.');
  });
});
