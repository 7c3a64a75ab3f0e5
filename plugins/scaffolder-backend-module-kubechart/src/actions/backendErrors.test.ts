/*
 * What a template author sees when the kubechart backend refuses a run: the action talks to the real
 * kubechart backend (real helm, kube-sim) through the real KubechartRunsClient, and the error the
 * scaffolder prints in the task log carries the backend's reason, not only the HTTP status.
 */
import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
// The test runs the real kubechart backend the actions talk to.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import kubechartBackend from '@kubechart/plugin-kubechart-backend';
import { KubechartRunsClient } from '@kubechart/plugin-kubechart-node';
import { execFileSync } from 'node:child_process';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { createChartInstallAction } from './chartInstall';
import { createChartValidateAction } from './chartValidate';

jest.setTimeout(120_000);

const helm = execFileSync('sh', ['-c', 'command -v helm3']).toString().trim();

describe('errors from the kubechart backend reach the task log', () => {
  let sim: KubeSim;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let runs: KubechartRunsClient;

  beforeAll(async () => {
    sim = await startKubeSim({ tls: true, podReadyDelayMs: 200 });
    backend = await startTestBackend({
      features: [
        kubechartBackend,
        createServiceFactory({
          service: signalsServiceRef,
          deps: {},
          factory: () => ({ publish: async () => {} }),
        }),
        mockServices.rootConfig.factory({
          data: {
            kubernetes: {
              clusterLocatorMethods: [
                {
                  type: 'config',
                  clusters: [
                    {
                      name: 'kube-sim',
                      url: sim.url,
                      authProvider: 'serviceAccount',
                      serviceAccountToken: sim.token,
                      caData: sim.caData,
                    },
                  ],
                },
              ],
            },
            // The example charts; a chart named outside them is refused before helm runs.
            kubechart: {
              helm: {
                binary: helm,
                timeoutSeconds: 60,
                chartDirectories: [
                  path.resolve(__dirname, '../../../../examples/charts'),
                ],
              },
            },
          },
        }),
      ],
    });
    const port = (backend.server.address() as AddressInfo).port;
    runs = new KubechartRunsClient({
      auth: mockServices.auth(),
      discovery: {
        getBaseUrl: async () => `http://localhost:${port}/api/kubechart`,
        getExternalBaseUrl: async () => '',
      },
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await sim?.stop();
  });

  const input = {
    cluster: 'kube-sim',
    namespace: 'shop',
    release: 'web',
    chart: 'kubechart-service',
  };
  // createMockActionContext keeps only some of its options; set the rest on the context it returns.
  const context = (
    overrides: { input?: Record<string, unknown>; isDryRun?: boolean } = {},
  ) => ({
    ...createMockActionContext({ input: { ...input, ...overrides.input } }),
    isDryRun: overrides.isDryRun,
    getInitiatorCredentials: async () =>
      mockCredentials.user('user:default/dana'),
  });

  // Values the chart's templates cannot evaluate: helm template fails, and its message is the reason.
  const unrenderable = { values: { image: 'not-a-map' } };

  it('kubechart:chart:validate fails with the 400 and helm’s own message', async () => {
    await expect(
      createChartValidateAction({ runs }).handler(
        context({ input: unrenderable }) as any,
      ),
    ).rejects.toThrow(
      /^Request failed with 400 Bad Request: helm template failed: .*kubechart-service\/templates\/deployment\.yaml.*can't evaluate field repository/s,
    );
  });

  it('a dry run of kubechart:chart:install fails the same way', async () => {
    await expect(
      createChartInstallAction({
        runs,
        links: { appBaseUrl: 'http://localhost:3000' },
      }).handler(context({ input: unrenderable, isDryRun: true }) as any),
    ).rejects.toThrow(
      /400 Bad Request: helm template failed: .*can't evaluate field repository/s,
    );
  });

  it('a chart outside the chart directories is a 400 that names the rule', async () => {
    await expect(
      createChartValidateAction({ runs }).handler(
        context({ input: { chart: '/etc' } }) as any,
      ),
    ).rejects.toThrow(
      /^Request failed with 400 Bad Request: .*Chart source refused \(chart-directory\)/s,
    );
  });

  it('the task log gets the backend’s reason without a Node stack trace', async () => {
    const error = await createChartValidateAction({ runs })
      .handler(context({ input: { chart: '/etc' } }) as any)
      .catch(e => e);
    // The scaffolder prints `err.stack` of a failed step.
    expect(error.stack).toBe(`ResponseError: ${error.message}`);
    expect(error.message).toMatch(/Chart source refused \(chart-directory\)/);
  });

  it('an unknown cluster is a 400 that names the known clusters', async () => {
    await expect(
      createChartValidateAction({ runs }).handler(
        context({ input: { cluster: 'prod' } }) as any,
      ),
    ).rejects.toThrow(
      'Request failed with 400 Bad Request: Unknown cluster "prod"; known clusters: kube-sim',
    );
  });
});
