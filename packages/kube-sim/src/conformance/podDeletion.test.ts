import { CoreV1Api } from '@kubernetes/client-node';
import {
  conformanceNamespace,
  eventually,
  failure,
  TestNamespace,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// The answers are those of ../shared/reference/kube-api/delete/09-* to 11-* (a real v1.26 server): a pod
// no node has taken goes at once; a pod bound to a node is kept, marked, until its kubelet has stopped it.
describe('conformance: graceful deletion of pods', () => {
  let cluster: TestNamespace;
  let core: CoreV1Api;
  // Bound to a node that does not exist, as delete/10-* (`fake-node-1`): no kubelet stops the pod, so what the
  // API server does with a graceful delete shows alone, also on a cluster whose kubelets would stop a pod at once.
  const node = 'conformance-no-such-node';

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-poddel');
    core = cluster.kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  const podPath = (name: string, query = '') =>
    `/api/v1/namespaces/${cluster.ns}/pods/${name}${query}`;
  const del = (name: string, query = '', body?: unknown) =>
    rawRequest(cluster.kc, 'DELETE', podPath(name, query), { body });
  const get = (name: string) => rawRequest(cluster.kc, 'GET', podPath(name));
  /** Seconds from the request to the deletionTimestamp the server set (whole seconds, as the server writes it). */
  const secondsAhead = (deletionTimestamp: string, sentAt: number) =>
    (Date.parse(deletionTimestamp) - sentAt) / 1000;

  const createPod = async (name: string, bound: boolean) =>
    core.createNamespacedPod({
      namespace: cluster.ns,
      body: {
        metadata: { name },
        spec: {
          containers: [{ name: 'app', image: 'nginx:1.25' }],
          // Bound: on a node from the start. Unbound: a selector no node matches, so no scheduler takes it.
          ...(bound
            ? { nodeName: node }
            : { nodeSelector: { 'conformance.example.com/nowhere': 'true' } }),
        },
      },
    });

  it('removes a pod no node has taken at once, whatever the grace period', async () => {
    await createPod('unscheduled', false);
    const r = await del('unscheduled', '?gracePeriodSeconds=30');
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe('Pod');
    expect(r.body.metadata.deletionGracePeriodSeconds).toBe(0);
    expect(r.body.metadata.deletionTimestamp).toBeTruthy();
    expect((await get('unscheduled')).status).toBe(404);
  });

  it('keeps a bound pod Terminating for its grace period, which a second delete may only shorten', async () => {
    await createPod('bound', true);
    const sentAt = Date.now();
    const first = await del('bound', '?gracePeriodSeconds=30');
    expect(first.status).toBe(200);
    expect(first.body.kind).toBe('Pod');
    expect(first.body.metadata.deletionGracePeriodSeconds).toBe(30);
    // deletionTimestamp is when the grace period ends, not when the delete came.
    const ahead = secondsAhead(first.body.metadata.deletionTimestamp, sentAt);
    expect(ahead).toBeGreaterThan(27);
    expect(ahead).toBeLessThan(33);

    const right = await get('bound');
    expect(right.status).toBe(200);
    expect(right.body.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(right.body.metadata.deletionTimestamp).toBe(
      first.body.metadata.deletionTimestamp,
    );

    // A longer grace period changes nothing; a shorter one moves the deadline forward.
    const longer = await del('bound', '?gracePeriodSeconds=60');
    expect(longer.status).toBe(200);
    expect(longer.body.metadata.deletionGracePeriodSeconds).toBe(30);
    const shorter = await del('bound', '', {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 10,
    });
    expect(shorter.status).toBe(200);
    expect(shorter.body.metadata.deletionGracePeriodSeconds).toBe(10);
    expect(Date.parse(shorter.body.metadata.deletionTimestamp)).toBeLessThan(
      Date.parse(first.body.metadata.deletionTimestamp),
    );

    // Grace 0 removes it at once; the answer is the pod as it was removed.
    const now = await del('bound', '?gracePeriodSeconds=0');
    expect(now.status).toBe(200);
    expect(now.body.kind).toBe('Pod');
    expect(now.body.metadata.deletionGracePeriodSeconds).toBe(0);
    expect(
      Math.abs(secondsAhead(now.body.metadata.deletionTimestamp, Date.now())),
    ).toBeLessThan(3);
    const gone = await get('bound');
    expect(gone.status).toBe(404);
    expect(gone.body.message).toBe(`pods "bound" not found`);
  });

  it("uses the pod's terminationGracePeriodSeconds without options, and 1 for a negative grace period", async () => {
    await createPod('plain', true);
    const plain = await del('plain');
    expect(plain.status).toBe(200);
    expect(plain.body.metadata.deletionGracePeriodSeconds).toBe(30);

    await createPod('negative', true);
    const negative = await del('negative', '?gracePeriodSeconds=-1');
    expect(negative.status).toBe(200);
    expect(negative.body.metadata.deletionGracePeriodSeconds).toBe(1);
  });

  it('changes nothing on a dry run', async () => {
    await createPod('dry', true);
    const r = await del('dry', '?dryRun=All&gracePeriodSeconds=30');
    expect(r.status).toBe(200);
    const after = await get('dry');
    expect(after.status).toBe(200);
    expect(after.body.metadata.deletionTimestamp).toBeUndefined();
  });

  it("refuses a delete whose uid precondition is not the pod's", async () => {
    await createPod('precondition', true);
    const err = await failure(
      core.deleteNamespacedPod({
        name: 'precondition',
        namespace: cluster.ns,
        body: {
          preconditions: { uid: '00000000-0000-0000-0000-000000000000' },
        },
      }),
    );
    expect(err.code).toBe(409);
    expect((await get('precondition')).body.metadata.deletionTimestamp).toBe(
      undefined,
    );
    await core.deleteNamespacedPod({
      name: 'precondition',
      namespace: cluster.ns,
      gracePeriodSeconds: 0,
    });
    await eventually(async () => (await get('precondition')).status === 404);
  });
});
