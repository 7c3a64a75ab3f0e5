import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import type {
  KubeObject,
  TenantResourceProvider,
} from '@kubechart/plugin-kubechart-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import type { NewRun } from '../database/RunStore';
import { readEngineSettings } from '../engine/settings';
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

  async function setup(
    code: string,
    options: {
      tenantResources?: TenantResourceProvider[];
      /** `kubechart.drift.ignoreAddedFields`. */
      ignoreAddedFields?: Array<{ manager?: string; path: string }>;
    } = {},
  ) {
    const { ignoreAddedFields, ...engineOptions } = options;
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      ...(ignoreAddedFields
        ? { config: testConfig(sim, { drift: { ignoreAddedFields } }) }
        : {}),
      ...engineOptions,
    });
    const drift = await DatabaseDriftStore.create({
      database: mockServices.database.mock({ getClient: async () => t.knex }),
    });
    // As the plugin builds it: the drift settings are the engine's.
    const settings = readEngineSettings(t.config);
    const service = new DriftService({
      runs: t.store,
      drift,
      clusters: t.clusters,
      client: c => t.engine.client(c),
      logger: mockServices.logger.mock(),
      settings,
      ...(settings.driftIgnoreAddedFields
        ? { ignoreAddedFields: settings.driftIgnoreAddedFields }
        : {}),
    });
    const submit = async () => {
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
      const done = (await t.store.getRun(r.id))!;
      expect({ status: done.status, reason: done.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      return done;
    };
    const run = await submit();
    const checkRun = async (id: string) =>
      (await service.checkAll()).find(d => d.runId === id);
    const check = () => checkRun(run.id);
    return { t, run, check, checkRun, submit, namespace: `tenant-${code}` };
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

  it('takes out the labels and annotations others added to the baseline: the tenant’s next run is in sync', async () => {
    const { t, check, checkRun, submit, namespace } = await setup('annotated');
    expect((await check())?.status).toBe('in-sync');
    await kubectl(
      'annotate',
      'resourcequota',
      'kubechart-quota',
      '-n',
      namespace,
      'team=x',
    );
    await kubectl(
      'label',
      'networkpolicy',
      'kubechart-default-deny',
      '-n',
      namespace,
      'team=x',
    );
    const d = (await check())!;
    expect({
      status: d.status,
      objects: d.objects.map(o => ({
        object: `${o.kind}/${o.name} ${o.state}`,
        paths: o.fields.map(f => f.path),
      })),
    }).toEqual({
      status: 'drifted',
      objects: [
        {
          object: 'ResourceQuota/kubechart-quota changed',
          paths: ['metadata.annotations.team'],
        },
        {
          object: 'NetworkPolicy/kubechart-default-deny changed',
          paths: ['metadata.labels.team'],
        },
      ],
    });
    expect(d.message).toMatch(/submit the tenant again/);

    // As the record says: the tenant submitted again restores them, and its drift is in sync.
    const again = await submit();
    const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const quota = await core.readNamespacedResourceQuota({
      name: 'kubechart-quota',
      namespace,
    });
    expect(quota.metadata?.annotations?.team).toBeUndefined();
    const after = (await checkRun(again.id))!;
    expect({ status: after.status, objects: after.objects }).toEqual({
      status: 'in-sync',
      objects: [],
    });
    // Nothing foreign left: the next run leaves the objects as they are.
    const third = await submit();
    const steps = (await t.store.getEvents(third.id, { limit: 5000 }))
      .filter(e => e.step === 'resource-quota' || e.step === 'network-policy')
      .map(e => e.message)
      .filter(m => /: (unchanged|updated|created)/.test(m ?? ''));
    expect(steps).toEqual([
      expect.stringMatching(/^ResourceQuota kubechart-quota: unchanged/),
      expect.stringMatching(
        /^NetworkPolicy kubechart-default-deny .*: unchanged/,
      ),
    ]);
  });

  it('keeps what drift calls in sync: a label helm wrote and one an ignore rule covers stay on the tenant’s next run', async () => {
    const { t, check, checkRun, submit, namespace } = await setup('kept', {
      ignoreAddedFields: [{ path: 'metadata.labels.team' }],
    });
    expect((await check())?.status).toBe('in-sync');
    for (const [label, manager] of [
      ['chart=web', 'helm'],
      ['team=x', 'policy-ctl'],
    ])
      await kubectl(
        'label',
        'resourcequota',
        'kubechart-quota',
        '-n',
        namespace,
        label,
        `--field-manager=${manager}`,
      );
    expect((await check())?.status).toBe('in-sync');

    const again = await submit();
    const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const quota = await core.readNamespacedResourceQuota({
      name: 'kubechart-quota',
      namespace,
    });
    expect({
      chart: quota.metadata?.labels?.chart,
      team: quota.metadata?.labels?.team,
    }).toEqual({ chart: 'web', team: 'x' });
    const steps = (await t.store.getEvents(again.id, { limit: 5000 }))
      .filter(e => e.step === 'resource-quota')
      .map(e => e.message)
      .filter(m => /: (unchanged|updated|created)/.test(m ?? ''));
    expect(steps).toEqual([
      expect.stringMatching(/^ResourceQuota kubechart-quota: unchanged/),
    ]);
    expect((await checkRun(again.id))?.status).toBe('in-sync');
  });

  it('ends the drift of a tenant whose delete was ended as failed once its namespace was gone', async () => {
    const { t, check, namespace } = await setup('stalegone');
    expect((await check())?.status).toBe('in-sync');
    // A tenant-delete whose backend died after the namespace was deleted.
    const id = 'c0000000-0000-4000-8000-00000000d001';
    await t.store.createRun(
      {
        kind: 'tenant-delete',
        target: { cluster: 'dev', namespace },
        tenant: 'stalegone',
        input: { kind: 'tenant-delete', cluster: 'dev', tenant: 'stalegone' },
        id,
        status: 'running',
        actor: 'user:default/alice',
      } as NewRun,
      [],
      {
        tenant: {
          cluster: 'dev',
          code: 'stalegone',
          record: existing => {
            const { createdAt: _c, updatedAt: _u, ...kept } = existing!;
            return { ...kept, status: 'deleting', lastRunId: id };
          },
        },
      },
    );
    const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    await core.deleteNamespace({ name: namespace });
    for (let i = 0; i < 100; i++) {
      const left = await core.readNamespace({ name: namespace }).then(
        () => true,
        () => false,
      );
      if (!left) break;
      await new Promise(r => setTimeout(r, 100));
    }
    await t
      .knex('kubechart_runs')
      .where({ id })
      .update({ heartbeat_at: Date.now() - 10 * 60_000 });
    expect(await t.engine.recoverStaleRuns()).toBe(1);
    expect({
      run: (await t.store.getRun(id))?.status,
      tenant: (await t.store.getTenants('stalegone')).find(
        x => x.cluster === 'dev',
      )?.status,
    }).toEqual({ run: 'failed', tenant: 'deleted' });

    // Deleted, as a tenant-delete that succeeded leaves it: its runs are not drifted.
    expect(await check()).toBeUndefined();

    // Submitted again: while the new run waits, and once it failed, the tenant's earlier run is not
    // its latest applied one again (every object `missing`).
    const again = 'c0000000-0000-4000-8000-00000000d002';
    await t.store.createRun(
      {
        kind: 'tenant',
        target: { cluster: 'dev', namespace },
        tenant: 'stalegone',
        input: { kind: 'tenant', cluster: 'dev', tenant: 'stalegone' },
        id: again,
        status: 'pending',
        actor: 'user:default/alice',
      } as NewRun,
      [],
      {
        tenant: {
          cluster: 'dev',
          code: 'stalegone',
          record: existing => {
            const { createdAt: _c, updatedAt: _u, ...kept } = existing!;
            return { ...kept, status: 'provisioning', lastRunId: again };
          },
        },
      },
    );
    expect(await check()).toBeUndefined();
    await t.store.finishRun(again, 'failed', { failureReason: 'refused' });
    await t.store.upsertTenant({
      ...(
        await t.store.getTenants('stalegone')
      ).find(x => x.cluster === 'dev')!,
      status: 'failed',
    });
    expect(await check()).toBeUndefined();
  });

  it('keeps a tenant resource’s copy of a secret value out of the stored baseline', async () => {
    const password = 'Zr81-tenant-db-pw';
    // Every value of a provider's Secret is a secret, whatever its key is called.
    const dsn = 'host=db port=5432 user=app password=Zr81tenantdbpw';
    const stripe = 'sk_live_51HqTenantStripeKey0042';
    const { t, run } = await setup('dburl', {
      tenantResources: [
        {
          name: 'database',
          resources: () => [
            {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: 'db-credentials' },
              stringData: { password, dsn, stripe, enabled: 'true' },
            } as KubeObject,
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'db-settings' },
              data: {
                DATABASE_URL: `postgres://app:${password}@db/app`,
                DB_DSN: dsn,
                STRIPE: stripe,
                // A short value is not taken for a secret: it would blank every `true`.
                ENABLED: 'true',
              },
            } as KubeObject,
          ],
        },
      ],
    });
    const row = await t
      .knex('kubechart_runs')
      .where({ id: run.id })
      .first('baseline');
    const stored = String(row.baseline);
    expect(stored).toContain('db-settings');
    expect({
      password: stored.includes(password),
      dsn: stored.includes('Zr81tenantdbpw'),
      stripe: stored.includes(stripe),
    }).toEqual({ password: false, dsn: false, stripe: false });
    const baseline = JSON.parse(stored) as Array<{ object: KubeObject }>;
    const settings = baseline.find(
      b => b.object.metadata?.name === 'db-settings',
    )!.object as KubeObject & { data: Record<string, string> };
    expect(settings.data.ENABLED).toBe('true');
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
