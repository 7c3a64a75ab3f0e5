import { LoggerService } from '@backstage/backend-plugin-api';
import type {
  ClusterHealth,
  HealthAlert,
  WorkloadHealth,
} from '@kubechart/plugin-kubechart-common';
import {
  CoreV1Event,
  Informer,
  KubeConfig,
  KubernetesObject,
  Metrics,
  ObjectCache,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Node,
  V1Pod,
  V1StatefulSet,
  VersionApi,
} from '@kubernetes/client-node';
import { describeKubeError } from '../lib/kubeErrors';
import { podProblems, podsMatching, selectorProblem } from '../lib/readiness';
import { NodeAggregates, WorkloadAggregates } from './clusterAggregates';
import { listInPages } from './listInPages';
import { makeListPages } from './listPages';
import { SlicedListWatch } from './slicedInformer';
import { makeWatchRequest } from './watchRequest';
import { PodAggregates } from './podAggregates';
import {
  MAX_ALERTS,
  MAX_WARNINGS,
  MAX_WORKLOAD_ITEMS,
  capPerNamespace,
  setHealthDetail,
} from './healthDetail';
import { parseCpu, parseMemory } from './quantity';
import {
  makeTrimmedInformer,
  redactConditionMessages,
  trimEvent,
  trimJob,
  trimPod,
  trimWorkload,
} from './trimmedInformer';

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

const WARNINGS = 'type=Warning';
/** The time an Event claims (its writer chooses it): its last occurrence, else its eventTime. */
const claimedTime = (e: CoreV1Event) =>
  new Date((e.lastTimestamp ?? e.eventTime ?? 0) as any).getTime() || 0;
/** How far ahead of the server's creation time an Event first listed may claim to be. */
const EVENT_CLOCK_SKEW_MS = 60_000;
const eventKey = (e: CoreV1Event) =>
  `${e.metadata?.namespace ?? ''}\u0000${e.metadata?.name ?? ''}`;
/** Signals go out at most this often per cluster. */
const SIGNAL_INTERVAL_MS = 1000;
/** How often metrics.k8s.io usage is read, unless configured. */
const METRICS_INTERVAL_MS = 60_000;
/** Usage older than this many intervals (refreshes failing or hanging) is no longer shown. */
const METRICS_STALE_INTERVALS = 3;

/** The informers tenant health reads (a tenant namespace's pods, workloads and Jobs). */
export const TENANT_INFORMERS: readonly string[] = [
  'pods',
  'deployments',
  'statefulsets',
  'daemonsets',
  'jobs',
];

/**
 * The informers cluster health reads: every one but jobs (only tenant health reads Jobs), so a
 * backend that may not list Jobs still answers the cluster's health.
 */
export const CLUSTER_INFORMERS: readonly string[] = [
  'nodes',
  'pods',
  'deployments',
  'statefulsets',
  'daemonsets',
  'events',
];

type InformerEntry = {
  name: string;
  informer: SlicedListWatch<any>;
  synced: boolean;
  errors: number;
  /** Whether it has ever listed the cluster. */
  listed: boolean;
  /**
   * When it stopped following the cluster: the last time its list or watch proved the cache current
   * before its first failure since it last listed.
   */
  lostAt?: number;
  /** Why it does not follow the cluster: its last failure, until it follows it again. */
  error?: string;
  begin(): Promise<void>;
};

/**
 * A watch-fed cache of one cluster: informers for nodes, pods, deployments, statefulsets,
 * daemonsets, events and jobs. Health answers come from memory and are recomputed only after a
 * change.
 */
