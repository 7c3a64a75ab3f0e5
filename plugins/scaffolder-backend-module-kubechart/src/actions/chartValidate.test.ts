import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import type { PolicyReport } from '@kubechart/plugin-kubechart-common';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createChartInstallAction } from './chartInstall';
import { createChartValidateAction } from './chartValidate';

const failing: PolicyReport = {
  mode: 'enforce',
  passed: false,
  blocking: true,
  summary: { objects: 2, errors: 1, warnings: 1, infos: 0 },
  results: [
    {
      ruleId: 'image-tag',
      severity: 'error',
      passed: false,
      object: { kind: 'Deployment', name: 'web' },
      message: 'container web uses the latest tag',
      fix: 'pin the image to a version',
    },
    {
      ruleId: 'replicas',
      severity: 'warning',
      passed: false,
      object: { kind: 'Deployment', name: 'web' },
      message: 'one replica',
      fix: 'run at least two replicas',
    },
    {
      ruleId: 'privileged',
      severity: 'error',
      passed: true,
      object: { kind: 'Deployment', name: 'web' },
      message: 'not privileged',
      fix: '',
    },
  ],
};

const input = {
  cluster: 'kube-sim',
  namespace: 'shop',
  release: 'web',
  chart: 'kubechart-service',
  values: 'image:\n  tag: latest\n',
};

describe('kubechart:chart:validate', () => {
  it('outputs the failed checks and installs nothing', async () => {
    const runs = new FakeKubechartRuns();
    runs.preview = { policyReport: failing };
    const ctx = createMockActionContext({ input });
    await createChartValidateAction({ runs }).handler(ctx);
    expect(runs.created).toHaveLength(0);
    expect(runs.previewed[0]).toMatchObject({
      kind: 'chart',
      release: {
        name: 'web',
        chart: 'kubechart-service',
        values: { image: { tag: 'latest' } },
      },
    });
    expect(ctx.output).toHaveBeenCalledWith('passed', false);
    expect(ctx.output).toHaveBeenCalledWith('blocking', true);
    expect(ctx.output).toHaveBeenCalledWith('report', [
      expect.objectContaining({
        ruleId: 'image-tag',
        object: 'Deployment/web',
      }),
      expect.objectContaining({ ruleId: 'replicas', severity: 'warning' }),
    ]);
  });

  it('fails the step on a blocking report when asked to', async () => {
    const runs = new FakeKubechartRuns();
    runs.preview = { policyReport: failing };
    const ctx = createMockActionContext({
      input: { ...input, failOnError: true },
    });
    await expect(
      createChartValidateAction({ runs }).handler(ctx),
    ).rejects.toThrow(/refuses this chart: 1 error/);
  });
});

describe('kubechart:chart:install', () => {
  it('reports the enforced policy failure as the step’s error and outputs no revision', async () => {
    const runs = new FakeKubechartRuns();
    runs.outcome = {
      status: 'failed',
      failureReason: 'chart policy refused the release',
      policyReport: failing,
    };
    const ctx = createMockActionContext({ input });
    await expect(
      createChartInstallAction({
        runs,
        links: { appBaseUrl: 'http://x' },
      }).handler(ctx),
    ).rejects.toThrow(
      /\[image-tag\] Deployment\/web: container web uses the latest tag — fix: pin the image/,
    );
    expect(ctx.output).not.toHaveBeenCalledWith('revision', expect.anything());
  });

  it('outputs the Helm revision of a successful install', async () => {
    const runs = new FakeKubechartRuns();
    runs.outcome = { status: 'succeeded', helmRevision: 3 };
    const ctx = createMockActionContext({ input });
    await createChartInstallAction({
      runs,
      links: { appBaseUrl: 'http://x' },
    }).handler(ctx);
    expect(ctx.output).toHaveBeenCalledWith('revision', 3);
  });
});
