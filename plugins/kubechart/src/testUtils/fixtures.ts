import type { Entity } from '@backstage/catalog-model';
import {
  summarizePolicyReport,
  type ClusterHealth,
  type PolicyReport,
  type Run,
  type RunApproval,
  type RunListItem,
  type RunEvent,
  type TenantHealth,
} from '@kubechart/plugin-kubechart-common';
import type { KubechartApi } from '../api';

/** A KubechartApi whose every method is a jest mock that rejects until told otherwise. */
export function mockKubechartApi(): jest.Mocked<KubechartApi> {
  const notMocked = (name: string) =>
    jest
      .fn()
      .mockImplementation(() =>
        Promise.reject(new Error(`${name} not mocked`)),
      );
  return {
    listRuns: notMocked('listRuns'),
    getRun: notMocked('getRun'),
    getRunEvents: notMocked('getRunEvents'),
    getRunDiff: notMocked('getRunDiff'),
    createRun: notMocked('createRun'),
    approveRun: notMocked('approveRun'),
    rejectRun: notMocked('rejectRun'),
    withdrawRun: notMocked('withdrawRun'),
    listApprovals: notMocked('listApprovals'),
    listClusters: notMocked('listClusters'),
    getClusterHealth: notMocked('getClusterHealth'),
    listTenants: notMocked('listTenants'),
    getTenant: notMocked('getTenant'),
    getTenantHealth: notMocked('getTenantHealth'),
    getMetricsSummary: notMocked('getMetricsSummary'),
    getRunDrift: notMocked('getRunDrift'),
    // Most views do not look at drift: none recorded unless a test says otherwise.
    listDrift: jest.fn().mockResolvedValue([]),
    reapplyRun: notMocked('reapplyRun'),
  } as jest.Mocked<KubechartApi>;
}

export function makeRun(overrides: Partial<Run> = {}): Run {
  return {
    id: 'run-1',
    kind: 'chart',
    status: 'succeeded',
    entityRef: 'component:default/shop',
    actor: 'user:default/alice',
    target: { cluster: 'dev', namespace: 'shop', release: 'web' },
    input: {
      kind: 'chart',
      cluster: 'dev',
      namespace: 'shop',
      release: { name: 'web', chart: 'nginx', values: { replicas: 2 } },
    },
    values: { replicas: 2, password: '***' },
    manifest: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n',
    helmRevision: 3,
    rollbackBound: true,
    transitions: [],
    createdAt: '2026-01-02T10:00:00Z',
    startedAt: '2026-01-02T10:00:01Z',
    finishedAt: '2026-01-02T10:01:05Z',
    durationMs: 64_000,
    ...overrides,
  };
}

/**
 * A run as a page of `GET /runs` lists it: without values, manifest and policy report (the report
 * summed up as `policySummary`); `getRun` returns the whole run.
 */
export function listedRun(run: Run): RunListItem {
  const {
    values: _values,
    manifest: _manifest,
    rollbackBound: _rollbackBound,
    policyReport,
    ...listed
  } = run;
  return policyReport
    ? { ...listed, policySummary: summarizePolicyReport(policyReport) }
    : listed;
}

/** An approval gate awaiting decisions: one of two approvals given. */
/** An enforce-mode report refused by one error: the `image-tag` rule on Deployment `name` in `shop`. */
export function refusingReport(
  name: string,
  message: string,
  fix: string,
): PolicyReport {
  return {
    mode: 'enforce',
    passed: false,
    blocking: true,
    summary: { objects: 1, errors: 1, warnings: 0, infos: 0 },
    results: [
      {
        ruleId: 'image-tag',
        severity: 'error',
        passed: false,
        object: { kind: 'Deployment', name, namespace: 'shop' },
        message,
        fix,
      },
    ],
  };
}

export function makeApproval(
  overrides: Partial<RunApproval> = {},
): RunApproval {
  return {
    rule: 'production',
    state: 'awaiting',
    required: 2,
    approvers: ['group:default/platform-team'],
    planHash: `sha256:${'ab12'.repeat(16)}`,
    requestedAt: '2026-01-02T10:00:00Z',
    expiresAt: '2099-01-02T12:00:00Z',
    decisions: [
      {
        by: 'user:default/carol',
        decision: 'approve',
        comment: 'replicas match the load test',
        at: '2026-01-02T10:05:00Z',
      },
    ],
    previousRunId: 'run-1',
    resubmit: false,
    viewer: { mayDecide: true },
    ...overrides,
  };
}

export function makeEvent(
  seq: number,
  overrides: Partial<RunEvent> = {},
): RunEvent {
  return {
    seq,
    runId: 'run-1',
    at: '2026-01-02T10:00:02Z',
    type: 'log',
    level: 'info',
    message: `line ${seq}`,
    ...overrides,
  };
}

export function makeClusterHealth(
  overrides: Partial<ClusterHealth> = {},
): ClusterHealth {
  return {
    cluster: 'dev',
    status: 'degraded',
    message: '1 workload degraded',
    version: 'v1.31.0',
    nodes: { ready: 2, total: 3 },
    workloads: {
      healthy: 7,
      degraded: 1,
      failed: 1,
      items: [
        {
          kind: 'Deployment',
          namespace: 'shop',
          name: 'web',
          ready: 3,
          desired: 3,
          status: 'healthy',
        },
        {
          kind: 'Deployment',
          namespace: 'shop',
          name: 'api',
          ready: 1,
          desired: 2,
          status: 'degraded',
          reason: 'CrashLoopBackOff',
        },
        {
          kind: 'StatefulSet',
          namespace: 'shop',
          name: 'db',
          ready: 0,
          desired: 1,
          status: 'failed',
          reason: 'ImagePullBackOff',
        },
      ],
    },
    utilisation: { cpu: 0.42, memory: 0.81, source: 'metrics' },
    alerts: [],
    observedAt: new Date(Date.now() - 5000).toISOString(),
    ...overrides,
  };
}

export function makeTenantHealth(
  overrides: Partial<TenantHealth> = {},
): TenantHealth {
  return {
    tenant: 'acme',
    cluster: 'dev',
    namespace: 'acme',
    status: 'degraded',
    releases: [
      { name: 'db', readyPods: 1, totalPods: 1, status: 'healthy' },
      { name: 'api', readyPods: 0, totalPods: 2, status: 'unhealthy' },
    ],
    quota: {
      hard: { 'requests.cpu': '4', 'requests.memory': '8Gi' },
      used: { 'requests.cpu': '1', 'requests.memory': '6Gi' },
    },
    urls: ['https://acme.example.test'],
    observedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function makeEntity(annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'shop', namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  };
}