export class ClusterHealthCache {
  private informers: InformerEntry[] = [];
  private nodes!: Cached<V1Node>;
  private pods!: Cached<V1Pod>;
  private deployments!: Cached<V1Deployment>;
  private statefulSets!: Cached<V1StatefulSet>;
  private daemonSets!: Cached<V1DaemonSet>;
  private jobs!: Cached<V1Job>;
  private events!: Cached<CoreV1Event>;
  /**
   * When the cache saw each Event's current version (watched: when it came; in the first list: no
   * later than its server-set creation time and a minute's skew): an Event cannot claim to be newer.
   */
  private readonly eventSeenAt = new Map<string, number>();
  private version?: string;
  /** The last usage read, per node (cores and bytes). */
  private metricsUsage?: {
    byNode: Map<string, { cpu: number; memory: number }>;
    at: number;
  };
  private computed?: ClusterHealth;
  private dirty = true;
  private stopped = false;
  private restartTimers = new Set<NodeJS.Timeout>();
  private changeTimer?: NodeJS.Timeout;
  private metricsTimer?: NodeJS.Timeout;
  private metricsInFlight = false;
  private lastPublished?: ClusterHealth['status'];
  private lastSignalCheckAt = 0;
  /** Requests and failing pods, kept up to date from the pod informer's events. */
  private readonly podFigures = new PodAggregates();
  /** Nodes (Ready, allocatable) and workloads (how many, which are behind), kept the same way. */
  private readonly nodeFigures = new NodeAggregates();
  private readonly workloadFigures = new WorkloadAggregates();
  private computedAt = 0;
  /** When the cache last heard from the cluster: a completed list or a watch event. */
  private lastHeardAt = 0;
  private readonly createdAt = Date.now();
  /** List pages of the cluster, over one kept-alive connection pool (made by start()). */
  private listPages?: ReturnType<typeof makeListPages>;

  constructor(
    readonly cluster: string,
    private readonly kubeConfig: KubeConfig,
    private readonly logger: LoggerService,
    private readonly options: {
      restartDelayMs?: number;
      minRecomputeIntervalMs?: number;
      /** How often metrics.k8s.io usage is read (default 60 s). */
      metricsIntervalMs?: number;
      /** The least `timeoutSeconds` each watch asks for (default 300; see {@link SlicedListWatch}). */
      minWatchTimeoutSeconds?: number;
      /** How long past its timeout a watch may stay open (default 30 s; see {@link SlicedListWatch}). */
      watchDeadlineGraceMs?: number;
      onChange?: (health: ClusterHealth) => void;
    } = {},
  ) {}

  private get metricsIntervalMs(): number {
    return this.options.metricsIntervalMs ?? METRICS_INTERVAL_MS;
  }

