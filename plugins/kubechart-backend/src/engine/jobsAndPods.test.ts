import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { BatchV1Api } from '@kubernetes/client-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
const NAMESPACE = 'tenant-jobs';

/** A container the chart policy allows (restricted, a trusted registry, requests and limits). */
const container = (name: string, tag: string) => ({
  name,
  image: `registry.example.com/team/migrate:${tag}`,
  securityContext: {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  },
  resources: {
    requests: { cpu: '10m', memory: '16Mi' },
    limits: { cpu: '100m', memory: '64Mi' },
  },
});
const podSpec = (name: string, tag: string, restartPolicy: string) => ({
  restartPolicy,
  automountServiceAccountToken: false,
  securityContext: { runAsNonRoot: true },
  containers: [container(name, tag)],
});

/**
 * A run ends `succeeded` only when what it made runs: a plain Job (not a helm hook) of a chart or
 * manifests run once it has completed, a bare Pod once it is Ready (or has run to completion). A Job
 * the job controller marks failed (its backoff limit reached) and a Pod that failed fail the run at
 * once, naming them and why; a bare Pod that keeps failing to start (CrashLoopBackOff,
 * ImagePullBackOff) fails it after `wait.failFastSeconds`, as a Deployment's pods do.
 */
describe('waiting for the Jobs and bare Pods of a run', () => {
  let sim: KubeSim;
  let t: Awaited<ReturnType<typeof createTestEngine>>;

  const run = async (request: any) => {
    const r = await t.engine.submit(request, ALICE, plainCaller(ALICE));
    await t.engine.waitFor(r.id);
    return (await t.store.getRun(r.id))!;
  };
  beforeAll(async () => {
    // Job pods run for 3 s: a run that does not wait for its Job ends before the Job completes.
    sim = await startSim({ jobRunMs: 3000 });
    t = await createTestEngine({ databases, databaseId: 'SQLITE_3', sim });
    const tenant = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'jobs',
      releases: [],
    });
    if (tenant.status !== 'succeeded')
      throw new Error(`tenant failed: ${tenant.failureReason}`);
  });
  afterAll(() => sim?.stop());

  const chart = (name: string, values: Record<string, unknown>) =>
    run({
      kind: 'chart',
      cluster: 'dev',
      namespace: NAMESPACE,
      release: { name, chart: 'jobapp', values },
    });
  const manifests = (...objects: unknown[]) =>
    run({
      kind: 'manifests',
      cluster: 'dev',
      namespace: NAMESPACE,
      manifests: objects.map(o => JSON.stringify(o)).join('\n---\n'),
    });
  const jobOf = (name: string) =>
    t.clusters
      .kubeConfig('dev')
      .makeApiClient(BatchV1Api)
      .readNamespacedJob({ name, namespace: NAMESPACE });
  const complete = (job: Awaited<ReturnType<typeof jobOf>>) =>
    !!job.status?.conditions?.some(
      c => c.type === 'Complete' && c.status === 'True',
    );

  it("fails a chart run whose Job fails past its backoff limit, naming the Job and the job controller's reason", async () => {
    const r = await chart('broken', {
      image: { tag: 'crashloop' },
      backoffLimit: 1,
    });

    expect({ status: r.status, helmRevision: r.helmRevision }).toEqual({
      status: 'failed',
      helmRevision: 1,
    });
    expect(r.failureReason).toMatch(
      /^Job broken of release broken failed after \S+: Job failed: BackoffLimitExceeded \(Job has reached the specified backoff limit\)/,
    );
  });

  it('succeeds a chart run only once its Job has completed', async () => {
    const r = await chart('migrate', {});

    expect({ status: r.status, reason: r.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    expect(complete(await jobOf('migrate'))).toBe(true);
  });

  it('fails a manifests run whose bare Pod fails (its container exits, not restarted)', async () => {
    const r = await manifests({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'once' },
      spec: podSpec('once', 'crashloop', 'Never'),
    });

    expect(r.status).toBe('failed');
    expect(r.failureReason).toMatch(
      /^Pod once failed after \S+: pod once failed: container once exited with code 1 \(Error\)/,
    );
  });

  it('fails a manifests run whose bare Pod keeps failing to pull its image', async () => {
    const r = await manifests({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unpulled' },
      spec: podSpec('unpulled', 'imagepull-fail', 'Always'),
    });

    expect(r.status).toBe('failed');
    expect(r.failureReason).toMatch(
      /^Pod unpulled is failing after \S+: pod unpulled container unpulled: (ErrImagePull|ImagePullBackOff)/,
    );
  });

  it('fails a manifests run whose Job fails, and succeeds one whose Job completes and whose Pod is Ready', async () => {
    const failing = await manifests({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'apply-broken' },
      spec: {
        backoffLimit: 0,
        template: { spec: podSpec('run', 'crashloop', 'Never') },
      },
    });
    expect(failing.status).toBe('failed');
    expect(failing.failureReason).toMatch(
      /^Job apply-broken failed after \S+: Job failed: BackoffLimitExceeded/,
    );

    const done = await manifests(
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'apply-once' },
        spec: { template: { spec: podSpec('run', '1.0.0', 'Never') } },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'server' },
        spec: podSpec('server', '1.0.0', 'Always'),
      },
    );
    expect({ status: done.status, reason: done.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    expect(complete(await jobOf('apply-once'))).toBe(true);
  });
});
