import { createServiceFactory } from '@backstage/backend-plugin-api';
import { metricsServiceFactory } from '@backstage/backend-defaults/alpha';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import assistantPlugin from '@kubechart/plugin-assistant-backend';
import auditLogPlugin from '@kubechart/plugin-audit-log-backend';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import kubechartPlugin from '@kubechart/plugin-kubechart-backend';
import { createServer } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import request from 'supertest';

jest.setTimeout(180_000);

const chartsDir = resolvePath(__dirname, '../../../examples/charts');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise(r => server.close(r));
  return port;
}

/** Prometheus text format: the samples of one metric, as labels → value. */
function samples(
  text: string,
  name: string,
): Array<{ labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter(l => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map(l => {
      const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(l)!;
      const labels = Object.fromEntries(
        [...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(x => [x[1], x[2]]),
      );
      return { labels, value: Number(m[2]) };
    });
}

function value(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  return samples(text, name).find(s =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/**
 * The example backend's OpenTelemetry setup (src/instrumentation.js, loaded first as `--require`
 * does) with the real metrics service: after a tenant run, a conflicting run, a run the policy
 * refuses, and two assistant questions, Prometheus' scrape of /metrics shows each of them.
 */
describe('operations metrics on /metrics (OpenTelemetry, Prometheus exporter)', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  let metricsUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    process.env.OTEL_EXPORTER_PROMETHEUS_HOST = '127.0.0.1';
    process.env.OTEL_EXPORTER_PROMETHEUS_PORT = String(port);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    require('./instrumentation');

    // helm (client-go) sends bearer tokens only over TLS, so kube-sim serves HTTPS with its own CA.
    sim = await startKubeSim({ tls: true, podReadyDelayMs: 200 });
    const backend = await startTestBackend({
      features: [
        kubechartPlugin,
        auditLogPlugin,
        assistantPlugin,
        auditLogAuditorServiceFactory,
        metricsServiceFactory,
        catalogServiceMock.factory({ entities: [] }),
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
                      name: 'dev',
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
                binary: 'helm3',
                chartDirectories: [chartsDir],
                timeoutSeconds: 60,
              },
              wait: { timeoutSeconds: 60, pollIntervalMs: 200 },
            },
            // "scale web" is planned only when the cluster's names say web is a deployment. What is
            // asserted is the count of planned questions, not how fast: the first look-up lists the
            // cluster, which on a loaded machine takes longer than the default budgets (400 ms for
            // the names, 1 s for the builtin provider), and the question is then refused.
            kubeAssistant: {
              providers: [{ id: 'builtin', timeoutMs: 45_000 }],
              nameLookupTimeoutMs: 30_000,
            },
          },
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  const post = (path: string, body: object) =>
    request(server).post(path).send(body);
  async function finished(id: string) {
    for (let i = 0; i < 600; i++) {
      const r = await request(server).get(`/api/kubechart/runs/${id}`);
      if (r.body.status === 'succeeded' || r.body.status === 'failed')
        return r.body;
      await new Promise(res => setTimeout(res, 200));
    }
    throw new Error(`run ${id} did not finish`);
  }

  it('shows runs, helm, policy refusals, lock waits, health caches, the audit queue and assistant questions', async () => {
    const tenant = {
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'metrics',
      releases: [
        {
          name: 'web',
          chart: 'kubechart-service',
          values: { host: 'metrics.example.com' },
        },
      ],
    };
    const first = await post('/api/kubechart/runs', tenant);
    expect(first.status).toBe(202);
    // The same target while the first run holds its lock.
    expect((await post('/api/kubechart/runs', tenant)).status).toBe(409);
    const firstRun = await finished(first.body.id);
    expect(firstRun.failureReason).toBeUndefined();
    expect(firstRun.status).toBe('succeeded');

    const refused = await post('/api/kubechart/runs', {
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-metrics',
      release: {
        name: 'latest',
        chart: 'kubechart-service',
        values: { image: { tag: 'latest' } },
      },
    });
    expect(refused.status).toBe(202);
    const refusedRun = await finished(refused.body.id);
    expect(refusedRun.status).toBe('failed');
    expect(refusedRun.failureReason).toContain('image-tag');

    const health = await request(server).get(
      '/api/kubechart/clusters/dev/health',
    );
    expect(health.status).toBe(200);

    const asked = await post('/api/kube-assistant/ask', {
      question: 'list the pods in tenant-metrics',
    });
    expect(asked.status).toBe(200);
    const deleting = await post('/api/kube-assistant/ask', {
      question: 'scale web in tenant-metrics to 2',
    });
    expect(deleting.status).toBe(200);

    // Audit events reach the chain in batches (every 50 ms by default).
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await (await fetch(metricsUrl)).text();
      if (
        (value(text, 'audit_log_events_written_total', {}) ?? 0) > 0 &&
        value(text, 'audit_log_queue_depth', {}) === 0
      )
        break;
      await new Promise(r => setTimeout(r, 100));
    }

    expect(
      value(text, 'kubechart_run_count_total', {
        kind: 'tenant',
        status: 'succeeded',
      }),
    ).toBe(1);
    expect(
      value(text, 'kubechart_run_count_total', {
        kind: 'chart',
        status: 'failed',
      }),
    ).toBe(1);
    expect(
      value(text, 'kubechart_run_duration_count', {
        kind: 'tenant',
        status: 'succeeded',
      }),
    ).toBe(1);
    expect(
      value(text, 'kubechart_run_duration_sum', {
        kind: 'tenant',
        status: 'succeeded',
      }),
    ).toBeGreaterThan(0);
    expect(
      value(text, 'kubechart_policy_refusals_total', {
        kind: 'chart',
        rule: 'image-tag',
      }),
    ).toBe(1);
    expect(
      value(text, 'kubechart_helm_duration_count', {
        command: 'upgrade --install',
        outcome: 'ok',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(text, 'kubechart_helm_duration_count', {
        command: 'template',
        outcome: 'ok',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(text, 'kubechart_helm_queue_wait_count', {
        command: 'upgrade --install',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(text, 'kubechart_helm_processes', { state: 'running' })).toBe(
      0,
    );
    expect(
      value(text, 'kubechart_lock_wait_count', { outcome: 'acquired' }),
    ).toBe(2);
    expect(
      value(text, 'kubechart_lock_wait_count', { outcome: 'conflict' }),
    ).toBe(1);
    expect(
      value(text, 'kubechart_health_cache_synced', { cluster: 'dev' }),
    ).toBe(1);
    expect(
      value(text, 'kubechart_health_cache_age', { cluster: 'dev' }),
    ).toBeLessThan(120);
    expect(value(text, 'audit_log_events_written_total', {})).toBeGreaterThan(
      0,
    );
    expect(value(text, 'audit_log_events_dropped_total', {})).toBe(0);
    expect(value(text, 'audit_log_queue_depth', {})).toBe(0);
    expect(
      value(text, 'kube_assistant_questions_total', {
        outcome: 'planned',
        safety: asked.body.safety.level,
      }),
    ).toBe(asked.body.safety.level === deleting.body.safety.level ? 2 : 1);
    expect(
      value(text, 'kube_assistant_questions_total', {
        outcome: 'planned',
        safety: deleting.body.safety.level,
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(deleting.body.safety.level).not.toBe('safe');
    // Each series says which plugin's metrics service made it.
    expect(
      samples(text, 'kubechart_run_count_total')[0].labels.otel_scope_name,
    ).toBe('backstage-plugin-kubechart');
  });
});