  /** Starts every informer; resolves once each has listed once (or failed). */
  async start(): Promise<void> {
    this.listPages = makeListPages(this.kubeConfig);
    const add = <T extends KubernetesObject>(
      name: string,
      path: string,
      trim?: (o: T) => T,
      fieldSelector?: string,
    ): Cached<T> => {
      // Lists come in pages of plain JSON, each parsed in a turn of the event loop of its own (one
      // at a time in the process), so a relist of large clusters does not parse many pages in a single
      // block of the event loop, and are applied to the cache in slices with turns of the event loop
      // between them (health requests keep being answered from the cache meanwhile).
      const listPage = this.listPages!.list<T>(
        path,
        fieldSelector === undefined ? {} : { fieldSelector },
      );
      const watchBounds = {
        minWatchTimeoutSeconds: this.options.minWatchTimeoutSeconds,
        watchDeadlineGraceMs: this.options.watchDeadlineGraceMs,
      };
      const informer = trim
        ? makeTrimmedInformer<T>(
            this.kubeConfig,
            path,
            listPage,
            trim,
            fieldSelector,
            watchBounds,
          )
        : new SlicedListWatch<T>(
            path,
            makeWatchRequest(this.kubeConfig),
            () => listInPages<T>(listPage),
            watchBounds,
          );
      const entry: InformerEntry = {
        name,
        informer,
        synced: false,
        errors: 0,
        listed: false,
        begin: async () => {},
      };
      // The informer (as client-node's) emits `connect` before it lists, and reports a failed list or
      // watch only through `error`; an informer is synced when start() completes without an error in
      // between. start() completes once the informer has proof its cache is current (a list, or an
      // event of a resumed watch; not the watch merely answered) or it failed, at the latest at the
      // watch's deadline: `lostAt` is reset only by proof.
      entry.begin = async () => {
        const errorsBefore = entry.errors;
        await informer.start().catch(() => undefined);
        if (entry.errors === errorsBefore && !this.stopped) {
          entry.synced = true;
          entry.listed = true;
          entry.lostAt = undefined;
          entry.error = undefined;
          this.lastHeardAt = Date.now();
          this.markDirty();
        }
      };
      this.informers.push(entry);
      const changed = () => {
        this.lastHeardAt = Date.now();
        this.markDirty();
      };
      informer.on('add', changed);
      informer.on('update', changed);
      informer.on('delete', changed);
      informer.on('error', (err: unknown) => {
        entry.errors++;
        entry.synced = false;
        // Not when the failure was noticed (a watch that hung silently is noticed only at its
        // deadline): the last time the informer knew the cache to be current.
        entry.lostAt ??= informer.provenAt() ?? Date.now();
        entry.error = describeKubeError(err, this.cluster);
        this.logger.warn(
          `Watch of ${name} on cluster ${this.cluster} failed: ${entry.error}`,
        );
        this.markDirty();
        if (this.stopped) return;
        // client-node does not restart a failed informer; retry after a delay.
        const t = setTimeout(() => {
          this.restartTimers.delete(t);
          if (!this.stopped) void entry.begin();
        }, this.options.restartDelayMs ?? 5000);
        t.unref?.();
        this.restartTimers.add(t);
      });
      return informer;
    };
    // Nodes and workloads are counted per event too: a recompute walks only what is unhealthy.
    // Every message the cache keeps from the cluster has its secrets hidden, and is bounded, as it
    // enters the cache (see `clusterMessage`): conditions of nodes and workloads, pods' and events'
    // messages.
    this.nodes = add<V1Node>('nodes', '/api/v1/nodes', redactConditionMessages);
    this.nodes.on('add', n => this.nodeFigures.set(n));
    this.nodes.on('update', n => this.nodeFigures.set(n));
    this.nodes.on('delete', n => this.nodeFigures.remove(n));
    // Pods are most of a cluster's objects: the cache keeps only what health reads of them, and the
    // figures health needs of them are kept up to date per event instead of walking every pod.
    this.pods = add<V1Pod>('pods', '/api/v1/pods', trimPod);
    this.pods.on('add', p => this.podFigures.set(p));
    this.pods.on('update', p => this.podFigures.set(p));
    this.pods.on('delete', p => this.podFigures.remove(p));
    // Workloads are kept as pods are: only what health reads of them (`trimWorkload`), since a tenant
    // may give each 1.5 MB of labels, annotations and pod template.
    this.deployments = add<V1Deployment>(
      'deployments',
      '/apis/apps/v1/deployments',
      trimWorkload,
    );
    this.statefulSets = add<V1StatefulSet>(
      'statefulsets',
      '/apis/apps/v1/statefulsets',
      trimWorkload,
    );
    this.daemonSets = add<V1DaemonSet>(
      'daemonsets',
      '/apis/apps/v1/daemonsets',
      trimWorkload,
    );
    const workloads: Array<
      [
        WorkloadHealth['kind'],
        Cached<V1Deployment | V1StatefulSet | V1DaemonSet>,
      ]
    > = [
      ['Deployment', this.deployments],
      ['StatefulSet', this.statefulSets],
      ['DaemonSet', this.daemonSets],
    ];
    for (const [kind, informer] of workloads) {
      informer.on('add', w => this.workloadFigures.set(kind, w));
      informer.on('update', w => this.workloadFigures.set(kind, w));
      informer.on('delete', w => this.workloadFigures.remove(kind, w));
    }
    // Jobs, for tenant health (a failed Job whose pods are gone, the release a Job's pod is of):
    // only their names, release, CronJob and how they finished (`trimJob`).
    this.jobs = add<V1Job>('jobs', '/apis/batch/v1/jobs', trimJob);
    // Only warnings become alerts: normal events (several per pod started) are neither fetched nor kept.
    this.events = add<CoreV1Event>(
      'events',
      '/api/v1/events',
      trimEvent,
      WARNINGS,
    );
    const seen = (e: CoreV1Event) => {
      let at = Date.now();
      const created = new Date(
        (e.metadata?.creationTimestamp ?? 0) as any,
      ).getTime();
      if (!this.entries(['events'])[0]?.listed && created > 0)
        at = Math.min(at, created + EVENT_CLOCK_SKEW_MS);
      this.eventSeenAt.set(eventKey(e), at);
    };
    this.events.on('add', seen);
    this.events.on('update', seen);
    this.events.on('delete', e => this.eventSeenAt.delete(eventKey(e)));
    this.kubeConfig
      .makeApiClient(VersionApi)
      .getCode()
      .then(v => {
        this.version = v.gitVersion;
      })
      .catch(() => undefined);
    // Usage is read once now and then every interval while the cache runs: an answer is only as
    // current as the last read, which it names (`utilisation.at`).
    void this.refreshMetrics();
    if (!this.stopped) {
      this.metricsTimer = setInterval(
        () => void this.refreshMetrics(),
        this.metricsIntervalMs,
      );
      this.metricsTimer.unref?.();
    }
    await Promise.all(this.informers.map(i => i.begin()));
    this.markDirty();
    this.lastPublished = this.health().status;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.restartTimers) clearTimeout(t);
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    if (this.changeTimer) clearTimeout(this.changeTimer);
    await Promise.all(
      this.informers.map(i => i.informer.stop().catch(() => undefined)),
    );
    this.listPages?.close();
  }

  /** The informers of these names (every informer when none are given). */
  private entries(names?: readonly string[]): InformerEntry[] {
    return names
      ? this.informers.filter(i => names.includes(i.name))
      : this.informers;
  }

  /**
   * Seconds since the cache last heard from the cluster (a list or a watch event; since it was
   * created when it never did), and whether every informer is watching (operations metrics).
   * `followedUntil`: until when what the informers of `names` (every one when none are given) hold is
   * known to be the cluster's: `now` while each of them watches; else when the first of those that do
   * not stopped following the cluster (the last time its list or watch proved it current before its
   * first failure since it last listed); undefined while one of those never listed it. One waiting
   * to list again after repeated 410s has no watch open: it counts until its last proof (its
   * `provenAt()`), though it still follows the cluster (see {@link ClusterHealthCache.follows}). The
   * cluster-wide `ageSeconds` does not tell: the other informers' events keep it low while one
   * informer fails.
   */
  freshness(
    now = Date.now(),
    names?: readonly string[],
  ): {
    ageSeconds: number;
    synced: boolean;
    followedUntil?: number;
  } {
    const since = this.lastHeardAt || this.createdAt;
    const of = this.entries(names);
    const behind = of.filter(i => !i.synced);
    // Informers that follow the cluster but wait to list again: known current until their last proof.
    const waiting = of
      .filter(i => i.synced && i.informer.waitingSince() !== undefined)
      .map(i => i.informer.provenAt() ?? now);
    let followedUntil: number | undefined;
    if (this.follows(names)) followedUntil = Math.min(now, ...waiting);
    else if (
      behind.length > 0 &&
      behind.every(i => i.listed && i.lostAt !== undefined)
    )
      followedUntil = Math.min(...behind.map(i => i.lostAt!), ...waiting);
    return {
      ageSeconds: Math.max(0, now - since) / 1000,
      synced: this.ready,
      ...(followedUntil === undefined ? {} : { followedUntil }),
    };
  }

  /**
   * Why the informers of `names` (every one when none are given) do not follow the cluster: each
   * failing one's last failed list or watch, with the informers it is of ("nodes, events: …"), until
   * it follows the cluster again. Undefined when none of them fails (they follow the cluster, or are
   * still listing it for the first time).
   */
  failureOf(names?: readonly string[]): string | undefined {
    const byError = new Map<string, string[]>();
    for (const i of this.entries(names)) {
      if (i.synced || i.error === undefined) continue;
      const of = byError.get(i.error) ?? [];
      of.push(i.name);
      byError.set(i.error, of);
    }
    if (byError.size === 0) return undefined;
    return [...byError]
      .map(([error, of]) => `${of.join(', ')}: ${error}`)
      .join('; ');
  }

  /**
   * Why the informers cluster health reads ({@link CLUSTER_INFORMERS}) do not follow the cluster
   * (see {@link ClusterHealthCache.failureOf}).
   */
  get failure(): string | undefined {
    return this.failureOf(CLUSTER_INFORMERS);
  }

  /** Whether each informer of `names` (every one when none are given) has listed and is watching. */
  follows(names?: readonly string[]): boolean {
    const of = this.entries(names);
    return of.length > 0 && of.every(i => i.synced);
  }

  /** Whether every informer has listed and is watching. */
  get ready(): boolean {
    return this.follows();
  }

  /**
   * Whether the informers cluster health reads are still listing the cluster for the first time,
   * with no failure so far: its answer would count nothing yet (0 nodes, no problems), which is not
   * news about the cluster.
   */
  get syncing(): boolean {
    return !this.follows(CLUSTER_INFORMERS) && this.failure === undefined;
  }

  private markDirty() {
    this.dirty = true;
    if (!this.options.onChange || this.changeTimer) return;
    // Throttled: the first change after a quiet second is looked at at once (after the current burst
    // of events), later ones at most once a second per cluster; a signal goes out only when the
    // status changes.
    const wait = Math.max(
      0,
      this.lastSignalCheckAt + SIGNAL_INTERVAL_MS - Date.now(),
    );
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.lastSignalCheckAt = Date.now();
      const now = this.health({ force: true });
      if (this.lastPublished !== undefined && now.status !== this.lastPublished)
        this.options.onChange?.(now);
      this.lastPublished = now.status;
    }, wait);
    this.changeTimer.unref?.();
  }

  /**
   * Reads metrics.k8s.io usage when the cluster serves it (on start, then every `metricsIntervalMs`).
   * A read that fails drops the usage (answers fall back to requests); one still in flight is not
   * started again.
   */
  async refreshMetrics(): Promise<void> {
    if (this.metricsInFlight) return;
    this.metricsInFlight = true;
    try {
      const m = await new Metrics(this.kubeConfig).getNodeMetrics();
      this.metricsUsage = {
        byNode: new Map(
          m.items.map(n => [
            n.metadata?.name ?? '',
            {
              cpu: parseCpu(n.usage?.cpu),
              memory: parseMemory(n.usage?.memory),
            },
          ]),
        ),
        at: Date.now(),
      };
    } catch {
      this.metricsUsage = undefined;
    } finally {
      this.metricsInFlight = false;
      this.dirty = true;
    }
  }

  /** The last usage read, while it is recent enough to be shown as the cluster's. */
  private currentMetrics() {
    const m = this.metricsUsage;
    return m &&
      Date.now() - m.at <= this.metricsIntervalMs * METRICS_STALE_INTERVALS
      ? m
      : undefined;
  }

  /** Every cached object of the cluster. */
  list() {
    return {
      pods: this.pods?.list() ?? [],
      deployments: this.deployments?.list() ?? [],
      statefulSets: this.statefulSets?.list() ?? [],
      daemonSets: this.daemonSets?.list() ?? [],
      jobs: this.jobs?.list() ?? [],
    };
  }

  /**
   * The cached objects of one namespace (for tenant health), read from the informers' per-namespace
   * maps, which their add/update/delete events keep: the rest of the cluster is not walked.
   */
  inNamespace(namespace: string) {
    // client-node's `list('')` is every namespace's objects: never what a tenant may see.
    if (!namespace)
      throw new Error(
        `No namespace given to read the cache of cluster ${this.cluster} by`,
      );
    return {
      pods: this.pods?.list(namespace) ?? [],
      deployments: this.deployments?.list(namespace) ?? [],
      statefulSets: this.statefulSets?.list(namespace) ?? [],
      daemonSets: this.daemonSets?.list(namespace) ?? [],
      jobs: this.jobs?.list(namespace) ?? [],
    };
  }

  /**
   * The cluster's health, from memory. Recomputed after a change, at most once per
   * `minRecomputeIntervalMs` (default 100 ms) so a busy cluster's churn does not cost every request;
   * an outage shows at once. A recompute does not walk the pods (see {@link PodAggregates}).
   */
  health(options: { force?: boolean } = {}): ClusterHealth {
    const failure = this.follows(CLUSTER_INFORMERS) ? undefined : this.failure;
    if (failure !== undefined) {
      if (this.computed?.status !== 'error' || this.dirty)
        this.computed = this.errorHealth(failure);
      this.dirty = false;
      return this.computed;
    }
    const fresh =
      this.computed &&
      this.computed.status !== 'error' &&
      Date.now() - this.computedAt <
        (this.options.minRecomputeIntervalMs ?? 100);
    // Usage that has grown old since the answer was computed is dropped from it now, not at the next
    // change of the cluster.
    if (
      this.computed?.utilisation.source === 'metrics' &&
      !this.currentMetrics()
    )
      this.dirty = true;
    if (this.computed && (!this.dirty || (fresh && !options.force)))
      return this.computed;
    this.computed = this.compute();
    this.computedAt = Date.now();
    this.dirty = false;
    return this.computed;
  }

  private errorHealth(message: string): ClusterHealth {
    const { followedUntil } = this.freshness(Date.now(), CLUSTER_INFORMERS);
    return {
      cluster: this.cluster,
      status: 'error',
      message,
      version: this.version,
      nodes: { ready: 0, total: 0 },
      workloads: { healthy: 0, degraded: 0, failed: 0, items: [] },
      utilisation: { cpu: 0, memory: 0, source: 'requests' },
      alerts: [],
      observedAt: new Date().toISOString(),
      ...(followedUntil === undefined
        ? {}
        : { lastSeenAt: new Date(followedUntil).toISOString() }),
    };
  }

  private compute(): ClusterHealth {
    const nodes = this.nodeFigures;
    const alerts: HealthAlert[] = [];
    const notReady = nodes.notReadyNames();
    for (const name of notReady) {
      alerts.push({
        type: 'node-not-ready',
        object: `Node/${name}`,
        reason: 'NotReady',
        message: 'node is not Ready',
      });
    }
    // Pods with failing containers (kept per namespace for workload status).
    const nodeAlerts = [...alerts];
    const failingAlerts = this.podFigures.failingAlerts();
    alerts.push(...failingAlerts.slice(0, MAX_ALERTS));
    let degraded = 0;
    let failed = 0;
    // Only the workloads behind (rollout not complete) are looked at: every other one is healthy.
    const behind = this.workloadFigures.behindItems();
    const judged = behind.map(w => {
      // Selected as tenant health selects a workload's pods (matchLabels and matchExpressions): an
      // empty selector, or one that cannot be read, selects none, so a workload does not name
      // another pod's problem.
      const [failing] = podsMatching(
        this.podFigures.failingIn(w.namespace),
        w.selector,
      );
      // Failed: the rollout gave up (progress deadline), or nothing serves and its pods fail or are
      // refused. A rollout whose new pods fail while the old ones still serve is degraded.
      const status: WorkloadHealth['status'] =
        w.stuck === 'deadline' || (w.ready === 0 && (failing || w.stuck))
          ? 'failed'
          : 'degraded';
      if (status === 'failed') failed++;
      else degraded++;
      return { w, failing, status };
    });
    // The worst first: failed, then the smallest share ready; else in the order behindItems() keeps
    // (kind, namespace, name), so the same cluster always names the same workloads.
    const readyShare = (w: { ready: number; desired: number }) =>
      w.desired > 0 ? w.ready / w.desired : 0;
    // The worst of each namespace, as many as an answer names, for callers who see only some.
    const allItems: WorkloadHealth[] = capPerNamespace(
      judged
        .map((j, order) => ({ ...j, order, namespace: j.w.namespace }))
        .sort(
          (a, b) =>
            Number(b.status === 'failed') - Number(a.status === 'failed') ||
            readyShare(a.w) - readyShare(b.w) ||
            a.order - b.order,
        ),
      MAX_WORKLOAD_ITEMS,
    ).map(({ w, failing, status }) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      ready: w.ready,
      desired: w.desired,
      status,
      // Why the rollout cannot finish comes first, then a failing pod, then what it waits for.
      reason:
        (w.stuck && w.problem) ||
        (failing && podProblems(failing).text[0]) ||
        `${w.ready}/${w.desired} ready${w.problem ? `, ${w.problem}` : ''}${
          selectorProblem(w.selector) ? `, ${selectorProblem(w.selector)}` : ''
        }`,
    }));
    const items = allItems.slice(0, MAX_WORKLOAD_ITEMS);
    const healthy = this.workloadFigures.size - behind.length;

    const allWarnings = this.events.list().filter(e => e.type === 'Warning');
    // An Event's time is its writer's to choose: one dated in the future would outrank every real
    // warning until it expires. It counts as no later than when the cache saw it.
    const timeOf = (e: CoreV1Event) =>
      Math.min(claimedTime(e), this.eventSeenAt.get(eventKey(e)) ?? Date.now());
    const warningAlerts: HealthAlert[] = capPerNamespace(
      allWarnings
        .map(e => ({ e, at: timeOf(e) }))
        // By time, newest first.
        .sort((a, b) => b.at - a.at)
        .map(
          ({ e, at }): HealthAlert => ({
            type: 'warning-event',
            // The namespace the Event was written in, which its writer may write to: not the one it
            // says its object is in (the API server does not check a new-style Event's). An Event
            // about a cluster-scoped object (a Node) has none.
            namespace: e.involvedObject?.namespace
              ? e.metadata?.namespace
              : undefined,
            object: `${e.involvedObject?.kind}/${e.involvedObject?.name}`,
            reason: e.reason ?? 'Warning',
            message: e.message ?? '',
            at: at > 0 ? new Date(at).toISOString() : undefined,
          }),
        ),
      MAX_WARNINGS,
    );
    // Every alert the cluster has, of which the answer names the first MAX_ALERTS.
    const alertsTotal =
      notReady.length + failingAlerts.length + allWarnings.length;
    alerts.push(...warningAlerts.slice(0, MAX_WARNINGS));

    // The capacity new pods can use: that of the nodes Ready and not cordoned, against what the
    // pods on them use (or ask for, with the pods on no node yet). A node that takes no pods left
    // nothing of its capacity for new ones: with none left, nothing is (1), not an idle cluster.
    const { cpu: allocCpu, memory: allocMem } = nodes.allocatable();
    const excludedNodes = nodes.excluded;
    const none = excludedNodes > 0 ? 1 : 0;
    const share = (used: number, capacity: number) =>
      capacity ? used / capacity : none;
    const counts = (node: string) => nodes.counts(node);
    let utilisation: ClusterHealth['utilisation'];
    const metrics = this.currentMetrics();
    if (metrics) {
      let cpu = 0;
      let mem = 0;
      for (const [node, usage] of metrics.byNode) {
        if (!counts(node)) continue;
        cpu += usage.cpu;
        mem += usage.memory;
      }
      utilisation = {
        cpu: share(cpu, allocCpu),
        memory: share(mem, allocMem),
        source: 'metrics',
        at: new Date(metrics.at).toISOString(),
        excludedNodes,
      };
    } else {
      const { cpu, memory: mem } = this.podFigures.requests(counts);
      utilisation = {
        cpu: share(cpu, allocCpu),
        memory: share(mem, allocMem),
        source: 'requests',
        excludedNodes,
      };
    }
    const nodesDown = nodes.total - nodes.ready;
    const problems = failed + degraded + nodesDown;
    // A pod with a failing container (crash loop, image that cannot be pulled, missing ConfigMap or
    // Secret, any other failing reason) is a problem of the cluster even when its workload still
    // serves (or it has none).
    const status: ClusterHealth['status'] =
      problems > 0 || failingAlerts.length > 0 ? 'degraded' : 'ok';
    const message =
      status === 'ok'
        ? `${nodes.ready} nodes Ready, ${healthy} workloads healthy`
        : [
            nodesDown && `${nodesDown} node(s) not Ready`,
            failed && `${failed} workload(s) failed`,
            degraded && `${degraded} workload(s) degraded`,
          ]
            .filter(Boolean)
            .join(', ') ||
          (failingAlerts.some(a => a.type === 'crash-loop')
            ? 'crash-looping pods'
            : 'pods with failing containers');
    const answer: ClusterHealth = {
      cluster: this.cluster,
      status,
      message,
      version: this.version,
      nodes: { ready: nodes.ready, total: nodes.total },
      workloads: { healthy, degraded, failed, items },
      utilisation,
      alerts: alerts.slice(0, MAX_ALERTS),
      alertsTotal,
      observedAt: new Date().toISOString(),
    };
    setHealthDetail(answer, {
      items: allItems,
      nodeAlerts,
      failing: capPerNamespace(failingAlerts, MAX_ALERTS),
      warnings: warningAlerts,
    });
    return answer;
  }
}
