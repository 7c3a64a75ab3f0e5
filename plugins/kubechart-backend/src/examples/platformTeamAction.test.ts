/*
 * The "platform team's own scaffolder action" from the kubechart-node README, run for real: it
 * renders a chart with kubechart-node's HelmCli, checks it with the PolicyEngine, installs it on
 * kube-sim and records the run in kubechart's deployment history through kubechartRunsServiceRef.
 */
import {
  coreServices,
  createBackendModule,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { ConfigReader } from '@backstage/config';
import {
  createTemplateAction,
  scaffolderActionsExtensionPoint,
} from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import {
  ClusterRegistry,
  HelmCli,
  KubechartRunsClient,
  KubechartRunsService,
  PolicyEngine,
  formatPolicyFailures,
  kubechartRunsServiceRef,
} from '@kubechart/plugin-kubechart-node';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { chartDirectory, startSim, testConfig } from '../__testUtils__/setup';

// ---- the example (same code as in plugins/kubechart-node/README.md) ----
function createCacheAction(deps: {
  runs: KubechartRunsService;
  helm: HelmCli;
  clusters: ClusterRegistry;
  policy: PolicyEngine;
  chart: string;
}) {
  return createTemplateAction({
    id: 'acme:cache:create',
    description:
      'Installs the team cache and records it in kubechart deployment history',
    schema: {
      input: {
        cluster: z =>
          z.string({
            description: 'Cluster name from kubernetes.clusterLocatorMethods',
          }),
        namespace: z => z.string({ description: 'Namespace to install into' }),
        name: z => z.string({ description: 'Release name' }),
        entityRef: z =>
          z.string({ description: 'Entity the cache belongs to' }).optional(),
      },
      output: { runId: z => z.string({ description: 'kubechart run id' }) },
    },
    async handler(ctx) {
      const { cluster, namespace, name, entityRef } = ctx.input;
      const credentials = await ctx.getInitiatorCredentials();
      const run = await deps.runs.recordRun(
        {
          kind: 'chart',
          action: 'acme:cache:create',
          target: { cluster, namespace, release: name },
          entityRef,
          input: ctx.input,
        },
        { credentials },
      );
      ctx.output('runId', run.id);
      try {
        const chart = {
          release: name,
          namespace,
          chart: deps.chart,
          values: { replicas: 2 },
        };
        const manifest = await deps.helm.template(chart);
        const report = deps.policy.checkYaml(manifest);
        if (report.blocking)
          throw new Error(
            `Policy refused the chart:\n${formatPolicyFailures(report)}`,
          );
        await run.step('install', 'started');
        const { revision } = await deps.helm.upgradeInstall({
          ...chart,
          kubeconfig: deps.clusters.kubeconfigYaml(cluster),
          createNamespace: true,
          onLine: line => ctx.logger.info(`[${name}] ${line}`),
        });
        await run.step(
          'install',
          'succeeded',
          `installed revision ${revision}`,
        );
        await run.succeed({
          helmRevision: revision,
          manifest,
          values: chart.values,
        });
      } catch (e) {
        await run.fail(String(e));
        throw e;
      }
    },
  });
}

const acmeCacheModule = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'acme-cache',
  register(env) {
    env.registerInit({
      deps: {
        actions: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        runs: kubechartRunsServiceRef,
      },
      async init({ actions, config, runs }) {
        actions.addActions(
          createCacheAction({
            runs,
            helm: HelmCli.fromConfig(config),
            clusters: ClusterRegistry.fromConfig(config),
            policy: PolicyEngine.fromConfig(config),
            chart: config.getString('acme.cacheChart'),
          }),
        );
      },
    });
  },
});
// ---- end of the example ----

jest.setTimeout(120_000);

describe('a platform team action built from kubechart-node', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  it('is a backend module for the scaffolder', () => {
    expect(acmeCacheModule).toMatchObject({
      $$type: '@backstage/BackendFeature',
    });
  });

  it('installs with helm and shows up in deployment history', async () => {
    // A recorded run is held to the namespace and entity a run started through kubechart would be:
    // team-cache is assigned to the user (the mock auth service names user:default/mock), and the
    // catalog says component:default/cache, which that user owns, deploys there.
    const data = testConfig(sim, {
      clusters: {
        dev: { namespaces: { 'team-cache': { owner: 'user:default/mock' } } },
      },
    });
    const backend = await startTestBackend({
      features: [
        kubechartPlugin,
        mockServices.rootConfig.factory({ data }),
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: {
                name: 'cache',
                namespace: 'default',
                annotations: { 'kubechart.io/namespace': 'team-cache' },
              },
              spec: {
                type: 'service',
                lifecycle: 'production',
                owner: 'user:default/mock',
              },
            },
          ],
        }),
        createServiceFactory({
          service: signalsServiceRef,
          deps: {},
          factory: () => ({ publish: async () => {} }),
        }),
      ],
    });
    try {
      const port = (backend.server.address() as AddressInfo).port;
      const runs = new KubechartRunsClient({
        auth: mockServices.auth(),
        discovery: {
          getBaseUrl: async () => `http://localhost:${port}/api/kubechart`,
          getExternalBaseUrl: async () => '',
        },
      });
      const config = new ConfigReader(data);
      const action = createCacheAction({
        runs,
        helm: HelmCli.fromConfig(config),
        clusters: ClusterRegistry.fromConfig(config),
        policy: PolicyEngine.fromConfig(config),
        chart: path.join(chartDirectory, 'webapp'),
      });
      const outputs: Record<string, unknown> = {};
      const ctx = createMockActionContext({
        input: {
          cluster: 'dev',
          namespace: 'team-cache',
          name: 'cache',
          entityRef: 'component:default/cache',
        },
        getInitiatorCredentials: async () =>
          mockCredentials.user('user:default/dana'),
      } as any);
      ctx.output = ((k: string, v: unknown) => {
        outputs[k] = v;
      }) as any;
      await action.handler(ctx as any);

      const run = await request(backend.server).get(
        `/api/kubechart/runs/${outputs.runId}`,
      );
      expect(run.body).toMatchObject({
        status: 'succeeded',
        kind: 'chart',
        action: 'acme:cache:create',
        // A user, not a service: the on-behalf-of token carries the initiator (the mock auth service
        // in tests always names user:default/mock).
        actor: expect.stringMatching(/^user:default\//),
        helmRevision: 1,
        entityRef: 'component:default/cache',
        target: { cluster: 'dev', namespace: 'team-cache', release: 'cache' },
      });
      const history = await request(backend.server).get(
        '/api/kubechart/runs?entityRef=component:default/cache',
      );
      expect(history.body.items.map((r: any) => r.id)).toEqual([outputs.runId]);
      const events = await request(backend.server).get(
        `/api/kubechart/runs/${outputs.runId}/events`,
      );
      expect(events.body.items.map((e: any) => e.message)).toContain(
        'installed revision 1',
      );
    } finally {
      await backend.stop();
    }
  });
});
