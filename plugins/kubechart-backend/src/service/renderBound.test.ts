import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { DEFAULT_HELM_MAX_STDOUT_BYTES } from '@kubechart/plugin-kubechart-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { helmBinary, startSim, testConfig } from '../__testUtils__/setup';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import { until } from '../__testUtils__/replicas';

jest.setTimeout(180_000);

const ALICE = 'user:default/alice';
/** A namespace the platform assigned to alice. */
const ASSIGNED = 'shop';

/**
 * A chart whose values make it render more than the helm runner reads of `helm template`'s output
 * (`DEFAULT_HELM_MAX_STDOUT_BYTES`) is the caller's to change: previews, policy checks and runs
 * refuse it as a request error that names the bound, and none of it is applied.
 */
describe('a chart that renders more than the helm runner reads', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  let core: CoreV1Api;
  let dir: string;
  const alice = mockCredentials.user.header(ALICE);
  const post = (route: string, body: object) =>
    request(server)
      .post(`/api/kubechart${route}`)
      .set('Authorization', alice)
      .send(body);
  const release = { name: 'web', chart: 'webapp' };
  const refusal = `The chart rendered more than ${DEFAULT_HELM_MAX_STDOUT_BYTES} bytes with these values, the most kubechart reads of what helm template writes: give values that render less`;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubechart-bigrender-'));
    // helm 3 as it is, except that `helm template` goes on to write a comment line after the
    // manifests until one byte past the bound: what a chart rendering that much writes (real
    // helm takes seconds and most of a gigabyte to render 64 MiB).
    const helm = path.join(dir, 'helm');
    await fs.writeFile(
      helm,
      `#!/bin/sh
if [ "$1" = "template" ]; then
  "${helmBinary('helm3')}" "$@" || exit $?
  printf '# %s\\n' "$(printf 'a%.0s' $(seq 1 97))" > "${dir}/line"
  yes "$(cat "${dir}/line")" | head -c ${DEFAULT_HELM_MAX_STDOUT_BYTES + 1}
  exit 0
fi
exec "${helmBinary('helm3')}" "$@"
`,
      { mode: 0o755 },
    );
    sim = await startSim();
    const config = testConfig(sim, {
      health: { startOnBoot: false },
      clusters: { dev: { namespaces: { [ASSIGNED]: { owner: ALICE } } } },
    });
    config.kubechart.helm.binary = helm;
    core = simKubeConfig(sim).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ASSIGNED } } });
    const backend = await startKubechartBackend({ config });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each([
    [
      'a preview (a scaffolder dry run)',
      '/runs/preview',
      { kind: 'chart', cluster: 'dev' },
    ],
    ['a policy check', '/policy/check', {}],
  ])('is a 400 naming the bound in %s', async (_, route, body) => {
    const r = await post(route, { ...body, namespace: ASSIGNED, release });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      name: 'InputError',
      message: refusal,
    });
  });

  it('fails a run with that reason, and none of the chart is applied', async () => {
    const created = await post('/runs', {
      kind: 'chart',
      cluster: 'dev',
      namespace: ASSIGNED,
      release,
    });
    expect(created.status).toBe(202);
    const run = await until(
      'the run to end',
      async () => {
        const r = await request(server)
          .get(`/api/kubechart/runs/${created.body.id}`)
          .set('Authorization', alice);
        return ['succeeded', 'failed'].includes(r.body.status) && r.body;
      },
      120_000,
    );
    expect(run.status).toBe('failed');
    expect(run.failureReason).toBe(refusal);
    // The run set up its deployer identity for the namespace before it rendered; of the chart it
    // applied nothing: no release record, none of its objects.
    expect(
      (run.applied as string[]).filter(
        change => !/deployer/.test(change) && !/Namespace\//.test(change),
      ),
    ).toEqual([]);
    expect(
      (await core.listNamespacedSecret({ namespace: ASSIGNED })).items.map(
        s => s.metadata?.name,
      ),
    ).toEqual([]);
    expect(
      (
        await simKubeConfig(sim)
          .makeApiClient(AppsV1Api)
          .listNamespacedDeployment({ namespace: ASSIGNED })
      ).items,
    ).toEqual([]);
    expect(
      (await core.listNamespacedService({ namespace: ASSIGNED })).items,
    ).toEqual([]);
  });
});
