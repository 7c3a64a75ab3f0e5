import {
  conformanceNamespace,
  eventually,
  TestNamespace,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// Each expectation is a real v1.26 answer from ../shared/reference/kube-api/crd/.
describe('conformance: CustomResourceDefinitions and custom resources', () => {
  let cluster: TestNamespace;
  let ns: string;
  // A group of its own, so runs against a shared cluster do not collide.
  const group = `${uniqueName('conf')}.example.com`;
  const crdName = `widgets.${group}`;
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`;
  const widgets = () => `/apis/${group}/v1/namespaces/${ns}/widgets`;
  const request = (
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ) => rawRequest(cluster.kc, method, path, { body, contentType });
  const widget = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: `${group}/v1`,
    kind: 'Widget',
    metadata: { name },
    spec,
  });

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-crd');
    ns = cluster.ns;
  });

  afterAll(async () => {
    await request('DELETE', crdPath).catch(() => {});
    await cluster.stop();
  });

  it('serves nothing for the group before the CRD exists', async () => {
    const gv = await request('GET', `/apis/${group}/v1`);
    expect(gv.status).toBe(404);
    expect(gv.text).toBe('404 page not found\n');
  });

  it('creates the CRD, which becomes Established and is discovered', async () => {
    const created = await request(
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: crdName },
        spec: {
          group,
          names: {
            plural: 'widgets',
            singular: 'widget',
            shortNames: ['wd'],
            kind: 'Widget',
            listKind: 'WidgetList',
          },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              subresources: { status: {} },
              additionalPrinterColumns: [
                { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
                {
                  name: 'Age',
                  type: 'date',
                  jsonPath: '.metadata.creationTimestamp',
                },
              ],
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      required: ['size'],
                      properties: {
                        color: { type: 'string', enum: ['red', 'blue'] },
                        config: {
                          type: 'object',
                          'x-kubernetes-preserve-unknown-fields': true,
                        },
                        size: { type: 'integer', minimum: 1 },
                        tags: { type: 'array', items: { type: 'string' } },
                      },
                    },
                    status: {
                      type: 'object',
                      properties: { ready: { type: 'boolean' } },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    );
    expect(created.status).toBe(201);
    expect(created.body.status).toEqual({
      conditions: null,
      acceptedNames: { plural: '', kind: '' },
      storedVersions: ['v1'],
    });
    expect(created.body.spec.conversion).toEqual({ strategy: 'None' });

    const established = await eventually(async () => {
      const crd = await request('GET', crdPath);
      const conditions = crd.body.status.conditions ?? [];
      return conditions.some(
        (c: any) => c.type === 'Established' && c.status === 'True',
      )
        ? crd.body
        : undefined;
    });
    expect(
      established.status.conditions.map((c: any) => [
        c.type,
        c.status,
        c.reason,
        c.message,
      ]),
    ).toEqual([
      ['NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'],
      [
        'Established',
        'True',
        'InitialNamesAccepted',
        'the initial names have been accepted',
      ],
    ]);
    // crd/04-crd-get-established.json: `conditions` was in the object (null) before the first status write, so
    // the writer owns the conditions it added, not the list itself (no `.` on f:conditions).
    const item = {
      '.': {},
      'f:lastTransitionTime': {},
      'f:message': {},
      'f:reason': {},
      'f:status': {},
      'f:type': {},
    };
    expect(
      established.metadata.managedFields.find(
        (m: any) => m.subresource === 'status',
      ).fieldsV1['f:status']['f:conditions'],
    ).toEqual({
      'k:{"type":"Established"}': item,
      'k:{"type":"NamesAccepted"}': item,
    });
    expect(established.status.acceptedNames).toEqual({
      plural: 'widgets',
      singular: 'widget',
      shortNames: ['wd'],
      kind: 'Widget',
      listKind: 'WidgetList',
    });

    const discovery = await eventually(async () => {
      const gv = await request('GET', `/apis/${group}/v1`);
      return gv.status === 200 ? gv.body : undefined;
    });
    expect(
      discovery.resources.map((r: any) => [r.name, r.namespaced, r.kind]),
    ).toEqual([
      ['widgets', true, 'Widget'],
      ['widgets/status', true, 'Widget'],
    ]);
    expect([...discovery.resources[0].verbs].sort()).toEqual([
      'create',
      'delete',
      'deletecollection',
      'get',
      'list',
      'patch',
      'update',
      'watch',
    ]);
    expect(discovery.resources[0].shortNames).toEqual(['wd']);
    const groups = await request('GET', '/apis');
    expect(groups.body.groups.map((g: any) => g.name)).toContain(group);
  });

  it('creates, reads and lists custom resources', async () => {
    // Creates may briefly 404 right after Established while the API is wired up.
    const created = await eventually(async () => {
      const res = await request(
        'POST',
        widgets(),
        widget('w1', { size: 2, color: 'red' }),
      );
      return res.status === 201 ? res : undefined;
    });
    expect(created.body.metadata.generation).toBe(1);
    const read = await request('GET', `${widgets()}/w1`);
    expect(read.status).toBe(200);
    expect(read.body.spec).toEqual({ size: 2, color: 'red' });
    const list = await request('GET', widgets());
    expect(list.body.kind).toBe('WidgetList');
    expect(list.body.apiVersion).toBe(`${group}/v1`);
    expect(list.body.items.map((i: any) => i.metadata.name)).toEqual(['w1']);
    // Unlike built-in kinds, custom resource list items keep kind and apiVersion (crd/12-cr-list.json).
    expect(list.body.items[0].kind).toBe('Widget');
    expect(list.body.items[0].apiVersion).toBe(`${group}/v1`);
    const all = await request('GET', `/apis/${group}/v1/widgets`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: any) => i.metadata.name)).toContain('w1');
    // kubectl get: the additionalPrinterColumns (crd/12-cr-list-as-table.json).
    const table = await rawRequest(cluster.kc, 'GET', widgets(), {
      headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' },
    });
    expect(
      table.body.columnDefinitions.map((c: any) => [
        c.name,
        c.type,
        c.description,
      ]),
    ).toEqual([
      ['Name', 'string', expect.stringMatching(/^Name must be unique/)],
      [
        'Size',
        'integer',
        'Custom resource definition column (in JSONPath format): .spec.size',
      ],
      [
        'Age',
        'date',
        'Custom resource definition column (in JSONPath format): .metadata.creationTimestamp',
      ],
    ]);
    expect(table.body.rows[0].cells.slice(0, 2)).toEqual(['w1', 2]);
    expect(table.body.rows[0].cells[2]).toMatch(/^\d+s$/);
  });

  it('prunes undeclared fields (keeping preserve-unknown-fields subtrees), warns, or refuses them', async () => {
    // In the recorded order: bogusTop before spec.
    const body = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'unk' },
      bogusTop: 1,
      spec: { size: 1, bogus: 'x', config: { free: { form: 1 } } },
    };
    const warned = await request('POST', widgets(), body);
    expect(warned.status).toBe(201);
    expect(warned.warnings).toEqual([
      '299 - "unknown field \\"bogusTop\\""',
      '299 - "unknown field \\"spec.bogus\\""',
    ]);
    const stored = await request('GET', `${widgets()}/unk`);
    expect(stored.body.bogusTop).toBeUndefined();
    expect(stored.body.spec).toEqual({
      size: 1,
      config: { free: { form: 1 } },
    });

    const ignored = await request(
      'POST',
      `${widgets()}?fieldValidation=Ignore`,
      {
        ...body,
        metadata: { name: 'unk-ignore' },
      },
    );
    expect(ignored.status).toBe(201);
    expect(ignored.warnings).toEqual([]);
    expect(ignored.body.spec.bogus).toBeUndefined();

    const strict = await request(
      'POST',
      `${widgets()}?fieldValidation=Strict`,
      {
        ...body,
        metadata: { name: 'unk-strict' },
      },
    );
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe(
      'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "bogusTop", unknown field "spec.bogus"',
    );

    const applied = await request(
      'PATCH',
      `${widgets()}/ssa-unk?fieldManager=test`,
      `apiVersion: ${group}/v1\nkind: Widget\nmetadata:\n  name: ssa-unk\nspec:\n  size: 1\n  bogus: x\n`,
      'application/apply-patch+yaml',
    );
    expect(applied.status).toBe(500);
    expect(applied.body.message).toBe(
      `failed to create typed patch object (/ssa-unk; ${group}/v1, Kind=Widget): .spec.bogus: field not declared in schema`,
    );
    expect(applied.body.reason).toBeUndefined();
  });

  it('validates custom resources against the schema', async () => {
    const invalid = await request(
      'POST',
      widgets(),
      widget('bad', { size: 0, color: 'green' }),
    );
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toBe(
      `Widget.${group} "bad" is invalid: [spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1, spec.color: Unsupported value: "green": supported values: "red", "blue"]`,
    );
    expect(invalid.body.details.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        message:
          'Invalid value: 0: spec.size in body should be greater than or equal to 1',
        field: 'spec.size',
      },
      {
        reason: 'FieldValueNotSupported',
        message: 'Unsupported value: "green": supported values: "red", "blue"',
        field: 'spec.color',
      },
    ]);
    const missing = await request(
      'POST',
      widgets(),
      widget('bad2', { color: 'red' }),
    );
    expect(missing.body.message).toBe(
      `Widget.${group} "bad2" is invalid: spec.size: Required value`,
    );
    const wrongType = await request(
      'POST',
      widgets(),
      widget('bad3', { size: 'big' }),
    );
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.message).toBe(
      `Widget.${group} "bad3" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"`,
    );
  });

  it('patches: merge and apply work, strategic merge is 415, status only through /status', async () => {
    await eventually(async () =>
      (await request('POST', widgets(), widget('p1', { size: 1 }))).status ===
      201
        ? true
        : undefined,
    );
    const smp = await request(
      'PATCH',
      `${widgets()}/p1`,
      { spec: { size: 2 } },
      'application/strategic-merge-patch+json',
    );
    expect(smp.status).toBe(415);
    expect(smp.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      reason: 'UnsupportedMediaType',
      code: 415,
    });
    const merged = await request(
      'PATCH',
      `${widgets()}/p1`,
      { spec: { size: 3 }, status: { ready: true } },
      'application/merge-patch+json',
    );
    expect(merged.status).toBe(200);
    expect(merged.body.spec.size).toBe(3);
    expect(merged.body.status).toBeUndefined();
    const status = await request(
      'PATCH',
      `${widgets()}/p1/status`,
      { status: { ready: true } },
      'application/merge-patch+json',
    );
    expect(status.status).toBe(200);
    expect(status.body.status).toEqual({ ready: true });
    const applied = await request(
      'PATCH',
      `${widgets()}/p1?fieldManager=test`,
      `apiVersion: ${group}/v1\nkind: Widget\nmetadata:\n  name: p1\nspec:\n  size: 3\n  tags: [a]\n`,
      'application/apply-patch+yaml',
    );
    // The same value another manager set: shared, not a conflict.
    expect(applied.status).toBe(200);
    expect(applied.body.spec).toEqual({ size: 3, tags: ['a'] });
  });

  it('deletes a custom resource with a Status answer', async () => {
    const read = await request('GET', `${widgets()}/w1`);
    const deleted = await request('DELETE', `${widgets()}/w1`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: 'w1',
        group,
        kind: 'widgets',
        uid: read.body.metadata.uid,
      },
    });
    const gone = await request('GET', `${widgets()}/w1`);
    expect(gone.status).toBe(404);
    expect(gone.body.message).toBe(`widgets.${group} "w1" not found`);
  });

  it('deleting the CRD removes its custom resources and its API', async () => {
    const deleted = await request('DELETE', crdPath);
    expect(deleted.status).toBe(200);
    expect(deleted.body.kind).toBe('CustomResourceDefinition');
    expect(deleted.body.metadata.finalizers).toEqual([
      'customresourcecleanup.apiextensions.k8s.io',
    ]);
    expect(deleted.body.metadata.deletionTimestamp).toBeDefined();
    // Unlike a ConfigMap held by a finalizer, a CRD's delete sets no grace period (crd/20-crd-delete.json).
    expect(deleted.body.metadata.deletionGracePeriodSeconds).toBeUndefined();
    expect(
      deleted.body.status.conditions.find((c: any) => c.type === 'Terminating'),
    ).toMatchObject({ status: 'True', reason: 'InstanceDeletionPending' });
    await eventually(
      async () => (await request('GET', crdPath)).status === 404,
      20_000,
    );
    await eventually(
      async () => (await request('GET', `/apis/${group}/v1`)).status === 404,
      20_000,
    );
  });
});
