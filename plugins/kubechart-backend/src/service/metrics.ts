import type { MetricsService } from '@backstage/backend-plugin-api/alpha';
import type { Run } from '@kubechart/plugin-kubechart-common';
import type {
  HelmCommandEvent,
  HelmPoolState,
} from '@kubechart/plugin-kubechart-node';

/** What the engine tells about its runs and locks (see {@link KubechartMetrics}). */
export type RunMetrics = {
  /**
   * A run ended, told once: its end was recorded by this instance, a stale run was reconciled, or
   * its approval ended it (rejected, withdrawn, expired, changed).
   */
  runFinished(run: Run): void;
  /** Taking a run's locks took `ms`; `conflict` when another run held one of them. */
  lockAcquired(ms: number, outcome: 'acquired' | 'conflict'): void;
};

/** The health caches as the metrics read them (see `HealthService.cacheStates`). */
export type HealthCacheStates = () => Array<{
  cluster: string;
  ageSeconds: number;
  synced: boolean;
}>;

/**
 * The kubechart plugin's operations metrics, through Backstage's metrics service (OpenTelemetry
 * meters, exported by whatever the backend sets up, e.g. Prometheus on `/metrics`):
 *
 * - `kubechart.run.count` / `kubechart.run.duration` (s): finished runs by `kind` and `status`;
 * - `kubechart.policy.refusals`: runs the chart policy refused, by `kind` and failed `rule`;
 * - `kubechart.helm.duration` (s) by `command` and `outcome`; `kubechart.helm.queue.wait` (s) and
 *   `kubechart.helm.processes` (`state` running or queued) of the helm process pool;
 * - `kubechart.lock.wait` (s): taking a run's locks, by `outcome` (acquired, conflict);
 * - `kubechart.health.cache.age` (s) and `kubechart.health.cache.synced` per `cluster`.
 */
export class KubechartMetrics implements RunMetrics {
  private readonly runCount;
  private readonly runDuration;
  private readonly policyRefusals;
  private readonly helmDuration;
  private readonly helmQueueWait;
  private readonly lockWait;

  constructor(private readonly metrics: MetricsService) {
    this.runCount = metrics.createCounter<{ kind: string; status: string }>(
      'kubechart.run.count',
      {
        description: 'Runs that ended, by kind and final status',
      },
    );
    this.runDuration = metrics.createHistogram<{
      kind: string;
      status: string;
    }>('kubechart.run.duration', {
      description: 'Time from a run being submitted to its end',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      },
    });
    this.policyRefusals = metrics.createCounter<{ kind: string; rule: string }>(
      'kubechart.policy.refusals',
      {
        description:
          'Runs the chart policy refused, once per failed blocking rule',
      },
    );
    this.helmDuration = metrics.createHistogram<{
      command: string;
      outcome: string;
    }>('kubechart.helm.duration', {
      description: 'How long one helm process ran',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300,
        ],
      },
    });
    this.helmQueueWait = metrics.createHistogram<{ command: string }>(
      'kubechart.helm.queue.wait',
      {
        description:
          'How long a helm call waited for a free slot of the process pool',
        unit: 's',
        advice: {
          explicitBucketBoundaries: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60],
        },
      },
    );
    this.lockWait = metrics.createHistogram<{ outcome: string }>(
      'kubechart.lock.wait',
      {
        description:
          "Time taken to take a run's target locks (or to find them held)",
        unit: 's',
        advice: {
          explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
        },
      },
    );
  }

  runFinished(run: Run): void {
    if (run.status !== 'succeeded' && run.status !== 'failed') return;
    const attributes = { kind: run.kind, status: run.status };
    this.runCount.add(1, attributes);
    const end = Date.parse(run.finishedAt ?? '') || Date.now();
    this.runDuration.record(
      Math.max(0, end - Date.parse(run.createdAt)) / 1000,
      attributes,
    );
    const report = run.policyReport;
    if (run.status === 'failed' && report?.blocking) {
      const rules = new Set(
        report.results
          .filter(r => !r.passed && !r.exempt && r.severity === 'error')
          .map(r => r.ruleId),
      );
      for (const rule of rules)
        this.policyRefusals.add(1, { kind: run.kind, rule });
    }
  }

  lockAcquired(ms: number, outcome: 'acquired' | 'conflict'): void {
    this.lockWait.record(ms / 1000, { outcome });
  }

  /** For `HelmCli`'s `onCommand`. */
  readonly helmCommand = (event: HelmCommandEvent): void => {
    this.helmDuration.record(event.durationMs / 1000, {
      command: event.command,
      outcome: event.outcome,
    });
    this.helmQueueWait.record(event.queuedMs / 1000, {
      command: event.command,
    });
  };

  /** Registers the gauges read at collection time: the helm pool and the health caches. */
  observe(sources: {
    helmPool: () => HelmPoolState;
    healthCaches: HealthCacheStates;
  }): void {
    this.metrics
      .createObservableGauge<{ state: string }>('kubechart.helm.processes', {
        description:
          'helm processes running, and helm calls waiting for a slot of the pool',
      })
      .addCallback(result => {
        const { running, queued } = sources.helmPool();
        result.observe(running, { state: 'running' });
        result.observe(queued, { state: 'queued' });
      });
    this.metrics
      .createObservableGauge<{ cluster: string }>(
        'kubechart.health.cache.age',
        {
          description:
            "Seconds since a cluster's health cache last heard from the cluster (a list or a watch event)",
          unit: 's',
        },
      )
      .addCallback(result => {
        for (const c of sources.healthCaches())
          result.observe(c.ageSeconds, { cluster: c.cluster });
      });
    this.metrics
      .createObservableGauge<{ cluster: string }>(
        'kubechart.health.cache.synced',
        {
          description:
            "1 when every informer of a cluster's health cache has listed and is watching, else 0",
        },
      )
      .addCallback(result => {
        for (const c of sources.healthCaches())
          result.observe(c.synced ? 1 : 0, { cluster: c.cluster });
      });
  }
}
