import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { DiagnosisResult, Plan } from '@kubechart/plugin-assistant-common';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

const pod = (name: string, namespace: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { app: 'shop' } },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
});

const deployment = (
  name: string,
  namespace: string,
  replicas: number,
  image: string,
) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image }] },
    },
  },
});

/**
 * A diagnosis judges the pods the workload owns, every one of them, against the replicas it asks
 * for: what it records (and audits) is never "looks healthy" for a workload that is not.
 */
describe('diagnose: the pods a workload owns', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });
  const diagnose = (plan: Partial<Plan>) =>
    executor.execute(
      { verb: 'diagnose', resource: 'deployments', ...plan } as Plan,
      registry.kubeConfig('sim'),
    ) as Promise<DiagnosisResult>;

  /** Waits until `namespace` has `pods` pods whose containers started (and `ready` of them Ready). */
  async function settled(namespace: string, pods: number, ready = 0) {
    const core = registry.kubeConfig('sim').makeApiClient(CoreV1Api);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const list = await core.listNamespacedPod({ namespace });
      const started = list.items.filter(
        p => p.status?.containerStatuses?.length,
      );
      const readyPods = list.items.filter(p =>
        p.status?.conditions?.some(
          c => c.type === 'Ready' && c.status === 'True',
        ),
      );
      if (started.length >= pods && readyPods.length >= ready) return;
      if (Date.now() > deadline) throw new Error(`${namespace} did not start`);
      await new Promise(r => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    sim = await startKubeSim({
      tls: true,
      podReadyDelayMs: 50,
      crashLoopBackoffMs: 100,
      objects: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        // 20 Ready pods that carry the deployment's labels but are not its own.
        ...Array.from({ length: 20 }, (_, i) =>
          pod(`a-${String(i).padStart(2, '0')}`, 'shop'),
        ),
        deployment('shop', 'shop', 2, 'registry.example/shop:crashloop'),
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quota' } },
        {
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: { name: 'pods', namespace: 'quota' },
          spec: { hard: { pods: '1' } },
        },
        deployment('api', 'quota', 3, 'nginx:1.27'),
      ] as any,
    });
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: sim.url,
        serviceAccountToken: sim.token,
        caData: sim.caData,
        skipTLSVerify: false,
      },
    ]);
    await settled('shop', 22);
    // The one pod the quota lets in is Ready: the diagnosis is about the two that do not exist.
    await settled('quota', 1, 1);
  });
  afterAll(() => sim?.stop());

  it("judges the deployment's own pods, not others that carry its labels", async () => {
    const result = await diagnose({ name: 'shop', namespace: 'shop' });
    expect(result.healthy).toBe(false);
    expect(result.answer).not.toContain('looks healthy');
    expect(result.evidence[0]).toMatch(/^0\/2 pods Ready/);
    expect(result.steps).toContain(
      'listed its pods (app=shop; 20 other pods with its labels are not its own)',
    );
  });

  it('is not healthy with fewer Ready pods than the workload asks for', async () => {
    const result = await diagnose({ name: 'api', namespace: 'quota' });
    expect(result).toMatchObject({
      healthy: false,
      answer:
        "deployment/api has 1 of the 3 pods it wants Ready, and none of its 1 pods shows a problem: the others do not exist (yet). Look at its events and its namespace's quota.",
    });
  });
});
