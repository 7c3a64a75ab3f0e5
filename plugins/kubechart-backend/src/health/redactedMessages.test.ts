import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import type { ClusterHealth } from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  V1Deployment,
  V1Node,
} from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';
import { HealthService } from './HealthService';
import { redactConditionMessages, trimEvent, trimPod } from './trimmedInformer';

jest.setTimeout(60_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v)) return v;
    if (Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

const SECRET = 'Sup3rS3cretPw';
const PROBE_MESSAGE = `Liveness probe failed: connect postgres://app:${SECRET}@db:5432/app failed; DB_PASSWORD=${SECRET}`;
const WAITING_MESSAGE = `failed to start: password=${SECRET} rejected by db`;

describe('the health cache hides secrets in the messages it keeps from the cluster', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  beforeAll(async () => {
    sim = await startSim({ nodes: 1 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
  });
  afterAll(() => sim.stop());

  it('in warning events, pod waiting messages and a release reason: the secret is ***, the rest readable', async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const namespace = 'leaky';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // A kubelet's probe failure quotes the probe's own output.
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: 'db-probe', namespace },
        involvedObject: { kind: 'Pod', namespace, name: 'db-0' },
        type: 'Warning',
        reason: 'Unhealthy',
        message: PROBE_MESSAGE,
        source: { component: 'kubelet', host: 'node-1' },
        lastTimestamp: new Date(),
      },
    });
    // A release's Deployment, its pod bound to a node without a kubelet so the status written
    // below is what a kubelet would write for a container that cannot start.
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: {
          name: 'api',
          annotations: { 'meta.helm.sh/release-name': 'api' },
        },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: {
              nodeName: 'node-without-kubelet',
              containers: [{ name: 'app', image: 'registry.example.com/x:1' }],
            },
          },
        },
      },
    });
    const [pod] = (
      await eventually(
        () => core.listNamespacedPod({ namespace }),
        l => l.items.length > 0,
      )
    ).items;
    const podName = pod.metadata!.name!;
    await core.patchNamespacedPodStatus(
      {
        name: podName,
        namespace,
        body: [
          { op: 'add', path: '/status/phase', value: 'Pending' },
          {
            op: 'add',
            path: '/status/containerStatuses',
            value: [
              {
                name: 'app',
                ready: false,
                restartCount: 0,
                image: 'registry.example.com/x:1',
                imageID: '',
                state: {
                  waiting: {
                    reason: 'CreateContainerError',
                    message: WAITING_MESSAGE,
                  },
                },
              },
            ],
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );

    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      { minRecomputeIntervalMs: 0 },
    );
    await cache.start();
    const mine = (h: ClusterHealth) =>
      h.alerts.filter(a => a.namespace === namespace);
    const health = await eventually(
      () => cache.health(),
      h =>
        mine(h).some(a => a.type === 'warning-event') &&
        mine(h).some(a => a.object === `Pod/${podName}`) &&
        h.workloads.items.some(w => w.namespace === namespace),
    );
    expect(JSON.stringify(health)).not.toContain(SECRET);
    expect(mine(health).find(a => a.type === 'warning-event')).toMatchObject({
      reason: 'Unhealthy',
      message:
        'Liveness probe failed: connect postgres://app:***@db:5432/app failed; DB_PASSWORD=***',
    });
    expect(mine(health).find(a => a.object === `Pod/${podName}`)).toMatchObject(
      {
        reason: 'CreateContainerError',
        message: `pod ${podName} container app: CreateContainerError (failed to start: password=*** rejected by db)`,
      },
    );
    expect(
      health.workloads.items.find(w => w.namespace === namespace),
    ).toMatchObject({
      name: 'api',
      reason: `pod ${podName} container app: CreateContainerError (failed to start: password=*** rejected by db)`,
    });
    await cache.stop();

    // A tenant's release names the same pod's problem, kept the same way.
    const service = new HealthService(registry, mockServices.logger.mock());
    const tenant = {
      cluster: 'dev',
      code: 'leaky',
      namespace,
      status: 'active' as const,
      releases: ['api'],
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    const tenantHealth = await eventually(
      () => service.tenantHealth(tenant),
      t => t.releases[0]?.status === 'unhealthy',
    );
    expect(JSON.stringify(tenantHealth)).not.toContain(SECRET);
    expect(tenantHealth.releases[0]).toMatchObject({
      name: 'api',
      status: 'unhealthy',
      reason: `Deployment api: pod ${podName} container app: CreateContainerError (failed to start: password=*** rejected by db)`,
    });
    await service.stop();
  });
});

