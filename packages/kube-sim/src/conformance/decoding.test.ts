import { AppsV1Api } from '@kubernetes/client-node';
import {
  conformanceNamespace,
  eventually,
  TestNamespace,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim. The expectations are
// the real v1.26 answers of ../shared/reference/kube-api/fields/07-*, fields/14-* and metadata/05-*.
describe('conformance: YAML duplicate keys, bad base64 and Table columns', () => {
  let cluster: TestNamespace;

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-decoding');
  });

  afterAll(async () => {
    await cluster.stop();
  });

  const apply = (path: string, yaml: string) =>
    rawRequest(cluster.kc, 'PATCH', path, {
      body: yaml,
      contentType: 'application/apply-patch+yaml',
    });

  const duplicateKeyConfigMap = (name: string) =>
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      `  name: ${name}`,
      'data:',
      '  a: "1"',
      '  a: "2"',
      '',
    ].join('\n');

  it('applies a YAML body with a key set twice: the last value, and a Warning naming its line', async () => {
    const res = await apply(
      `/api/v1/namespaces/${cluster.ns}/configmaps/dup?fieldManager=test`,
      duplicateKeyConfigMap('dup'),
    );
    expect(res.status).toBe(201);
    expect(res.body.data).toEqual({ a: '2' });
    expect(res.warnings).toEqual([
      '299 - "line 7: key \\"a\\" already set in map"',
    ]);
  });

  it('refuses the same body with fieldValidation=Strict', async () => {
    const res = await apply(
      `/api/v1/namespaces/${cluster.ns}/configmaps/dup-strict?fieldManager=test&fieldValidation=Strict`,
      duplicateKeyConfigMap('dup-strict'),
    );
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('BadRequest');
    expect(res.body.message).toBe(
      'error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key "a" already set in map',
    );
    const get = await rawRequest(
      cluster.kc,
      'GET',
      `/api/v1/namespaces/${cluster.ns}/configmaps/dup-strict`,
    );
    expect(get.status).toBe(404);
  });

  it('refuses a Secret whose data is not base64: 400 on create, 500 on server-side apply', async () => {
    const created = await rawRequest(
      cluster.kc,
      'POST',
      `/api/v1/namespaces/${cluster.ns}/secrets?fieldValidation=Strict`,
      {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'bad64' },
          data: { k: 'abc' },
        },
      },
    );
    expect(created.status).toBe(400);
    expect(created.body.message).toBe(
      'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0',
    );
    const applied = await apply(
      `/api/v1/namespaces/${cluster.ns}/secrets/bad64?fieldManager=test`,
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad64\ndata:\n  k: "abc"\n',
    );
    expect(applied.status).toBe(500);
    expect(applied.body.reason).toBeUndefined();
    expect(applied.body.message).toBe(
      'failed to convert new object (/bad64; /v1, Kind=Secret) to proper version: unable to convert unstructured object to /v1, Kind=Secret: error decoding from json: illegal base64 data at input byte 0',
    );
  });

  it('answers Deployments as a Table with the eight columns kubectl prints (-o wide)', async () => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: cluster.ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.26' }] },
          },
        },
      },
    });
    const table = await eventually(async () => {
      const res = await rawRequest(
        cluster.kc,
        'GET',
        `/apis/apps/v1/namespaces/${cluster.ns}/deployments`,
        { headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' } },
      );
      return res.body?.rows?.length === 1 ? res.body : undefined;
    });
    expect(table.kind).toBe('Table');
    expect(
      table.columnDefinitions.map((c: any) => [c.name, c.type, c.priority]),
    ).toEqual([
      ['Name', 'string', 0],
      ['Ready', 'string', 0],
      ['Up-to-date', 'string', 0],
      ['Available', 'string', 0],
      ['Age', 'string', 0],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ]);
    expect(table.columnDefinitions[5].description).toBe(
      'Names of each container in the template.',
    );
    const [
      nameCell,
      ready,
      upToDate,
      available,
      ,
      containers,
      images,
      selector,
    ] = table.rows[0].cells;
    expect([
      nameCell,
      ready,
      upToDate,
      available,
      containers,
      images,
      selector,
    ]).toEqual(['web', '0/0', 0, 0, 'app', 'nginx:1.26', 'app=web']);
    expect(table.rows[0].object.kind).toBe('PartialObjectMetadata');

    const withObject = await rawRequest(
      cluster.kc,
      'GET',
      `/apis/apps/v1/namespaces/${cluster.ns}/deployments?includeObject=Object`,
      { headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' } },
    );
    expect(withObject.body.rows[0].object.kind).toBe('Deployment');
    expect(
      withObject.body.rows[0].object.spec.template.spec.containers[0].image,
    ).toBe('nginx:1.26');
    const without = await rawRequest(
      cluster.kc,
      'GET',
      `/apis/apps/v1/namespaces/${cluster.ns}/deployments?includeObject=None`,
      { headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' } },
    );
    expect(without.body.rows[0].object).toBeNull();
  });

  it('writes managedFields as a real server: `.` members where a write added a node, Apply entries first', async () => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const created = await apps.createNamespacedDeployment({
      namespace: cluster.ns,
      fieldManager: 'creator',
      body: {
        metadata: { name: 'owned', labels: { app: 'owned' } },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'owned' } },
          template: {
            metadata: { labels: { app: 'owned' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.26' }] },
          },
        },
      },
    });
    const entry = created.metadata!.managedFields!.find(
      m => m.manager === 'creator',
    )!;
    const f = entry.fieldsV1 as Record<string, any>;
    // As rollout/01-deployment-create.json: maps, pointer structs and list items added by the write own
    // themselves; value structs and a list that is never omitted (containers) do not.
    expect(f['f:metadata']['f:labels']['.']).toEqual({});
    expect(f['f:metadata']['.']).toBeUndefined();
    expect(f['f:spec']['.']).toBeUndefined();
    expect(f['f:spec']['f:strategy']['.']).toBeUndefined();
    expect(f['f:spec']['f:strategy']['f:rollingUpdate']['.']).toEqual({});
    expect(f['f:spec']['f:template']['.']).toBeUndefined();
    const containers = f['f:spec']['f:template']['f:spec']['f:containers'];
    expect(containers['.']).toBeUndefined();
    expect(containers['k:{"name":"app"}']['.']).toEqual({});
    expect(containers['k:{"name":"app"}']['f:image']).toEqual({});
    // An atomic map (LabelSelector) is one leaf, and the `creationTimestamp: null` the server writes into the
    // pod template is nobody's (rollout/01-deployment-create.json).
    expect(f['f:spec']['f:selector']).toEqual({});
    expect(
      f['f:spec']['f:template']['f:metadata']['f:creationTimestamp'],
    ).toBeUndefined();

    // A server-side apply entry has `.` on list items only (cm-apply-create.json), and comes first.
    const applied = await apply(
      `/apis/apps/v1/namespaces/${cluster.ns}/deployments/owned?fieldManager=applier&force=true`,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: owned',
        '  annotations:',
        '    example.com/note: x',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '      - name: app',
        '        image: nginx:1.27',
        '',
      ].join('\n'),
    );
    expect(applied.status).toBe(200);
    const entries = applied.body.metadata.managedFields;
    expect(entries[0].manager).toBe('applier');
    expect(entries[0].operation).toBe('Apply');
    const a = entries[0].fieldsV1;
    expect(a['f:metadata']['f:annotations']['.']).toBeUndefined();
    expect(a['f:metadata']['f:annotations']['f:example.com/note']).toEqual({});
    // The creator still owns the selector it set (the apply did not touch it).
    const creator = entries.find((m: any) => m.manager === 'creator');
    expect(creator.fieldsV1['f:spec']['f:selector']).toEqual({});
    expect(
      creator.fieldsV1['f:spec']['f:template']['f:spec']['f:containers'][
        'k:{"name":"app"}'
      ]['f:image'],
    ).toBeUndefined();
    expect(
      a['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}'][
        '.'
      ],
    ).toEqual({});
  });

  it('answers Pods as a Table with the nine columns of a v1.26 server', async () => {
    const res = await rawRequest(
      cluster.kc,
      'GET',
      `/api/v1/namespaces/${cluster.ns}/pods`,
      { headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' } },
    );
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([]);
    expect(
      res.body.columnDefinitions.map((c: any) => [c.name, c.priority]),
    ).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Status', 0],
      ['Restarts', 0],
      ['Age', 0],
      ['IP', 1],
      ['Node', 1],
      ['Nominated Node', 1],
      ['Readiness Gates', 1],
    ]);
  });
});
