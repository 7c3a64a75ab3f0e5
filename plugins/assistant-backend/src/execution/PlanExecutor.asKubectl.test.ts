import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { Plan, TextResult } from '@kubechart/plugin-assistant-common';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

/**
 * What the executor answers for commands it shows as `kubectl describe`, `kubectl rollout history`
 * and `kubectl logs --all-containers` is what that command would answer, or a refusal saying why.
 */
describe('PlanExecutor answers as the kubectl it shows', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });
  const run = (plan: Plan) =>
    executor.execute(plan, registry.kubeConfig('sim'));
  const core = () => registry.kubeConfig('sim').makeApiClient(CoreV1Api);
  const event = (
    name: string,
    involvedObject: Record<string, string>,
    message: string,
    at = new Date(),
  ) =>
    core().createNamespacedEvent({
      namespace: 'shop',
      body: {
        metadata: { name },
        involvedObject: { namespace: 'shop', ...involvedObject },
        reason: 'Probe',
        type: 'Warning',
        message,
        lastTimestamp: at,
        firstTimestamp: at,
      },
    });

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      podReadyDelayMs: 50,
      crashLoopBackoffMs: 100,
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
  });
  afterAll(() => sim?.stop());

  describe('kubectl describe', () => {
    it("shows the described object's own events: not another kind's, nor an earlier object's of the same name", async () => {
      // The seed has deployment/checkout-web and service/checkout-web in shop (same name, as usual).
      await event(
        'other-kind',
        { kind: 'Service', apiVersion: 'v1', name: 'checkout-web' },
        'event of service/checkout-web, not of the deployment',
      );
      await event(
        'earlier-object',
        {
          kind: 'Deployment',
          apiVersion: 'apps/v1',
          name: 'checkout-web',
          uid: '00000000-0000-0000-0000-000000000000',
        },
        'event of an earlier deployment/checkout-web',
      );
      const deployment = await registry
        .kubeConfig('sim')
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name: 'checkout-web', namespace: 'shop' });
      await event(
        'own-event',
        {
          kind: 'Deployment',
          apiVersion: 'apps/v1',
          name: 'checkout-web',
          uid: deployment.metadata!.uid!,
        },
        'event of this deployment/checkout-web',
      );
      const result = (await run({
        verb: 'describe',
        resource: 'deployments',
        name: 'checkout-web',
        namespace: 'shop',
      })) as TextResult;
      expect(result.type).toBe('text');
      expect(result.text).toContain('event of this deployment/checkout-web');
      expect(result.text).not.toContain('event of service/checkout-web');
      expect(result.text).not.toContain('earlier deployment/checkout-web');
      expect(result.truncated).toBeUndefined();
    });

    it('says when it shows only the newest 20 events', async () => {
      const service = await core().readNamespacedService({
        name: 'checkout-web',
        namespace: 'shop',
      });
      const start = Date.now() - 3_600_000;
      for (let i = 0; i < 25; i++) {
        await event(
          `many-${i}`,
          {
            kind: 'Service',
            apiVersion: 'v1',
            name: 'checkout-web',
            uid: service.metadata!.uid!,
          },
          `numbered event ${i}.`,
          new Date(start + i * 60_000),
        );
      }
      const result = (await run({
        verb: 'describe',
        resource: 'services',
        name: 'checkout-web',
        namespace: 'shop',
      })) as TextResult;
      expect(result.text.match(/numbered event \d+\./g)).toHaveLength(20);
      expect(result.truncated).toMatch(
        /newest 20 of 2[5-9] events of service\/checkout-web/,
      );
    });
  });

  it('refuses the rollout history of a statefulset rather than answering "no revisions"', async () => {
    for (const resource of ['statefulsets', 'daemonsets'] as const) {
      await expect(
        run({
          verb: 'rollout',
          rolloutAction: 'history',
          resource,
          name: 'inventory-db',
          namespace: 'shop',
        }),
      ).rejects.toThrow(/history of deployments only/);
    }
  });

  it('logs shown as --all-containers read the init containers first, as kubectl does', async () => {
    await core().createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'with-init' },
        spec: {
          initContainers: [{ name: 'migrate', image: 'busybox:1' }],
          containers: [{ name: 'app', image: 'busybox:1' }],
        },
      },
    });
    const asked: string[] = [];
    const spy = jest
      .spyOn(CoreV1Api.prototype, 'readNamespacedPodLog')
      .mockImplementation(async (param: any) => {
        asked.push(param.container);
        return `log of ${param.container}\n`;
      });
    try {
      const result = (await run({
        verb: 'logs',
        resource: 'pods',
        name: 'with-init',
        namespace: 'shop',
      })) as TextResult;
      expect(result.type).toBe('text');
      expect(asked).toEqual(['migrate', 'app']);
      expect(result.text).toBe(
        '==> with-init/migrate <==\nlog of migrate\n\n==> with-init/app <==\nlog of app\n',
      );
    } finally {
      spy.mockRestore();
    }
  });
});
