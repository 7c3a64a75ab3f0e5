import {
  conformanceNamespace,
  TestNamespace,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// Each expectation is a real v1.26 answer from ../shared/reference/kube-api/metadata/08-lease-*.json.
describe('conformance: coordination.k8s.io/v1 Leases', () => {
  let cluster: TestNamespace;
  let ns: string;
  const leases = () => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
  const lease = (name: string, renewTime = '2026-01-01T00:00:00.000000Z') => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name },
    spec: {
      holderIdentity: 'engine-1',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-01T00:00:00.000000Z',
      renewTime,
      leaseTransitions: 0,
    },
  });
  const request = (method: string, path: string, body?: unknown) =>
    rawRequest(cluster.kc, method, path, { body });

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-lease');
    ns = cluster.ns;
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('creates, refuses a second create, updates and refuses a stale update', async () => {
    const created = await request('POST', leases(), lease('engine-lock'));
    expect(created.status).toBe(201);
    expect(created.body.spec).toEqual(lease('engine-lock').spec);
    expect(created.body.metadata.generation).toBeUndefined();

    const again = await request('POST', leases(), lease('engine-lock'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      reason: 'AlreadyExists',
      message: 'leases.coordination.k8s.io "engine-lock" already exists',
      details: {
        name: 'engine-lock',
        group: 'coordination.k8s.io',
        kind: 'leases',
      },
    });

    const renewed = {
      ...created.body,
      spec: { ...created.body.spec, renewTime: '2026-01-01T00:00:10.000000Z' },
    };
    const updated = await request('PUT', `${leases()}/engine-lock`, renewed);
    expect(updated.status).toBe(200);
    expect(updated.body.spec.renewTime).toBe('2026-01-01T00:00:10.000000Z');

    const stale = await request('PUT', `${leases()}/engine-lock`, {
      ...renewed,
      spec: { ...renewed.spec, holderIdentity: 'engine-2' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on leases.coordination.k8s.io "engine-lock": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it.each([
    [
      '2026-01-01T00:00:00Z',
      'parsing time "2026-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"',
    ],
    [
      'yesterday',
      'parsing time "yesterday" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "yesterday" as "2006"',
    ],
  ])(
    'refuses renewTime %p (MicroTime needs six fractional digits)',
    async (time, why) => {
      const res = await request(
        'POST',
        leases(),
        lease(uniqueName('lk'), time),
      );
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        reason: 'BadRequest',
        message: `Lease in version "v1" cannot be handled as a Lease: ${why}`,
      });
    },
  );
});
