import { BatchV1Api, CoreV1Api, V1Job } from '@kubernetes/client-node';
import {
  eventually,
  simCluster,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';

jest.setTimeout(30_000);

// kube-sim only: a container that exits in a pod that is not restarted, and the job controller's
// backoff limit, as the v1.26 kubelet and job controller handle them.
describe('pods and Jobs whose containers exit with an error', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let batch: BatchV1Api;

  beforeAll(async () => {
    cluster = await simCluster({
      podReadyDelayMs: 50,
      crashLoopBackoffMs: 100,
      jobRunMs: 100,
    });
    core = cluster.kc.makeApiClient(CoreV1Api);
    batch = cluster.kc.makeApiClient(BatchV1Api);
  });
  afterAll(() => cluster.stop());

  async function newNamespace(prefix: string) {
    const name = uniqueName(prefix);
    await core.createNamespace({ body: { metadata: { name } } });
    return name;
  }
  const job = (
    name: string,
    restartPolicy: 'Never' | 'OnFailure',
    backoffLimit: number,
  ): V1Job => ({
    metadata: { name },
    spec: {
      backoffLimit,
      template: {
        spec: {
          restartPolicy,
          containers: [{ name: 'run', image: 'busybox:crashloop' }],
        },
      },
    },
  });
  const failedJob = async (namespace: string, name: string) =>
    eventually(async () => {
      const j = await batch.readNamespacedJob({ name, namespace });
      return j.status?.conditions?.some(c => c.type === 'Failed')
        ? j
        : undefined;
    });

  it('fails a pod with restartPolicy Never whose container exits, and restarts none', async () => {
    const ns = await newNamespace('exit-never');
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'once' },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'run', image: 'busybox:crashloop' }],
        },
      },
    });

    const pod = await eventually(async () => {
      const p = await core.readNamespacedPod({ name: 'once', namespace: ns });
      return p.status?.phase === 'Failed' ? p : undefined;
    });

    const [status] = pod.status?.containerStatuses ?? [];
    expect(status).toMatchObject({
      name: 'run',
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    expect(pod.status?.conditions?.find(c => c.type === 'Ready')).toMatchObject(
      { status: 'False', reason: 'PodFailed' },
    );
  });

  it('marks a Job failed once more pods failed than its backoff limit allows, and makes no more', async () => {
    const ns = await newNamespace('job-backoff');
    await batch.createNamespacedJob({
      namespace: ns,
      body: job('migrate', 'Never', 1),
    });

    const failed = await failedJob(ns, 'migrate');

    expect(failed.status?.conditions).toEqual([
      expect.objectContaining({
        type: 'Failed',
        status: 'True',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      }),
    ]);
    expect(failed.status?.failed).toBe(2);
    expect(failed.status?.succeeded).toBeUndefined();
    const pods = (
      await core.listNamespacedPod({
        namespace: ns,
        labelSelector: 'job-name=migrate',
      })
    ).items;
    expect(pods.map(p => p.status?.phase)).toEqual(['Failed', 'Failed']);
    const events = (await core.listNamespacedEvent({ namespace: ns })).items;
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'Warning',
          reason: 'BackoffLimitExceeded',
          involvedObject: expect.objectContaining({
            kind: 'Job',
            name: 'migrate',
          }),
        }),
      ]),
    );
  });

  it('counts the restarts of a Job pod with restartPolicy OnFailure, and deletes it once past the limit', async () => {
    const ns = await newNamespace('job-onfailure');
    await batch.createNamespacedJob({
      namespace: ns,
      body: job('retry', 'OnFailure', 2),
    });

    const failed = await failedJob(ns, 'retry');

    expect(failed.status?.conditions?.[0]).toMatchObject({
      type: 'Failed',
      reason: 'BackoffLimitExceeded',
    });
    expect(failed.status?.failed).toBe(1);
    await eventually(async () =>
      (
        await core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'job-name=retry',
        })
      ).items.length === 0
        ? true
        : undefined,
    );
  });
});