describe('trimming into the health cache', () => {
  it('hides secrets in event, waiting and condition messages, and leaves messages without one as they are', () => {
    expect(
      trimEvent({
        metadata: { name: 'e' },
        involvedObject: {},
        type: 'Warning',
        reason: 'Unhealthy',
        message: PROBE_MESSAGE,
      }).message,
    ).toBe(
      'Liveness probe failed: connect postgres://app:***@db:5432/app failed; DB_PASSWORD=***',
    );
    expect(
      trimEvent({ metadata: {}, involvedObject: {}, message: '' }).message,
    ).toBe('');
    const pod = trimPod({
      metadata: { name: 'p' },
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: `admission webhook said token=${SECRET}`,
          },
          { type: 'Ready', status: 'False' },
        ],
        initContainerStatuses: [
          {
            name: 'init',
            ready: false,
            restartCount: 0,
            image: 'x',
            imageID: '',
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: 'back-off 10s restarting failed container=init',
              },
            },
          },
        ],
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 0,
            image: 'x',
            imageID: '',
            state: { waiting: { reason: 'X', message: WAITING_MESSAGE } },
          },
        ],
      },
    });
    expect(pod.status?.conditions).toEqual([
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: 'admission webhook said token=***',
      },
      {
        type: 'Ready',
        status: 'False',
        reason: undefined,
        message: undefined,
      },
    ]);
    expect(pod.status?.initContainerStatuses?.[0].state?.waiting?.message).toBe(
      'back-off 10s restarting failed container=init',
    );
    expect(pod.status?.containerStatuses?.[0].state?.waiting?.message).toBe(
      'failed to start: password=*** rejected by db',
    );
  });

  it("hides secrets in a workload's and a node's condition messages, and keeps the object itself when none holds one", () => {
    const deployment: V1Deployment = {
      metadata: { name: 'd', namespace: 'n' },
      spec: { selector: { matchLabels: { app: 'd' } }, template: {} },
      status: {
        readyReplicas: 0,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: `admission webhook "x" denied the request: api_key=${SECRET}`,
          },
          {
            type: 'Progressing',
            status: 'True',
            reason: 'ReplicaSetUpdated',
            message: 'ReplicaSet "d-1" is progressing.',
          },
        ],
      },
    };
    const redacted = redactConditionMessages(deployment);
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
    expect(redacted.status?.conditions?.[0].message).toMatch(
      /^admission webhook "x" denied the request: api_key=\*\*\*/,
    );
    expect(redacted.status?.conditions?.[1]).toBe(
      deployment.status?.conditions?.[1],
    );
    expect(redacted.spec).toBe(deployment.spec);
    // The object given is not changed (the informer may hand it elsewhere).
    expect(deployment.status?.conditions?.[0].message).toContain(SECRET);

    const node: V1Node = {
      metadata: { name: 'node-1' },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
      },
    };
    expect(redactConditionMessages(node)).toBe(node);
    const leaky: V1Node = {
      metadata: { name: 'node-2' },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'KubeletNotReady',
            message: `container runtime: connect https://admin:${SECRET}@runtime failed`,
          },
        ],
      },
    };
    expect(redactConditionMessages(leaky).status?.conditions?.[0].message).toBe(
      'container runtime: connect https://admin:***@runtime failed',
    );
  });
});

describe('health keeps what a platform team needs of a message', () => {
  it('keeps the name of a missing Secret and the error an oauth fetch wraps, and hides the values next to them', () => {
    const mountFailed =
      'MountVolume.SetUp failed for volume "secret-vol" : secret "tls-secret" not found';
    const oauthFailed =
      'failed to fetch oauth token: Post "https://login.example.com/oauth/token": dial tcp 10.0.0.1:443: connect: connection refused';
    const event = (message: string) =>
      trimEvent({
        metadata: { name: 'e' },
        involvedObject: {},
        type: 'Warning',
        reason: 'FailedMount',
        message,
      }).message;
    expect(event(mountFailed)).toBe(mountFailed);
    expect(event(oauthFailed)).toBe(oauthFailed);
    expect(
      event(
        `failed to fetch oauth token: Post "https://app:${SECRET}@login.example.com/token": EOF; token=${SECRET}`,
      ),
    ).toBe(
      // an error word run into more (`EOF; …`) may start a value: the key's whole value is hidden
      'failed to fetch oauth token: ***',
    );
    expect(event(`login refused, password: ${SECRET} rejected`)).toBe(
      'login refused, password: ***',
    );
    const pod = trimPod({
      metadata: { name: 'p' },
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 0,
            image: 'x',
            imageID: '',
            state: {
              waiting: {
                reason: 'CreateContainerConfigError',
                message: 'secret "db-password" not found',
              },
            },
          },
        ],
      },
    });
    expect(pod.status?.containerStatuses?.[0].state?.waiting?.message).toBe(
      'secret "db-password" not found',
    );
  });
});
