import {
  conformanceNamespace,
  eventually,
  TestNamespace,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim. Structural
// defaulting is the apiextensions server's documented behaviour (no recording of it exists in
// ../shared/reference/kube-api/crd/, whose CRD has no defaults).
describe('conformance: custom resources get the defaults of their structural schema', () => {
  let cluster: TestNamespace;
  let ns: string;
  const group = `${uniqueName('confdef')}.example.com`;
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${group}`;
  const gadgets = () => `/apis/${group}/v1/namespaces/${ns}/gadgets`;
  const request = (method: string, path: string, body?: unknown) =>
    rawRequest(cluster.kc, method, path, { body });
  const gadget = (name: string, spec?: Record<string, unknown>) => ({
    apiVersion: `${group}/v1`,
    kind: 'Gadget',
    metadata: { name },
    ...(spec ? { spec } : {}),
  });

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-crddef');
    ns = cluster.ns;
    const created = await request(
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `gadgets.${group}` },
        spec: {
          group,
          names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      properties: {
                        replicas: { type: 'integer', default: 1 },
                        mode: { type: 'string', default: 'auto' },
                        options: {
                          type: 'object',
                          default: {},
                          properties: {
                            retries: { type: 'integer', default: 3 },
                          },
                        },
                        ports: {
                          type: 'array',
                          items: {
                            type: 'object',
                            properties: {
                              port: { type: 'integer' },
                              protocol: { type: 'string', default: 'TCP' },
                            },
                          },
                        },
                      },
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
    await eventually(async () => {
      const res = await request('GET', gadgets());
      return res.status === 200;
    });
  });

  afterAll(async () => {
    await request('DELETE', crdPath).catch(() => {});
    await cluster.stop();
  });

  it('fills in left-out fields, also inside a defaulted object and in list items', async () => {
    const res = await request(
      'POST',
      gadgets(),
      gadget('g1', { ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] }),
    );
    expect(res.status).toBe(201);
    expect(res.body.spec).toEqual({
      replicas: 1,
      mode: 'auto',
      options: { retries: 3 },
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
    });
    const read = await request('GET', `${gadgets()}/g1`);
    expect(read.body.spec).toEqual(res.body.spec);
  });

  it('keeps the values a client sets and does not create a parent that has no default', async () => {
    const set = await request(
      'POST',
      gadgets(),
      gadget('g2', { replicas: 5, mode: 'manual', options: { retries: 0 } }),
    );
    expect(set.body.spec).toEqual({
      replicas: 5,
      mode: 'manual',
      options: { retries: 0 },
    });
    const bare = await request('POST', gadgets(), gadget('g3'));
    expect(bare.status).toBe(201);
    expect(bare.body.spec).toBeUndefined();
  });

  it('defaults what a merge patch removes', async () => {
    const patched = await rawRequest(cluster.kc, 'PATCH', `${gadgets()}/g2`, {
      body: { spec: { mode: null } },
      contentType: 'application/merge-patch+json',
    });
    expect(patched.status).toBe(200);
    expect(patched.body.spec.mode).toBe('auto');
  });
});
