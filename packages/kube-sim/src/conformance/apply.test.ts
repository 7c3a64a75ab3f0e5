import { conformanceNamespace, TestNamespace } from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
describe('conformance: server-side apply field ownership', () => {
  let cluster: TestNamespace;
  let ns: string;

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-apply');
    ns = cluster.ns;
  });

  afterAll(async () => {
    await cluster.stop();
  });

  const apply = (manager: string, data: Record<string, string>) =>
    rawRequest(
      cluster.kc,
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/shared?fieldManager=${manager}`,
      {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'shared' },
          data,
        }),
        contentType: 'application/apply-patch+yaml',
      },
    );
  const owners = (body: any) =>
    (body.metadata.managedFields ?? [])
      .map((m: any) => [m.manager, m.operation, m.fieldsV1])
      .sort((a: any[], b: any[]) => a[0].localeCompare(b[0]));

  it('a second manager applying the same value becomes a co-owner; re-applying changes nothing', async () => {
    const first = await apply('alpha', { k: 'v' });
    expect(first.status).toBe(201);
    const again = await apply('alpha', { k: 'v' });
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(
      first.body.metadata.resourceVersion,
    );

    const second = await apply('beta', { k: 'v' });
    expect(second.status).toBe(200);
    expect(owners(second.body)).toEqual([
      ['alpha', 'Apply', { 'f:data': { 'f:k': {} } }],
      ['beta', 'Apply', { 'f:data': { 'f:k': {} } }],
    ]);

    // A different value from a co-owner's is a conflict with the other owner.
    const conflict = await apply('beta', { k: 'w' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.reason).toBe('Conflict');
    expect(conflict.body.details.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "alpha" using v1',
        field: '.data.k',
      },
    ]);
  });
});
