import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { MAX_SECRET_VALUES } from '@kubechart/plugin-kubechart-node';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(180_000);

/**
 * Every secret value a request brings is looked for in all that is shown of it, so how many one
 * request may bring is bounded: more than MAX_SECRET_VALUES distinct values in one manifest's
 * Secrets or one values object is a 400 naming the limit, wherever they come in (a policy check, a
 * preview, a recorded run's report). One Secret of 8000 values stalled `POST /policy/check` 5.2 s.
 */
const REFUSED = `Secret values refused: more than ${MAX_SECRET_VALUES} distinct secret values; the limit maxSecretValues is ${MAX_SECRET_VALUES}`;

/** 12 characters, all distinct. */
const value = (i: number) => `s${String(i).padStart(6, '0')}-Qx7w`;
const values = (n: number) => Array.from({ length: n }, (_, i) => value(i));

/** A Secret of `n` values, and a ConfigMap that copies the first and the last. */
const manifestsOf = (n: number) =>
  [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    '  name: db',
    'stringData:',
    ...values(n).map((v, i) => `  k${i}: ${v}`),
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: app',
    'data:',
    `  url: postgres://app:${value(0)}@db/app`,
    `  last: ${value(n - 1)}`,
    '',
  ].join('\n');

describe('the secret values one request may bring', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const alice = mockCredentials.user.header('user:default/alice');
  const post = (path: string, body: object) =>
    request(server)
      .post(`/api/kubechart${path}`)
      .set('Authorization', alice)
      .send(body);

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: { namespaces: { 'team-a': { owner: 'user:default/alice' } } },
        },
      }),
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it(`checks manifests whose Secrets hold ${MAX_SECRET_VALUES} values, every copy of them hidden`, async () => {
    const r = await post('/policy/check', {
      namespace: 'team-a',
      manifests: manifestsOf(MAX_SECRET_VALUES),
    });
    expect(r.status).toBe(200);
    expect(r.body.manifest).toContain(
      ['data:', '  url: postgres://app:***@db/app', "  last: '***'", ''].join(
        '\n',
      ),
    );
    expect(r.text).not.toContain(value(0));
    expect(r.text).not.toContain(value(MAX_SECRET_VALUES - 1));
  });

  it.each([
    ['/policy/check', { namespace: 'team-a' }],
    [
      '/runs/preview',
      { kind: 'manifests', cluster: 'dev', namespace: 'team-a' },
    ],
  ])(
    'refuses manifests whose Secrets hold more at %s with a 400 naming the limit',
    async (path, body) => {
      const r = await post(path, {
        ...body,
        manifests: manifestsOf(MAX_SECRET_VALUES + 1),
      });
      expect(r.status).toBe(400);
      expect(r.body.error.name).toBe('InputError');
      expect(r.body.error.message).toBe(REFUSED);
    },
  );

  it('refuses chart values holding more under secret-looking keys with a 400 naming the limit', async () => {
    const r = await post('/policy/check', {
      namespace: 'team-a',
      release: {
        name: 'web',
        chart: 'webapp',
        values: { auth: { passwords: values(MAX_SECRET_VALUES + 1) } },
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe(REFUSED);
  });

  it('refuses a recorded run reporting more with a 400 naming the limit, and records nothing', async () => {
    const recorded = await post('/runs/record', {
      kind: 'chart',
      action: 'acme:cache:create',
      target: { cluster: 'dev', namespace: 'team-a', release: 'cache' },
    });
    expect(recorded.status).toBe(201);
    const id = recorded.body.id;
    const finish = (manifest: string) =>
      post(`/runs/${id}/finish`, { status: 'succeeded', manifest });
    const refused = await finish(manifestsOf(MAX_SECRET_VALUES + 1));
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(REFUSED);
    const run = await request(server)
      .get(`/api/kubechart/runs/${id}`)
      .set('Authorization', alice);
    expect(run.body.status).toBe('running');
    expect((await finish(manifestsOf(10))).status).toBe(204);
  });
});
