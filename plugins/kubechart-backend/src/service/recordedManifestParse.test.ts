import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(180_000);

/**
 * A recorded run's manifest is read whole before anything of it is stored: the objects it holds are
 * held to the run's namespace and its Secrets' values are removed wherever else it (or the failure
 * reason) repeats them. A manifest of more objects than one policy check judges (1000, List items
 * counted) is read like any other; one that cannot be read is refused with a 400, nothing recorded.
 */
const SECRET = 'hunter2-Zq9vLp4w';

const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db' },
  stringData: { password: SECRET },
};
const copy = (namespace?: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'copy',
    ...(namespace ? { namespace } : {}),
    annotations: { note: `password is ${SECRET}` },
  },
});
const fillers = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `filler-${i}` },
    data: { i: String(i) },
  }));
const list = (items: object[]) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

describe('the manifest a recorded run reports', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const alice = mockCredentials.user.header('user:default/alice');
  const post = (path: string, body: object) =>
    request(server)
      .post(`/api/kubechart${path}`)
      .set('Authorization', alice)
      .send(body);
  const get = (path: string) =>
    request(server).get(`/api/kubechart${path}`).set('Authorization', alice);
  const record = async () => {
    const r = await post('/runs/record', {
      kind: 'chart',
      action: 'acme:cache:create',
      target: { cluster: 'dev', namespace: 'team-b', release: 'cache' },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: {
            namespaces: {
              'team-b': { owner: 'user:default/alice' },
              'team-other': { owner: 'group:default/others' },
            },
          },
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

  it('refuses a List of 1001 items holding an object in another namespace, and records nothing', async () => {
    const id = await record();
    const finish = await post(`/runs/${id}/finish`, {
      status: 'failed',
      failureReason: `helm failed: password ${SECRET} rejected`,
      manifest: list([secret, copy('team-other'), ...fillers(999)]),
    });
    expect(finish.status).toBe(403);
    expect(finish.body.error.message).toMatch(
      /holds 1 object\(s\) outside its namespace team-b: ConfigMap\/copy is in namespace team-other/,
    );
    const run = await get(`/runs/${id}`);
    expect(run.body).toMatchObject({ status: 'running' });
    expect(run.body.manifest).toBeUndefined();
    expect(run.body.failureReason).toBeUndefined();
    expect(run.text).not.toContain(SECRET);
    // The run is still the action's to finish.
    const again = await post(`/runs/${id}/finish`, { status: 'failed' });
    expect(again.status).toBe(204);
  });

  it('records a List of 1001 items in its namespace with its Secret’s value hidden wherever it is repeated', async () => {
    const id = await record();
    const finish = await post(`/runs/${id}/finish`, {
      status: 'failed',
      failureReason: `helm failed: password ${SECRET} rejected`,
      manifest: list([secret, copy(), ...fillers(999)]),
    });
    expect(finish.status).toBe(204);
    const run = await get(`/runs/${id}`);
    expect(run.body).toMatchObject({ status: 'failed' });
    expect(run.body.failureReason).toBe('helm failed: password *** rejected');
    expect(run.body.manifest).toContain('filler-998');
    expect(run.body.manifest).toContain('password is ***');
    expect(run.text).not.toContain(SECRET);
  });

  it('refuses a manifest it cannot read with a 400 naming the reason, and records nothing', async () => {
    const id = await record();
    const manifest = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: victim, namespace: team-other }\ndata: { note: x }\n',
      `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData: { password: ${SECRET} }\n`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: copy }\ndata: { url: "postgres://app:${SECRET}@db" }\n`,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: broken\ndata: [\n',
    ].join('---\n');
    const finish = await post(`/runs/${id}/finish`, {
      status: 'succeeded',
      manifest,
    });
    expect(finish.status).toBe(400);
    expect(finish.body.error.name).toBe('InputError');
    expect(finish.body.error.message).toMatch(
      new RegExp(
        `^The manifest of recorded run ${id} cannot be read: Manifests is not valid YAML: .*\\. Nothing was recorded$`,
      ),
    );
    const run = await get(`/runs/${id}`);
    expect(run.body).toMatchObject({ status: 'running' });
    expect(run.body.manifest).toBeUndefined();
    expect(run.text).not.toContain(SECRET);
    // The action may still finish the run with a manifest that can be read.
    const again = await post(`/runs/${id}/finish`, {
      status: 'succeeded',
      manifest: manifest.split('---\n').slice(1, 3).join('---\n'),
    });
    expect(again.status).toBe(204);
    const done = await get(`/runs/${id}`);
    expect(done.body.manifest).toContain('postgres://app:***@db');
    expect(done.text).not.toContain(SECRET);
  });
});
