import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { InputError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import { HelmCli, PolicyEngine } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';
import { readEngineSettings } from './settings';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};

describe('chart sources and dry runs with real helm against kube-sim', () => {
  let sim: KubeSim;
  let created: Awaited<ReturnType<typeof createTestEngine>>;
  let engine: RunEngine;
  let store: typeof created.store;
  const ns = 'tenant-sources';

  const finish = async (request: any) => {
    const run = await engine.submit(request, 'user:default/alice', alice);
    await engine.waitFor(run.id);
    return (await store.getRun(run.id))!;
  };

  beforeAll(async () => {
    sim = await startSim();
    created = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
    });
    ({ engine, store } = created);
    const tenant = await finish({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'sources',
      releases: [],
    });
    if (tenant.status !== 'succeeded')
      throw new Error(`tenant failed: ${tenant.failureReason}`);
  });
  afterAll(() => sim?.stop());

  it("shows in a dry run every release's objects, each chart's digest (the same as the run's) and unknown values as warnings", async () => {
    const request = {
      kind: 'tenant' as const,
      cluster: 'dev',
      tenant: 'sources',
      releases: [
        {
          name: 'web',
          chart: 'webapp',
          values: { replicas: 1, privileged: true },
        },
        { name: 'crd', chart: 'withcrd' },
      ],
    };
    const preview = await engine.preview(request);
    const report = preview.policyReport!;
    expect(report.charts?.map(c => [c.release, c.chart])).toEqual([
      ['web', 'webapp'],
      ['crd', 'withcrd'],
    ]);
    expect(
      report.results
        .filter(r => r.ruleId === 'unknown-value')
        .map(r => [r.release, r.message]),
    ).toEqual([['web', 'value `privileged` is not used by chart webapp']]);
    // The CRD of crds/ is in the dry run's report (and manifest), refused as a run would refuse it.
    expect(report.results).toContainEqual(
      expect.objectContaining({
        ruleId: 'run-scope',
        passed: false,
        release: 'crd',
        object: expect.objectContaining({ kind: 'CustomResourceDefinition' }),
      }),
    );
    expect(report.blocking).toBe(true);
    expect(preview.manifest).toContain('kind: CustomResourceDefinition');
    // A chart directory's digest is of its files: a run of the same chart records the same digest.
    const run = await finish({ ...request, releases: [request.releases[0]] });
    expect(run.policyReport?.charts?.[0].digest).toBe(
      report.charts?.[0].digest,
    );
  });

  it('refuses chart sources outside chartDirectories and allowedRepositories with a 400 naming the rule, and does not echo fetch errors', async () => {
    const refusal = (request: any) =>
      engine.submit(request, 'user:default/alice', alice).then(
        () => undefined,
        e => e,
      );
    for (const [release, rule] of [
      [{ name: 'x', chart: '/etc' }, 'chart-directory'],
      [{ name: 'x', chart: 'missing-chart' }, 'chart-directory'],
      [
        { name: 'x', chart: 'nginx', repo: 'https://charts.example.com' },
        'chart-repository-allowlist',
      ],
      [
        { name: 'x', chart: 'oci://ghcr.io/acme/web' },
        'chart-repository-allowlist',
      ],
    ] as const) {
      const e = await refusal({
        kind: 'chart',
        cluster: 'dev',
        namespace: ns,
        release,
      });
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toContain(`Chart source refused (${rule})`);
      await expect(
        engine.preview({
          kind: 'chart',
          cluster: 'dev',
          namespace: ns,
          release,
        } as any),
      ).rejects.toThrow(`(${rule})`);
    }
    // An allowed repository that cannot be reached: the run fails naming chart and host only.
    const allowed = new RunEngine({
      store,
      clusters: created.clusters,
      helm: HelmCli.fromConfig(created.config),
      policy: PolicyEngine.fromConfig(created.config),
      logger: mockServices.logger.mock(),
      settings: {
        ...readEngineSettings(created.config),
        allowedRepositories: ['https://127.0.0.1:9/charts'],
      },
    });
    const request = {
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: ns,
      release: {
        name: 'remote',
        chart: 'nginx',
        repo: 'https://127.0.0.1:9/charts',
        version: '1.0.0',
      },
    };
    await expect(allowed.preview(request)).rejects.toThrow(
      /^Chart nginx version 1\.0\.0 could not be fetched from 127\.0\.0\.1:9$/,
    );
    const started = await allowed.submit(request, 'user:default/alice', alice);
    await allowed.waitFor(started.id);
    const run = (await store.getRun(started.id))!;
    expect(run.status).toBe('failed');
    expect(run.failureReason).toBe(
      'Chart nginx version 1.0.0 could not be fetched from 127.0.0.1:9',
    );
  });
});
