import {
  conformanceNamespace,
  TestNamespace,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// Each expectation is a real v1.26 answer from ../shared/reference/kube-api/fields/ and openapi/.
/** A Deployment `name` as server-side apply YAML, with `specLines` (indented) at the top of its spec. */
function deploymentYaml(name: string, specLines: string[]): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...specLines,
    '  selector:',
    `    matchLabels: {app: ${name}}`,
    '  template:',
    '    metadata:',
    `      labels: {app: ${name}}`,
    '    spec:',
    '      containers:',
    '      - name: app',
    '        image: nginx:1.25',
    '',
  ].join('\n');
}

describe('conformance: objects are checked against the OpenAPI schemas', () => {
  let cluster: TestNamespace;
  let ns: string;

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-schema');
    ns = cluster.ns;
  });

  afterAll(async () => {
    await cluster.stop();
  });

  const deployments = () => `/apis/apps/v1/namespaces/${ns}/deployments`;
  const withTypos = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      bogus: 'x',
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image: 'nginx:1.25', foo: 'bar' }],
        },
      },
    },
  });
  const TYPO_WARNINGS = [
    '299 - "unknown field \\"spec.bogus\\""',
    '299 - "unknown field \\"spec.template.spec.containers[0].foo\\""',
  ];
  const request = (
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ) => rawRequest(cluster.kc, method, path, { body, contentType });

  it.each([
    ['no fieldValidation', '', true],
    ['fieldValidation=Warn', '?fieldValidation=Warn', true],
    ['fieldValidation=Ignore', '?fieldValidation=Ignore', false],
  ])('create with %s drops undeclared fields', async (_label, query, warns) => {
    const name = uniqueName('unk');
    const res = await request(
      'POST',
      `${deployments()}${query}`,
      withTypos(name),
    );
    expect(res.status).toBe(201);
    expect(res.warnings).toEqual(warns ? TYPO_WARNINGS : []);
    expect(res.body.spec.bogus).toBeUndefined();
    expect(res.body.spec.template.spec.containers[0].foo).toBeUndefined();
    const read = await request('GET', `${deployments()}/${name}`);
    expect(read.body.spec.bogus).toBeUndefined();
    expect(read.body.spec.template.spec.containers[0].image).toBe('nginx:1.25');
    expect(read.body.spec.template.spec.containers[0].foo).toBeUndefined();
  });

  it('create with fieldValidation=Strict is refused with 400 naming every undeclared field', async () => {
    const name = uniqueName('unk-strict');
    const res = await request(
      'POST',
      `${deployments()}?fieldValidation=Strict`,
      withTypos(name),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.bogus", unknown field "spec.template.spec.containers[0].foo"',
      reason: 'BadRequest',
      code: 400,
    });
    expect((await request('GET', `${deployments()}/${name}`)).status).toBe(404);
  });

  it('update (PUT) warns and drops, or with Strict answers 400', async () => {
    const name = uniqueName('unk-put');
    const created = await request('POST', deployments(), withTypos(name));
    expect(created.status).toBe(201);
    // The controller writes the status while the rollout goes on: each PUT goes over what is stored now, and
    // is sent again if the controller wrote in between (409).
    const putOverCurrent = async (query: string) => {
      for (let attempt = 0; ; attempt++) {
        const current = await request('GET', `${deployments()}/${name}`);
        const body = { ...withTypos(name), metadata: current.body.metadata };
        const res = await request(
          'PUT',
          `${deployments()}/${name}${query}`,
          body,
        );
        if (res.status !== 409 || attempt === 4) return res;
      }
    };
    const strict = await putOverCurrent('?fieldValidation=Strict');
    expect(strict.status).toBe(400);
    expect(strict.body.reason).toBe('BadRequest');
    expect(strict.body.message).toMatch(
      /^Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "/,
    );
    const put = await putOverCurrent('');
    expect(put.status).toBe(200);
    expect([...put.warnings].sort()).toEqual(TYPO_WARNINGS);
    expect(put.body.spec.bogus).toBeUndefined();
  });

  it('strategic merge patch warns and drops, or with Strict answers 422 quoting the patch', async () => {
    const name = uniqueName('unk-smp');
    await request('POST', deployments(), withTypos(name));
    const patch = {
      spec: {
        bogus: 'y',
        template: { spec: { containers: [{ name: 'app', foo: 'baz' }] } },
      },
    };
    const smp = 'application/strategic-merge-patch+json';
    const strict = await request(
      'PATCH',
      `${deployments()}/${name}?fieldValidation=Strict`,
      patch,
      smp,
    );
    expect(strict.status).toBe(422);
    const detail =
      'Invalid value: "map[spec:map[bogus:y template:map[spec:map[containers:[map[foo:baz name:app]]]]]]": strict decoding error: unknown field "spec.bogus", unknown field "spec.template.spec.containers[0].foo"';
    expect(strict.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: ` "" is invalid: patch: ${detail}`,
      reason: 'Invalid',
      details: {
        causes: [
          { reason: 'FieldValueInvalid', message: detail, field: 'patch' },
        ],
      },
      code: 422,
    });
    const patched = await request(
      'PATCH',
      `${deployments()}/${name}`,
      patch,
      smp,
    );
    expect(patched.status).toBe(200);
    expect(patched.warnings).toEqual([
      '299 - "unknown field \\"spec.bogus\\""',
      '299 - "unknown field \\"spec.template.spec.containers[0].foo\\""',
    ]);
    expect(patched.body.spec.bogus).toBeUndefined();
    expect(patched.body.spec.template.spec.containers[0]).not.toHaveProperty(
      'foo',
    );
  });

  it('a JSON patch adding an undeclared field with Strict answers 422', async () => {
    const name = uniqueName('unk-jp');
    await request('POST', deployments(), withTypos(name));
    const res = await request(
      'PATCH',
      `${deployments()}/${name}?fieldValidation=Strict`,
      [{ op: 'add', path: '/spec/bogus', value: 'z' }],
      'application/json-patch+json',
    );
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe('Invalid');
    expect(res.body.message).toMatch(
      /^ "" is invalid: patch: Invalid value: "\{/,
    );
    expect(res.body.message).toMatch(
      /": strict decoding error: unknown field "spec\.bogus"$/,
    );
  });

  it.each(['', '?fieldValidation=Ignore', '?fieldValidation=Strict'])(
    'server-side apply (%s) of an undeclared field fails with 500 and stores nothing',
    async query => {
      const name = uniqueName('ssa');
      const yaml = deploymentYaml(name, ['  replicas: 1', '  bogus: x']);
      const sep = query ? '&' : '?';
      const res = await request(
        'PATCH',
        `${deployments()}/${name}${query}${sep}fieldManager=test`,
        yaml,
        'application/apply-patch+yaml',
      );
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `failed to create typed patch object (/${name}; apps/v1, Kind=Deployment): .spec.bogus: field not declared in schema`,
        code: 500,
      });
      expect((await request('GET', `${deployments()}/${name}`)).status).toBe(
        404,
      );
    },
  );

  it('server-side apply reports one of two undeclared fields of an object: its validation stops at the first', async () => {
    // The real server walks the object as a Go map, in random order, so either field may be the one named
    // (fields/06-apply-unknown-fields-*.json name `.spec.bogus` alone, or list it after a field found first).
    const name = uniqueName('ssa-two');
    const yaml = deploymentYaml(name, ['  bogus: x', '  wrong: y']);
    const res = await request(
      'PATCH',
      `${deployments()}/${name}?fieldManager=test`,
      yaml,
      'application/apply-patch+yaml',
    );
    expect(res.status).toBe(500);
    expect(res.body.message).toMatch(
      new RegExp(
        `^failed to create typed patch object \\(/${name}; apps/v1, Kind=Deployment\\): \\.spec\\.(bogus|wrong): field not declared in schema$`,
      ),
    );
  });

  it('refuses values of the wrong JSON type with the decoder error', async () => {
    const cm = await request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'wt' },
      data: { a: 1 },
    });
    expect(cm.status).toBe(400);
    expect(cm.body.reason).toBe('BadRequest');
    expect(cm.body.message).toBe(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string',
    );
    const typo = withTypos('wt');
    const d = await request('POST', deployments(), {
      ...typo,
      spec: { ...typo.spec, replicas: 'two' },
    });
    expect(d.status).toBe(400);
    expect(d.body.message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    );
  });

  it('serves /openapi/v3 with per group-version documents, ETags and hash caching', async () => {
    const root = await request('GET', '/openapi/v3');
    expect(root.status).toBe(200);
    const paths = JSON.parse(root.text).paths;
    const url: string = paths['apis/apps/v1'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    expect(paths['api/v1'].serverRelativeURL).toMatch(
      /^\/openapi\/v3\/api\/v1\?hash=/,
    );
    const hash = url.split('hash=')[1];

    const doc = await request('GET', url);
    expect(doc.status).toBe(200);
    expect(doc.contentType).toBe('text/plain; charset=utf-8');
    expect(doc.headers.etag).toBe(`"${hash}"`);
    expect(doc.headers['cache-control']).toBe('public, immutable');
    const parsed = JSON.parse(doc.text);
    expect(parsed.openapi).toBe('3.0.0');
    const deployment =
      parsed.components.schemas['io.k8s.api.apps.v1.Deployment'];
    expect(deployment['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ]);
    const patchOp =
      parsed.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']
        .patch;
    expect(
      patchOp.parameters.map((p: any) => p.name ?? p.$ref).join(' '),
    ).toMatch(/fieldValidation/);

    const plain = await request('GET', '/openapi/v3/apis/apps/v1');
    expect(plain.headers['cache-control']).toBe('no-cache, private');
    const moved = await request('GET', '/openapi/v3/apis/apps/v1?hash=ABC');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe(
      `/openapi/v3/apis/apps/v1?hash=${hash}`,
    );
    const missing = await request(
      'GET',
      '/openapi/v3/apis/nope.example.com/v1',
    );
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('');
  });

  it('serves /openapi/v2 with the definitions of the served kinds', async () => {
    const v2 = await request('GET', '/openapi/v2');
    expect(v2.status).toBe(200);
    const doc = JSON.parse(v2.text);
    expect(doc.swagger).toBe('2.0');
    expect(
      doc.definitions['io.k8s.api.apps.v1.Deployment'][
        'x-kubernetes-group-version-kind'
      ],
    ).toEqual([{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
    expect(doc.definitions['io.k8s.api.core.v1.ConfigMap']).toBeDefined();
  });

  // fields/05-create-duplicate-fields-*.json: the last value wins; Warn (the default) names each
  // duplicate in a Warning, Strict refuses the body.
  const withDuplicates = (name: string) =>
    `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"${name}","labels":{"a":"1","a":"2"}},` +
    `"spec":{"replicas":1,"replicas":3,"selector":{"matchLabels":{"app":"dup"}},"template":{"metadata":{"labels":{"app":"dup"}},` +
    `"spec":{"containers":[{"name":"app","image":"nginx:1.25","image":"nginx:1.26"}]}}}}`;

  it.each([[''], ['?fieldValidation=Warn']])(
    'keeps the last of duplicate fields and warns about each (%p)',
    async query => {
      const name = uniqueName('dup');
      const res = await request(
        'POST',
        `${deployments()}${query}`,
        withDuplicates(name),
      );
      expect(res.status).toBe(201);
      expect(res.warnings).toEqual([
        '299 - "duplicate field \\"metadata.labels.a\\""',
        '299 - "duplicate field \\"spec.replicas\\""',
        '299 - "duplicate field \\"spec.template.spec.containers[0].image\\""',
      ]);
      expect(res.body.spec.replicas).toBe(3);
      expect(res.body.metadata.labels).toEqual({ a: '2' });
      expect(res.body.spec.template.spec.containers[0].image).toBe(
        'nginx:1.26',
      );
    },
  );

  it('refuses duplicate fields with fieldValidation=Strict and ignores them with Ignore', async () => {
    const strict = await request(
      'POST',
      `${deployments()}?fieldValidation=Strict`,
      withDuplicates(uniqueName('dup')),
    );
    expect(strict.status).toBe(400);
    expect(strict.body).toMatchObject({
      reason: 'BadRequest',
      message:
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.labels.a", duplicate field "spec.replicas", duplicate field "spec.template.spec.containers[0].image"',
    });
    const ignored = await request(
      'POST',
      `${deployments()}?fieldValidation=Ignore`,
      withDuplicates(uniqueName('dup')),
    );
    expect(ignored.status).toBe(201);
    expect(ignored.warnings).toEqual([]);
  });
});
