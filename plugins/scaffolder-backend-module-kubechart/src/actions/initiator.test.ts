import { mockCredentials } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createChartInstallAction } from './chartInstall';
import { createChartValidateAction } from './chartValidate';
import { createTenantDeleteAction } from './tenantDelete';
import { createTenantProvisionAction } from './tenantProvision';

const links = { appBaseUrl: 'http://localhost:3000' };

const provisionInput = {
  cluster: 'kube-sim',
  tenant: 'acme',
  entityRef: 'system:default/acme',
  releases: [{ name: 'web', chart: 'kubechart-service' }],
};
const chartInput = {
  cluster: 'kube-sim',
  namespace: 'shop',
  release: 'web',
  chart: 'kubechart-service',
};

/**
 * A task started with a service's token (`POST /api/scaffolder/v2/tasks` by `external:ci-bot`) has a
 * service as its initiator. Passed on, such credentials become the scaffolder plugin's own token, so
 * the kubechart backend would see `service:plugin:scaffolder`: its rights, its rate limit, its name
 * as the run's actor. The actions act for a signed-in user only.
 */
describe('kubechart actions started by a service', () => {
  const context = (input: any, isDryRun = false) => {
    const ctx = createMockActionContext({ input });
    return {
      ...ctx,
      isDryRun,
      getInitiatorCredentials: async () =>
        mockCredentials.service('external:ci-bot'),
    };
  };
  const refusal =
    /acts for a signed-in user; service:external:ci-bot is a service.*POST \/api\/kubechart\/runs with its own token/;

  it.each([
    [
      'kubechart:tenant:provision',
      (runs: FakeKubechartRuns) =>
        createTenantProvisionAction({ runs, links }).handler(
          context(provisionInput) as any,
        ),
    ],
    [
      'kubechart:chart:install',
      (runs: FakeKubechartRuns) =>
        createChartInstallAction({ runs, links }).handler(
          context(chartInput) as any,
        ),
    ],
    [
      'kubechart:tenant:delete',
      (runs: FakeKubechartRuns) =>
        createTenantDeleteAction({ runs, links }).handler(
          context({ cluster: 'kube-sim', tenant: 'acme' }) as any,
        ),
    ],
  ])('%s starts no run', async (_name, run) => {
    const runs = new FakeKubechartRuns();
    await expect(run(runs)).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringMatching(refusal),
    });
    expect(runs.created).toHaveLength(0);
    expect(runs.credentialsSeen).toHaveLength(0);
  });

  it('previews nothing, on a dry run or for kubechart:chart:validate', async () => {
    const runs = new FakeKubechartRuns();
    await expect(
      createChartInstallAction({ runs, links }).handler(
        context(chartInput, true) as any,
      ),
    ).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringMatching(refusal),
    });
    await expect(
      createChartValidateAction({ runs }).handler(context(chartInput) as any),
    ).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringMatching(refusal),
    });
    expect(runs.previewed).toHaveLength(0);
    expect(runs.credentialsSeen).toHaveLength(0);
  });

  it('still acts for a signed-in user', async () => {
    const runs = new FakeKubechartRuns();
    const ctx = createMockActionContext({ input: chartInput });
    await createChartInstallAction({ runs, links }).handler(ctx);
    expect(runs.created).toHaveLength(1);
  });
});
