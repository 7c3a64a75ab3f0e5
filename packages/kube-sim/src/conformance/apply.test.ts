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

  // List keys come from the schema's x-kubernetes-list-map-keys: container ports are keyed by
  // containerPort *and* protocol (protocol defaulting to TCP), so 53/TCP and 53/UDP are two items.
  const applyDeployment = (
    manager: string,
    ports: Array<Record<string, unknown>>,
    force = false,
  ) =>
    rawRequest(
      cluster.kc,
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/dns?fieldManager=${manager}${
        force ? '&force=true' : ''
      }`,
      {
        body: JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'dns' },
          spec: {
            selector: { matchLabels: { app: 'dns' } },
            template: {
              metadata: { labels: { app: 'dns' } },
              spec: {
                containers: [{ name: 'app', image: 'coredns:1.10', ports }],
              },
            },
          },
        }),
        contentType: 'application/apply-patch+yaml',
      },
    );
  const portsOf = (body: any) =>
    body.spec.template.spec.containers[0].ports.map(
      (p: any) => `${p.containerPort}/${p.protocol} ${p.name ?? ''}`,
    );

  it('keys container ports by containerPort and protocol (list-map keys), protocol defaulting to TCP', async () => {
    const created = await applyDeployment('alpha', [
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ]);
    expect(created.status).toBe(201);
    expect(portsOf(created.body)).toEqual(['53/TCP dns-tcp', '53/UDP dns']);
    const alpha = created.body.metadata.managedFields.find(
      (m: any) => m.manager === 'alpha',
    );
    const container =
      alpha.fieldsV1['f:spec']['f:template']['f:spec']['f:containers'][
        'k:{"name":"app"}'
      ];
    expect(Object.keys(container['f:ports']).sort()).toEqual([
      'k:{"containerPort":53,"protocol":"TCP"}',
      'k:{"containerPort":53,"protocol":"UDP"}',
    ]);

    // A second manager naming the UDP port differently conflicts on that item only.
    const conflict = await applyDeployment('beta', [
      { name: 'dns-udp', containerPort: 53, protocol: 'UDP' },
    ]);
    expect(conflict.status).toBe(409);
    expect(conflict.body.details.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "alpha" using apps/v1',
        field:
          '.spec.template.spec.containers[name="app"].ports[containerPort=53,protocol="UDP"].name',
      },
    ]);

    // Leaving out protocol means TCP: the same item as 53/TCP, not a third port.
    const again = await applyDeployment('alpha', [
      { name: 'dns-tcp', containerPort: 53 },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ]);
    expect(again.status).toBe(200);
    expect(portsOf(again.body)).toEqual(['53/TCP dns-tcp', '53/UDP dns']);

    // Dropping the UDP port from alpha's configuration removes it (alpha owned it alone).
    const dropped = await applyDeployment('alpha', [
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    ]);
    expect(dropped.status).toBe(200);
    expect(portsOf(dropped.body)).toEqual(['53/TCP dns-tcp']);
  });
});
