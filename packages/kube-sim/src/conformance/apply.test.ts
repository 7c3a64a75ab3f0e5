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
        // An Apply manager is named alone; an Update manager with its apiVersion.
        message: 'conflict with "alpha"',
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
        message: 'conflict with "alpha"',
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

  it('records a write through /scale on the Deployment as its own entry with subresource scale', async () => {
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/scaled`;
    const applyWeb = (replicas: number, force = false) =>
      rawRequest(
        cluster.kc,
        'PATCH',
        `${path}?fieldManager=alpha${force ? '&force=true' : ''}`,
        {
          body: JSON.stringify({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'scaled' },
            spec: {
              replicas,
              selector: { matchLabels: { app: 'scaled' } },
              template: {
                metadata: { labels: { app: 'scaled' } },
                spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
              },
            },
          }),
          contentType: 'application/apply-patch+yaml',
        },
      );
    const entries = async () =>
      (await rawRequest(cluster.kc, 'GET', path)).body.metadata.managedFields
        // The controller's status entry comes and goes with the rollout.
        .filter((m: any) => m.subresource !== 'status')
        .map((m: any) => ({
          manager: m.manager,
          operation: m.operation,
          apiVersion: m.apiVersion,
          subresource: m.subresource,
          replicas: m.fieldsV1['f:spec']?.['f:replicas'] !== undefined,
          fields: m.subresource === 'scale' ? m.fieldsV1 : undefined,
        }))
        .sort((a: any, b: any) =>
          `${a.manager} ${a.subresource ?? ''}`.localeCompare(
            `${b.manager} ${b.subresource ?? ''}`,
          ),
        );
    expect((await applyWeb(1)).status).toBe(201);

    const put = await rawRequest(
      cluster.kc,
      'PUT',
      `${path}/scale?fieldManager=scaler`,
      {
        body: JSON.stringify({
          apiVersion: 'autoscaling/v1',
          kind: 'Scale',
          metadata: { name: 'scaled', namespace: ns },
          spec: { replicas: 3 },
        }),
        contentType: 'application/json',
      },
    );
    expect(put.status).toBe(200);
    expect(put.body.kind).toBe('Scale');
    expect(put.body.spec.replicas).toBe(3);
    // The scaler owns spec.replicas through the scale subresource; alpha keeps the rest.
    const scaleEntry = {
      manager: 'scaler',
      operation: 'Update',
      apiVersion: 'apps/v1',
      subresource: 'scale',
      replicas: true,
      fields: { 'f:spec': { 'f:replicas': {} } },
    };
    expect(await entries()).toEqual([
      {
        manager: 'alpha',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        subresource: undefined,
        replicas: false,
        fields: undefined,
      },
      scaleEntry,
    ]);

    // A merge patch of the scale by the same manager updates that entry, and an update of the
    // main resource by the same manager is a separate entry (no subresource).
    const patched = await rawRequest(
      cluster.kc,
      'PATCH',
      `${path}/scale?fieldManager=scaler`,
      {
        body: JSON.stringify({ spec: { replicas: 4 } }),
        contentType: 'application/merge-patch+json',
      },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.spec.replicas).toBe(4);
    const annotated = await rawRequest(
      cluster.kc,
      'PATCH',
      `${path}?fieldManager=scaler`,
      {
        body: JSON.stringify({
          metadata: { annotations: { 'example.com/by': 'scaler' } },
        }),
        contentType: 'application/merge-patch+json',
      },
    );
    expect(annotated.status).toBe(200);
    expect(await entries()).toEqual([
      {
        manager: 'alpha',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        subresource: undefined,
        replicas: false,
        fields: undefined,
      },
      {
        manager: 'scaler',
        operation: 'Update',
        apiVersion: 'apps/v1',
        subresource: undefined,
        replicas: false,
        fields: undefined,
      },
      scaleEntry,
    ]);

    // Applying another replica count conflicts with the scale entry until forced.
    const conflict = await applyWeb(2);
    expect(conflict.status).toBe(409);
    expect(conflict.body.details.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message:
          'conflict with "scaler" with subresource "scale" using apps/v1',
        field: '.spec.replicas',
      },
    ]);
    const forced = await applyWeb(2, true);
    expect(forced.status).toBe(200);
    expect(forced.body.spec.replicas).toBe(2);
    expect(
      (await entries()).map(
        (e: any) => `${e.manager} ${e.subresource ?? '-'} ${e.replicas}`,
      ),
    ).toEqual(['alpha - true', 'scaler - false']);

    // Server-side apply of a Scale: an Apply entry with subresource scale, conflicting with
    // alpha's ownership of spec.replicas until forced.
    const applyScale = (force: boolean) =>
      rawRequest(
        cluster.kc,
        'PATCH',
        `${path}/scale?fieldManager=autoscaler${force ? '&force=true' : ''}`,
        {
          body: JSON.stringify({
            apiVersion: 'autoscaling/v1',
            kind: 'Scale',
            metadata: { name: 'scaled' },
            spec: { replicas: 5 },
          }),
          contentType: 'application/apply-patch+yaml',
        },
      );
    const refused = await applyScale(false);
    expect(refused.status).toBe(409);
    expect(refused.body.details.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "alpha"',
        field: '.spec.replicas',
      },
    ]);
    const applied = await applyScale(true);
    expect(applied.status).toBe(200);
    expect(applied.body.spec.replicas).toBe(5);
    expect(
      (await entries()).map(
        (e: any) =>
          `${e.manager} ${e.operation} ${e.subresource ?? '-'} ${e.replicas}`,
      ),
    ).toEqual([
      'alpha Apply - false',
      'autoscaler Apply scale true',
      'scaler Update - false',
    ]);
  });
  // ObjectMeta `finalizers` is a set of strings (`x-kubernetes-patch-strategy: merge`, no merge key): strategic
  // merge patch and server-side apply add to it, and managedFields list each value (`v:"…"`, as in
  // ../shared/reference/kube-api/delete/07-configmap-with-finalizer-delete.json).
  it('merges metadata.finalizers value by value and owns each value on its own', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps/fin`;
    const entry = (body: any, manager: string) =>
      body.metadata.managedFields.find((m: any) => m.manager === manager)
        ?.fieldsV1;
    const created = await rawRequest(
      cluster.kc,
      'POST',
      `/api/v1/namespaces/${ns}/configmaps?fieldManager=creator`,
      {
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'fin', finalizers: ['example.com/a'] },
        },
      },
    );
    expect(created.status).toBe(201);
    expect(entry(created.body, 'creator')).toEqual({
      'f:metadata': {
        'f:finalizers': { '.': {}, 'v:"example.com/a"': {} },
      },
    });

    // Strategic merge adds the value, new values first; the patcher owns only the value it added.
    const patched = await rawRequest(
      cluster.kc,
      'PATCH',
      `${path}?fieldManager=patcher`,
      {
        body: { metadata: { finalizers: ['example.com/b'] } },
        contentType: 'application/strategic-merge-patch+json',
      },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.finalizers).toEqual([
      'example.com/b',
      'example.com/a',
    ]);
    expect(entry(patched.body, 'creator')).toEqual(
      entry(created.body, 'creator'),
    );
    // The list was there before: the patcher owns its value, not the list (no `.`).
    expect(entry(patched.body, 'patcher')).toEqual({
      'f:metadata': { 'f:finalizers': { 'v:"example.com/b"': {} } },
    });

    // Server-side apply adds its value after the others and owns it; leaving it out again removes it.
    const applyFinalizers = (finalizers?: string[]) =>
      rawRequest(cluster.kc, 'PATCH', `${path}?fieldManager=applier`, {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'fin', ...(finalizers ? { finalizers } : {}) },
        }),
        contentType: 'application/apply-patch+yaml',
      });
    const applied = await applyFinalizers(['example.com/c']);
    expect(applied.status).toBe(200);
    expect(applied.body.metadata.finalizers).toEqual([
      'example.com/b',
      'example.com/a',
      'example.com/c',
    ]);
    expect(entry(applied.body, 'applier')).toEqual({
      'f:metadata': { 'f:finalizers': { 'v:"example.com/c"': {} } },
    });
    const withdrawn = await applyFinalizers();
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.metadata.finalizers).toEqual([
      'example.com/b',
      'example.com/a',
    ]);

    // $deleteFromPrimitiveList takes values out; the last one gone, the field goes.
    const emptied = await rawRequest(cluster.kc, 'PATCH', path, {
      body: {
        metadata: {
          '$deleteFromPrimitiveList/finalizers': [
            'example.com/a',
            'example.com/b',
          ],
        },
      },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(emptied.status).toBe(200);
    expect(emptied.body.metadata.finalizers).toBeUndefined();
  });
});
