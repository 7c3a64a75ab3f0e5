import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import { formatPath } from './compare';
import { DriftService } from './DriftService';
import { reapplyRequest } from './reapply';

jest.setTimeout(240_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const exec = promisify(execFile);
const kubectlBinary = resolve(__dirname, '../../../../.tools/bin/kubectl');

/**
 * The ResourceQuota, LimitRange and default-deny NetworkPolicy a tenant run applies are its objects
 * too: a tenant user who deletes the NetworkPolicy, or a quota widened by hand, is drift of that run.
 */
describe('drift of a tenant run’s baseline objects', () => {
  let sim: KubeSim;
  let dir: string;
  const kubectl = (...args: string[]) =>
    exec(kubectlBinary, args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        KUBECONFIG: join(dir, 'kubeconfig'),
      },
      timeout: 30_000,
    });

  beforeAll(async () => {
    if (!existsSync(kubectlBinary))
      throw new Error(
        `kubectl not found at ${kubectlBinary}: run scripts/install-helm.sh first`,
      );
    sim = await startSim();
    dir = mkdtempSync(join(tmpdir(), 'kubechart-baseline-drift-'));
    writeFileSync(join(dir, 'kubeconfig'), sim.kubeconfig, { mode: 0o600 });
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup(code: string) {
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
    });
    const drift = await DatabaseDriftStore.create({
      database: mockServices.database.mock({ getClient: async () => t.knex }),
    });
    const service = new DriftService({
      runs: t.store,
      drift,
      clusters: t.clusters,
      client: c => t.engine.client(c),
      logger: mockServices.logger.mock(),
    });
    const r = await t.engine.submit(
      {
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [{ name: 'web', chart: 'webapp' }],
      },
      'user:default/alice',
    );
    await t.engine.waitFor(r.id);
    const run = (await t.store.getRun(r.id))!;
    expect({ status: run.status, reason: run.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    const check = async () =>
      (await service.checkAll()).find(d => d.runId === run.id);
    return { t, run, check, namespace: `tenant-${code}` };
  }

  it('reports the default-deny NetworkPolicy a tenant user deleted as missing', async () => {
    const { run, check, namespace } = await setup('nodeny');
    expect((await check())?.status).toBe('in-sync');

    // A tenant user who may edit the namespace (NetworkPolicies included) removes the isolation.
    await kubectl(
      'create',
      'rolebinding',
      'bob-edit',
      '--clusterrole',
      'edit',
      '--user',
      'bob',
      '-n',
      namespace,
    );
    await kubectl(
      'delete',
      'networkpolicy',
      'kubechart-default-deny',
      '-n',
      namespace,
      '--as',
      'bob',
    );

    const d = (await check())!;
    expect({
      status: d.status,
      objects: d.objects.map(o => `${o.kind}/${o.name} ${o.state}`),
    }).toEqual({
      status: 'drifted',
      objects: ['NetworkPolicy/kubechart-default-deny missing'],
    });
    // Re-applying the run rolls its release back: that does not restore the baseline, and says so.
    await expect(
      reapplyRequest(run, { history: async () => [], drift: d.objects }),
    ).rejects.toThrow(/submit the tenant again/);
  });

  it('reports a quota widened by hand, and a key added to it, as changed', async () => {
    const { t, check, namespace } = await setup('widened');
    expect((await check())?.status).toBe('in-sync');
    const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const quota = await core.readNamespacedResourceQuota({
      name: 'kubechart-quota',
      namespace,
    });
    const hard = quota.spec!.hard!;
    const [resource] = Object.keys(hard);
    expect(resource).toBeDefined();
    await kubectl(
      'patch',
      'resourcequota',
      'kubechart-quota',
      '-n',
      namespace,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { hard: { [resource]: '1000' } } }),
    );
    const widened = (await check())!;
    expect({
      status: widened.status,
      objects: widened.objects.map(o => ({
        object: `${o.kind}/${o.name} ${o.state}`,
        paths: o.fields.map(f => f.path),
      })),
    }).toEqual({
      status: 'drifted',
      objects: [
        {
          object: 'ResourceQuota/kubechart-quota changed',
          paths: [
            formatPath([
              { field: 'spec' },
              { field: 'hard' },
              { field: resource },
            ]),
          ],
        },
      ],
    });
    expect(widened.message).toMatch(/submit the tenant again/);

    // Put back, then a resource added to the quota: the engine's next run takes it out, so it is drift too.
    await kubectl(
      'patch',
      'resourcequota',
      'kubechart-quota',
      '-n',
      namespace,
      '--type',
      'merge',
      '-p',
      JSON.stringify({
        spec: { hard: { [resource]: hard[resource], 'example.com/gpu': '4' } },
      }),
    );
    const added = (await check())!;
    expect({
      status: added.status,
      objects: added.objects.map(o => ({
        object: `${o.kind}/${o.name} ${o.state}`,
        paths: o.fields.map(f => f.path),
      })),
    }).toEqual({
      status: 'drifted',
      objects: [
        {
          object: 'ResourceQuota/kubechart-quota changed',
          paths: ['spec.hard["example.com/gpu"]'],
        },
      ],
    });
  });

  it('is unknown, never in sync, for a tenant run that recorded no baseline', async () => {
    const { t, run, check } = await setup('nobaseline');
    // A tenant run recorded before the baseline was kept.
    await t
      .knex('kubechart_runs')
      .where({ id: run.id })
      .update({ baseline: null });
    const d = (await check())!;
    expect({ status: d.status, message: d.message }).toEqual({
      status: 'unknown',
      message: expect.stringContaining('recorded no baseline objects'),
    });
  });
});
