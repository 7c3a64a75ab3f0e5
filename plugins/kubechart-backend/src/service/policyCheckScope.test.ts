import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(180_000);

/** A ConfigMap in another namespace and a cluster-scoped ClusterRole: neither is a run's to write. */
const OUTSIDE = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: { name: planted, namespace: kube-system }',
  'data: { a: "1" }',
  '---',
  'apiVersion: rbac.authorization.k8s.io/v1',
  'kind: ClusterRole',
  'metadata: { name: reader, namespace: tenant-agent }',
  'rules: []',
].join('\n');

const runScopeFailures = (report: any) =>
  report.results
    .filter((r: any) => r.ruleId === 'run-scope' && !r.passed)
    .map((r: any) => `${r.object.kind}/${r.object.name}: ${r.message}`)
    .sort();

/**
 * `POST /policy/check` answers whether an install would be blocked: it applies the run-scope rule
 * the preview applies (the request's namespace, no cluster-scoped kind), and answers as
 * `POST /runs/preview` does for the same objects.
 */
describe('POST /policy/check applies the run scope, as the preview does', () => {
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
      config: testConfig(sim, { health: { startOnBoot: false } }),
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('blocks manifests outside the namespace, with the preview’s two run-scope failures', async () => {
    const preview = await post('/runs/preview', {
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-agent',
      manifests: OUTSIDE,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.policyReport.blocking).toBe(true);
    const expected = runScopeFailures(preview.body.policyReport);
    expect(expected).toHaveLength(2);

    const checked = await post('/policy/check', {
      cluster: 'dev',
      namespace: 'tenant-agent',
      manifests: OUTSIDE,
    });
    expect(checked.status).toBe(200);
    expect(checked.body.report).toMatchObject({
      passed: false,
      blocking: true,
    });
    expect(runScopeFailures(checked.body.report)).toEqual(expected);
  });

  it('blocks the same objects when no cluster is named (the built-in kinds)', async () => {
    const checked = await post('/policy/check', {
      namespace: 'tenant-agent',
      manifests: OUTSIDE,
    });
    expect(checked.status).toBe(200);
    expect(checked.body.report.blocking).toBe(true);
    expect(runScopeFailures(checked.body.report)).toEqual([
      'ClusterRole/reader: ClusterRole/reader is cluster-scoped; a run may only write to namespace tenant-agent',
      'ConfigMap/planted: ConfigMap/planted is in namespace kube-system; a run may only write to namespace tenant-agent',
    ]);
  });

  it('blocks a chart that renders outside the namespace, as the preview does', async () => {
    const release = {
      name: 'x',
      chart: 'escape',
      values: { attack: 'kube-system' },
    };
    const preview = await post('/runs/preview', {
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-agent',
      release,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.policyReport.blocking).toBe(true);
    const expected = runScopeFailures(preview.body.policyReport);
    expect(expected).toHaveLength(1);

    const checked = await post('/policy/check', {
      cluster: 'dev',
      namespace: 'tenant-agent',
      release,
    });
    expect(checked.status).toBe(200);
    expect(checked.body.report.blocking).toBe(true);
    expect(runScopeFailures(checked.body.report)).toEqual(expected);
  });

  it('still passes objects inside the namespace', async () => {
    const checked = await post('/policy/check', {
      cluster: 'dev',
      namespace: 'tenant-agent',
      manifests:
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ok }\ndata: { a: "1" }\n',
    });
    expect(checked.status).toBe(200);
    expect(runScopeFailures(checked.body.report)).toEqual([]);
    expect(checked.body.report.blocking).toBe(false);
  });

  it('refuses a cluster it does not know', async () => {
    const checked = await post('/policy/check', {
      cluster: 'nope',
      namespace: 'tenant-agent',
      manifests: OUTSIDE,
    });
    expect(checked.status).toBe(400);
  });
});
