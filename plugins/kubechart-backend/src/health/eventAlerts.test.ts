import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { clusterHealthFor } from '../service/clusterHealthScope';
import { HealthService } from './HealthService';

jest.setTimeout(90_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

describe('warning-event alerts', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  let health: HealthService;
  const core = () => registry.kubeConfig('dev').makeApiClient(CoreV1Api);

  beforeAll(async () => {
    sim = await startSim({ nodes: 1 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
    for (const ns of ['attacker', 'victim'])
      await core().createNamespace({ body: { metadata: { name: ns } } });
  });
  afterEach(() => health?.stop());
  afterAll(() => sim.stop());

  // A "new" Event (eventTime set): the API server checks only that involvedObject.namespace is not
  // empty (pkg/apis/core/validation/events.go legacyValidateEvent), not that it is the Event's own.
  const newStyleEvent = (
    name: string,
    regardingNs: string,
    eventTime: string,
    message: string,
  ) => ({
    metadata: { name },
    involvedObject: { kind: 'Pod', namespace: regardingNs, name: 'api-0' },
    type: 'Warning',
    reason: 'BackOff',
    message,
    eventTime,
    action: 'Report',
    reportingComponent: 'kubelet',
    reportingInstance: 'node-1',
  });

  it("does not show an Event written in one tenant's namespace as an alert of another tenant's", async () => {
    await core().createNamespacedEvent({
      namespace: 'attacker',
      body: newStyleEvent(
        'spoof',
        'victim',
        new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
        'Your database credentials expired: sign in again at https://victim-login.example.net',
      ) as any,
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const h = await eventually(
      () => health.clusterHealth('dev'),
      x => x.alerts.some(a => a.type === 'warning-event'),
    );
    // What the owner of `victim` (who may read only that namespace) is shown.
    const mine = clusterHealthFor(h, new Set(['victim']));
    expect(mine.alerts).not.toContainEqual(
      expect.objectContaining({
        message: expect.stringMatching(/victim-login/),
      }),
    );
    // It is shown where it was written: to whoever may read `attacker`.
    expect(clusterHealthFor(h, new Set(['attacker'])).alerts).toContainEqual(
      expect.objectContaining({
        namespace: 'attacker',
        message: expect.stringMatching(/victim-login/),
      }),
    );
  });

  it('does not let Events dated in the future push the newest real warnings out of every answer', async () => {
    for (let i = 0; i < 20; i++)
      await core().createNamespacedEvent({
        namespace: 'attacker',
        body: newStyleEvent(
          `pin-${i}`,
          'attacker',
          '2099-01-01T00:00:00.000000Z',
          'pinned',
        ) as any,
      });
    health = new HealthService(registry, mockServices.logger.mock());
    await health.whenStarted('dev');
    // A real warning, now, in the victim's namespace.
    await core().createNamespacedEvent({
      namespace: 'victim',
      body: {
        metadata: { name: 'real' },
        involvedObject: { kind: 'Pod', namespace: 'victim', name: 'db-0' },
        type: 'Warning',
        reason: 'FailedMount',
        message: 'MountVolume.SetUp failed for volume "data"',
        firstTimestamp: new Date().toISOString(),
        lastTimestamp: new Date().toISOString(),
        count: 1,
        source: { component: 'kubelet' },
      } as any,
    });
    const h = await eventually(
      () => health.clusterHealth('dev'),
      x => x.alerts.some(a => a.reason === 'FailedMount'),
      5_000,
    );
    expect(h.alerts).toContainEqual(
      expect.objectContaining({ namespace: 'victim', reason: 'FailedMount' }),
    );
  });
});
