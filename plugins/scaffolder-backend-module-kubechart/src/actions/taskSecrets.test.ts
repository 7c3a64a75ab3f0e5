/*
 * A template passes a task secret (`license: ${{ secrets.license }}`, entered in a ui:field Secret)
 * into a chart's values, or into the manifests a step applies, under a key that does not look
 * secret. The action talks to the real kubechart backend (real helm, kube-sim): what the backend
 * keeps of the run (its input, stored values, manifest, events, an approval's plan) must not hold
 * the secret, and a run on a protected target, whose input then is not kept, still starts once
 * approved.
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
import yaml from 'js-yaml';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { createChartInstallAction } from './chartInstall';
import { createManifestsApplyAction } from './manifestsApply';

jest.setTimeout(180_000);

const helm = execFileSync('sh', ['-c', 'command -v helm3']).toString().trim();

const DANA = 'user:default/dana';
const ERIN = 'user:default/erin';
const LICENSE = 'LIC-7f3a9c2e41d8b6';
const DSN = 'dsn-4b1e9a77c0d2';

describe('task secrets in a chart’s values and in manifests', () => {
  let sim: KubeSim;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let runs: KubechartRunsClient;

  beforeAll(async () => {
    sim = await startKubeSim({
      tls: true,
      podReadyDelayMs: 200,
      // The namespaces the platform team assigned to dana.
      objects: [
        ...['shop', 'shop-prod'].map(name => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        })),
        // An approval's plan reads shop-prod's releases as its deployer, before any run there.
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'deployer-reads', namespace: 'shop-prod' },
          subjects: [
            {
              kind: 'ServiceAccount',
              name: 'kubechart-deployer-shop-prod',
              namespace: 'kubechart-deployers',
            },
          ],
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'admin',
          },
        },
      ],
    });
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
            kubechart: {
              helm: {
                binary: helm,
                timeoutSeconds: 60,
                chartDirectories: [
                  path.resolve(__dirname, '../../../../examples/charts'),
                ],
              },
              policy: {
                mode: 'enforce',
                trustedRegistries: ['registry.example.com'],
              },
              wait: { timeoutSeconds: 30, pollIntervalMs: 200 },
              clusters: {
                'kube-sim': {
                  namespaces: {
                    shop: { owner: DANA },
                    'shop-prod': { owner: DANA },
                  },
                },
              },
              approvals: {
                rules: [
                  {
                    name: 'production',
                    namespaces: ['shop-prod'],
                    approvers: [ERIN],
                  },
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

  const as = (who: string) => mockCredentials.user.header(who);
  /** All the backend shows of a run: the run (input, manifest, values), its events. */
  const keptOf = async (id: string) => {
    const run = await request(backend.server)
      .get(`/api/kubechart/runs/${id}`)
      .set('Authorization', as(DANA));
    const events = await request(backend.server)
      .get(`/api/kubechart/runs/${id}/events`)
      .set('Authorization', as(DANA));
    expect(run.status).toBe(200);
    return { run: run.body, text: JSON.stringify([run.body, events.body]) };
  };

  const install = (namespace: string) => {
    const ctx = {
      ...createMockActionContext({
        // What the scaffolder renders for `APP_LICENSE: ${{ secrets.license }}` and a DSN within a URL.
        input: {
          cluster: 'kube-sim',
          namespace,
          release: 'web',
          chart: 'kubechart-service',
          values: {
            image: { repository: 'registry.example.com/web', tag: '1.0.0' },
            replicas: 1,
            env: {
              APP_LICENSE: LICENSE,
              SENTRY_URL: `https://sentry.example/${DSN}/1`,
            },
          },
        },
        secrets: { license: LICENSE, sentryDsn: DSN, unused: 'never-used-1' },
      }),
      getInitiatorCredentials: async () => mockCredentials.user(DANA),
    };
    return {
      ctx,
      done: createChartInstallAction({
        runs,
        links: { appBaseUrl: 'http://localhost:3000' },
        pollIntervalMs: 100,
        approvalPollIntervalMs: 100,
      }).handler(ctx as any),
    };
  };

  it('keeps no task secret in what the backend records of the run', async () => {
    const { ctx, done } = install('shop');
    await done;
    const id = (ctx.output as jest.Mock).mock.calls.find(
      ([name]) => name === 'runId',
    )[1];
    const { run, text } = await keptOf(id);
    expect(run.status).toBe('succeeded');
    expect(text).not.toContain(LICENSE);
    expect(text).not.toContain(DSN);
    expect(text).not.toContain('secretValues');
    // Shown as hidden where the values held them; the rest of the values as given.
    expect(run.input.release.values).toEqual({
      image: { repository: 'registry.example.com/web', tag: '1.0.0' },
      replicas: 1,
      env: { APP_LICENSE: '***', SENTRY_URL: 'https://sentry.example/***/1' },
    });
    // The chart copied the values into the Deployment: hidden in the manifest the run keeps.
    expect(run.manifest).toContain('APP_LICENSE');
  });

  it('starts a run on a protected target once approved, from the input the action submits again', async () => {
    const { ctx, done } = install('shop-prod');
    const finished = done.then(
      () => 'done',
      e => e,
    );
    let awaiting: any;
    for (let i = 0; i < 300 && !awaiting; i++) {
      await new Promise(r => setTimeout(r, 100));
      const list = await request(backend.server)
        .get('/api/kubechart/runs')
        .set('Authorization', as(DANA));
      awaiting = (list.body.items ?? []).find(
        (r: any) =>
          r.target?.namespace === 'shop-prod' &&
          r.status === 'awaiting-approval',
      );
    }
    expect(awaiting).toBeDefined();
    expect(JSON.stringify(awaiting)).not.toContain(LICENSE);
    const approved = await request(backend.server)
      .post(`/api/kubechart/runs/${awaiting.id}/approve`)
      .set('Authorization', as(ERIN))
      .send({ comment: 'ok' });
    expect(approved.status).toBe(200);
    expect(await finished).toBe('done');
    const { run, text } = await keptOf(awaiting.id);
    expect(run.status).toBe('succeeded');
    expect(run.approval?.resubmit).toBe(true);
    expect(text).not.toContain(LICENSE);
    expect(text).not.toContain(DSN);
    expect(ctx.output).toHaveBeenCalledWith('status', 'succeeded');
  });

  it('honours only declared secrets the values hold, and hides them only in the values (a caller of POST /runs)', async () => {
    const posted = await request(backend.server)
      .post('/api/kubechart/runs')
      .set('Authorization', as(DANA))
      .send({
        kind: 'chart',
        cluster: 'kube-sim',
        namespace: 'shop',
        release: {
          name: 'api',
          chart: 'kubechart-service',
          values: {
            image: { repository: 'registry.example.com/web', tag: '1.0.0' },
            replicas: 1,
            env: { CHART: 'kubechart-service', NOTE: 'plain-text-here' },
          },
        },
        // Text the values do not hold, and text that is also the chart's name.
        secretValues: ['not-in-the-values', 'kubechart-service', 'abc'],
      });
    expect(posted.status).toBe(202);
    let run: any;
    for (let i = 0; i < 300; i++) {
      run = (await keptOf(posted.body.id)).run;
      if (!['pending', 'running'].includes(run.status)) break;
      await new Promise(r => setTimeout(r, 100));
    }
    expect(run.input.secretValues).toBeUndefined();
    expect(run.input.release).toEqual({
      name: 'api',
      chart: 'kubechart-service',
      values: {
        image: { repository: 'registry.example.com/web', tag: '1.0.0' },
        replicas: 1,
        env: { CHART: '***', NOTE: 'plain-text-here' },
      },
    });
  });

  const applyManifests = (namespace: string) => {
    const ctx = {
      ...createMockActionContext({
        // What the scaffolder renders for a manifests step whose ConfigMap takes `${{ secrets.license }}`
        // and a DSN within a URL, under keys that do not look secret.
        input: {
          cluster: 'kube-sim',
          namespace,
          manifests: [
            'apiVersion: v1',
            'kind: ConfigMap',
            'metadata:',
            '  name: web-settings',
            '  annotations:',
            `    example.com/sentry: https://sentry.example/${DSN}/1`,
            'data:',
            `  APP_LICENSE: ${LICENSE}`,
            '  LOG_LEVEL: info',
            '',
          ].join('\n'),
        },
        secrets: { license: LICENSE, sentryDsn: DSN, unused: 'never-used-1' },
      }),
      getInitiatorCredentials: async () => mockCredentials.user(DANA),
    };
    return {
      ctx,
      done: createManifestsApplyAction({
        runs,
        links: { appBaseUrl: 'http://localhost:3000' },
        pollIntervalMs: 100,
        approvalPollIntervalMs: 100,
      }).handler(ctx as any),
    };
  };

  it('keeps no task secret a manifests step applies in what the backend records of the run', async () => {
    const { ctx, done } = applyManifests('shop');
    await done;
    const id = (ctx.output as jest.Mock).mock.calls.find(
      ([name]) => name === 'runId',
    )[1];
    const { run, text } = await keptOf(id);
    expect(run.status).toBe('succeeded');
    expect(text).not.toContain(LICENSE);
    expect(text).not.toContain(DSN);
    expect(text).not.toContain('secretValues');
    // Shown as hidden where the manifests held them; the rest as applied.
    const kept = yaml.load(run.manifest) as any;
    expect(kept.data).toEqual({ APP_LICENSE: '***', LOG_LEVEL: 'info' });
    expect(kept.metadata.annotations).toEqual({
      'example.com/sentry': 'https://sentry.example/***/1',
    });
    // The cluster received the secret itself.
    const applied = await new Promise<any>((resolve, reject) =>
      https
        .get(
          `${sim.url}/api/v1/namespaces/shop/configmaps/web-settings`,
          {
            headers: { Authorization: `Bearer ${sim.token}` },
            ca: Buffer.from(sim.caData!, 'base64'),
          },
          res => {
            let body = '';
            res.on('data', chunk => (body += chunk));
            res.on('end', () => resolve(JSON.parse(body)));
          },
        )
        .on('error', reject),
    );
    expect(applied.data).toEqual({ APP_LICENSE: LICENSE, LOG_LEVEL: 'info' });
  });

  it('keeps no task secret of a manifests step in the plan approvers see, nor in the run once approved', async () => {
    const { ctx, done } = applyManifests('shop-prod');
    const finished = done.then(
      () => 'done',
      e => e,
    );
    let awaiting: any;
    for (let i = 0; i < 300 && !awaiting; i++) {
      await new Promise(r => setTimeout(r, 100));
      const list = await request(backend.server)
        .get('/api/kubechart/runs')
        .set('Authorization', as(DANA));
      awaiting = (list.body.items ?? []).find(
        (r: any) =>
          r.kind === 'manifests' &&
          r.target?.namespace === 'shop-prod' &&
          r.status === 'awaiting-approval',
      );
    }
    expect(awaiting).toBeDefined();
    const plan = await keptOf(awaiting.id);
    expect((yaml.load(plan.run.manifest) as any).data).toEqual({
      APP_LICENSE: '***',
      LOG_LEVEL: 'info',
    });
    expect(plan.text).not.toContain(LICENSE);
    expect(plan.text).not.toContain(DSN);
    const approved = await request(backend.server)
      .post(`/api/kubechart/runs/${awaiting.id}/approve`)
      .set('Authorization', as(ERIN))
      .send({ comment: 'ok' });
    expect(approved.status).toBe(200);
    expect(await finished).toBe('done');
    const { run, text } = await keptOf(awaiting.id);
    expect(run.status).toBe('succeeded');
    expect(text).not.toContain(LICENSE);
    expect(text).not.toContain(DSN);
    expect(ctx.output).toHaveBeenCalledWith('status', 'succeeded');
  });
});
