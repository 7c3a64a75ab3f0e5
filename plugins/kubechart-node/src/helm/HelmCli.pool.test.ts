import { ConfigReader } from '@backstage/config';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HelmCli, HelmCommandEvent } from './HelmCli';
import { which } from '../__testUtils__/helmCluster';

const chart = path.resolve(__dirname, '../__fixtures__/charts/webapp');

/**
 * The helm process pool, with the real helm 3 behind a wrapper that logs when each process starts
 * and ends (and lingers 300 ms, so that processes allowed to overlap do overlap).
 */
describe('HelmCli process pool (kubechart.helm.maxConcurrent)', () => {
  let dir: string;
  let wrapper: string;
  let log: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'helmpool-'));
    wrapper = path.join(dir, 'helm');
    log = path.join(dir, 'log');
    await fs.writeFile(
      wrapper,
      `#!/bin/sh
echo "start $$" >> "${log}"
sleep 0.3
"${which('helm3')}" "$@"
rc=$?
echo "end $$" >> "${log}"
exit $rc
`,
      { mode: 0o755 },
    );
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));
  beforeEach(() => fs.rm(log, { force: true }));

  /** The most helm processes that were alive at once, from the start/end log. */
  async function peakProcesses(): Promise<{ peak: number; started: number }> {
    const lines = (await fs.readFile(log, 'utf8')).split('\n').filter(Boolean);
    let alive = 0;
    let peak = 0;
    for (const l of lines) {
      alive += l.startsWith('start') ? 1 : -1;
      peak = Math.max(peak, alive);
    }
    return { peak, started: lines.filter(l => l.startsWith('start')).length };
  }

  const render = (helm: HelmCli, i: number) =>
    helm.template({
      release: `web-${i}`,
      chart,
      namespace: 'team-a',
      values: { replicas: i + 1 },
    });

  it('never runs more helm processes than the configured limit, and every call still completes', async () => {
    const events: HelmCommandEvent[] = [];
    const helm = HelmCli.fromConfig(
      new ConfigReader({
        kubechart: { helm: { binary: wrapper, maxConcurrent: 2 } },
      }),
      {
        onCommand: e => events.push(e),
      },
    );
    const states: Array<{ running: number; queued: number }> = [];
    const sampler = setInterval(() => states.push(helm.poolState()), 20);
    const manifests = await Promise.all(
      Array.from({ length: 8 }, (_, i) => render(helm, i)),
    ).finally(() => clearInterval(sampler));
    expect(Math.max(...states.map(s => s.running))).toBe(2);
    expect(Math.max(...states.map(s => s.queued))).toBeGreaterThanOrEqual(4);
    expect(manifests.map(m => /replicas: (\d+)/.exec(m)?.[1])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
    ]);
    expect(await peakProcesses()).toEqual({ peak: 2, started: 8 });
    expect(events).toHaveLength(8);
    expect(
      events.every(e => e.command === 'template' && e.outcome === 'ok'),
    ).toBe(true);
    // The last calls waited for a slot: at least three rounds of 300 ms before them.
    expect(Math.max(...events.map(e => e.queuedMs))).toBeGreaterThan(800);
    expect(helm.poolState()).toEqual({ running: 0, queued: 0, limit: 2 });
  });

  it('lets as many processes overlap as a higher limit allows', async () => {
    const helm = new HelmCli({ binary: wrapper, maxConcurrent: 8 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => render(helm, i)));
    const { peak, started } = await peakProcesses();
    expect(started).toBe(8);
    expect(peak).toBeGreaterThan(2);
  });

  it('does not start a queued call whose run was stopped meanwhile', async () => {
    const events: HelmCommandEvent[] = [];
    const helm = new HelmCli({
      binary: wrapper,
      maxConcurrent: 1,
      onCommand: e => events.push(e),
    });
    const first = render(helm, 0);
    const stop = new AbortController();
    const queued = helm.template({
      release: 'web-q',
      chart,
      namespace: 'team-a',
      signal: stop.signal,
    });
    stop.abort();
    await expect(queued).rejects.toThrow(
      'helm template was cancelled before it started',
    );
    await first;
    expect((await peakProcesses()).started).toBe(1);
    expect(events.map(e => e.outcome).sort()).toEqual(['cancelled', 'ok']);
  });

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => new HelmCli({ maxConcurrent: 0 })).toThrow(
      'kubechart.helm.maxConcurrent must be a positive whole number, got 0',
    );
    expect(() =>
      HelmCli.fromConfig(
        new ConfigReader({ kubechart: { helm: { maxConcurrent: 1.5 } } }),
      ),
    ).toThrow(/got 1.5/);
  });
});
