import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(180_000);

/**
 * One policy check costs what its objects cost, never their pairs: k Deployments and k
 * PodDisruptionBudgets selecting every pod (`selector: {}`) used to cost k² steps and k² messages
 * (k = 1000, 243 KB of manifests: a 15 s stall and a 72 MB answer).
 */
const pairwise = (k: number) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      ...Array.from({ length: k }, (_, i) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `d${i}` },
        spec: {
          selector: { matchLabels: { app: `a${i}` } },
          template: {
            metadata: { labels: { app: `a${i}` } },
            spec: { containers: [{ name: 'c', image: 'x:1' }] },
          },
        },
      })),
      ...Array.from({ length: k }, (_, i) => ({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: `p${i}` },
        spec: { selector: {}, minAvailable: 5 },
      })),
    ],
  });

const TOO_MANY =
  'Manifests refused: more than 1000 objects (each item of a List counted); the limit maxObjects is 1000';

describe('the cost of one policy check, over HTTP', () => {
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
        // A namespace alice may run in, so a run's request reaches its checks.
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

  it('answers POST /policy/check with a report whose messages are capped, "…and N more"', async () => {
    const manifests = pairwise(300);
    const r = await post('/policy/check', { namespace: 'team-a', manifests });
    expect(r.status).toBe(200);
    expect(r.body.report.summary.objects).toBe(600);
    const pdb = r.body.report.results.find(
      (x: any) =>
        x.ruleId === 'pdb-allows-disruption' && x.object.name === 'p0',
    );
    expect(pdb.message.split('; ')).toEqual([
      ...Array.from(
        { length: 10 },
        (_, i) =>
          `minAvailable 5 is not below the 1 replica(s) of Deployment/d${i}`,
      ),
      '…and 290 more',
    ]);
    // 600 objects, about 75 KB: the answer stays within a few kilobytes per object.
    expect(r.text.length).toBeLessThan(600 * 8 * 1024);
  });

  it.each([
    ['/policy/check', { namespace: 'team-a' }],
    [
      '/runs/preview',
      { kind: 'manifests', cluster: 'dev', namespace: 'team-a' },
    ],
    ['/runs', { kind: 'manifests', cluster: 'dev', namespace: 'team-a' }],
  ])(
    'refuses more objects than one check judges at %s with a 400 naming the limit',
    async (path, body) => {
      const r = await post(path, { ...body, manifests: pairwise(600) });
      expect(r.status).toBe(400);
      expect(r.body.error.name).toBe('InputError');
      expect(r.body.error.message).toContain(TOO_MANY);
    },
  );

  /** A ConfigMap of `keys` keys in its data, one a line (about 13 bytes each). */
  const wideConfigMap = (name: string, keys: number) =>
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      `metadata: { name: ${name} }`,
      'data:',
      ...Array.from({ length: keys }, (_, i) => `  k${i}: v`),
    ].join('\n');

  it.each([
    ['/policy/check', { namespace: 'team-a' }],
    [
      '/runs/preview',
      { kind: 'manifests', cluster: 'dev', namespace: 'team-a' },
    ],
    ['/runs', { kind: 'manifests', cluster: 'dev', namespace: 'team-a' }],
  ])(
    'refuses at %s a document of more nodes than one may hold with a 400 naming the limit, and checks the same keys in two documents',
    async (path, body) => {
      const refused = await post(path, {
        ...body,
        manifests: wideConfigMap('wide', 60_000),
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain(
        'Manifests refused: document 1 holds more than 50000 nodes once aliases are expanded; the limit maxDocumentNodes is 50000',
      );
      if (path !== '/policy/check') return;
      const checked = await post(path, {
        ...body,
        manifests: `${wideConfigMap('a', 30_000)}\n---\n${wideConfigMap(
          'b',
          30_000,
        )}`,
      });
      expect(checked.status).toBe(200);
      expect(checked.body.report.summary.objects).toBe(2);
      expect(checked.body.manifest).toContain('name: b');
      expect(checked.body.manifest).toContain('k29999: v');
    },
  );

  it('refuses a List of 333,000 empty items with a 400, not a 500', async () => {
    const manifests = `{"kind":"List","items":[${Array(333_000)
      .fill('{}')
      .join(',')}]}`;
    const r = await post('/policy/check', { namespace: 'team-a', manifests });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain(
      'Manifests refused: more than 1000 objects (each item of a List counted); the limit maxObjects is 1000',
    );
  });
});
