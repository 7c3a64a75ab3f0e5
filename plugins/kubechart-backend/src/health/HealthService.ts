import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type {
  ClusterHealth,
  ClusterSummary,
  TenantHealth,
  WorkloadHealth,
} from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  CustomObjectsApi,
  NetworkingV1Api,
  V1DaemonSet,
  V1Deployment,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { TenantRecord } from '../database/RunStore';
import { KubeClient } from '../lib/KubeClient';
import { describeKubeError, isNotFound } from '../lib/kubeErrors';
import { podProblems, podsMatching, selectorProblem } from '../lib/readiness';
import { ClusterHealthCache, TENANT_INFORMERS } from './ClusterHealthCache';
import { workloadRollout } from './clusterAggregates';

/** Health of every configured cluster and of tenants, from watch-fed caches. */
export class HealthService {
  private readonly caches = new Map<string, ClusterHealthCache>();
  private starting = new Map<string, Promise<void>>();

  constructor(
    private readonly clusters: ClusterRegistry,
    private readonly logger: LoggerService,
    private readonly options: {
      onClusterHealthChange?: (health: ClusterHealth) => void;
      restartDelayMs?: number;
      /** How often each cluster's metrics.k8s.io usage is read (default 60 s). */
      metricsIntervalMs?: number;
      /** The least `timeoutSeconds` each watch asks for (default 300, see `SlicedListWatch`). */
      minWatchTimeoutSeconds?: number;
      /** How long past its timeout a watch may stay open (default 30 s). */
      watchDeadlineGraceMs?: number;
    } = {},
  ) {}

  /** Starts the informers of every cluster in the background. */
  startAll(): void {
    for (const c of this.clusters.list()) void this.cache(c.name);
  }

  private cache(name: string): ClusterHealthCache {
    let cache = this.caches.get(name);
    if (!cache) {
      cache = new ClusterHealthCache(
        name,
        this.clusters.kubeConfig(name),
        this.logger,
        {
          onChange: this.options.onClusterHealthChange,
          restartDelayMs: this.options.restartDelayMs,
          metricsIntervalMs: this.options.metricsIntervalMs,
          minWatchTimeoutSeconds: this.options.minWatchTimeoutSeconds,
          watchDeadlineGraceMs: this.options.watchDeadlineGraceMs,
        },
      );
      this.caches.set(name, cache);
      this.starting.set(
        name,
        cache
          .start()
          .catch(e =>
            this.logger.warn(`Health cache of ${name} did not start: ${e}`),
          ),
      );
    }
    return cache;
  }

  /** Resolves once the cache of the cluster has listed (or failed to). */
  async whenStarted(name: string): Promise<void> {
    this.cache(name);
    await this.starting.get(name);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.caches.values()].map(c => c.stop()));
    this.caches.clear();
  }

  /** Age and sync state of every started cluster cache (operations metrics). */
  cacheStates(): Array<{
    cluster: string;
    ageSeconds: number;
    synced: boolean;
  }> {
    return [...this.caches.values()].map(c => {
      const { ageSeconds, synced } = c.freshness();
      return { cluster: c.cluster, ageSeconds, synced };
    });
  }

  /**
   * Every configured cluster with its status; `unknown` for one whose cache has not started, or is
   * still listing the cluster for the first time (it would count 0 nodes and 0 problems: "ok").
   */
  async listClusters(): Promise<ClusterSummary[]> {
    return this.clusters.list().map(c => {
      const cache = this.caches.get(c.name);
      if (!cache) return { ...c, status: 'unknown' as const };
      if (cache.syncing)
        return {
          ...c,
          status: 'unknown' as const,
          message: 'syncing: the health cache is listing the cluster',
        };
      const h = cache.health();
      return { ...c, status: h.status, message: h.message };
    });
  }

  /**
   * Cluster health from the cache; NotFoundError for unknown clusters. While the cache lists the
   * cluster for the first time the answer waits for that list (or its failure: `status: error`).
   */
  async clusterHealth(name: string): Promise<ClusterHealth> {
    this.clusters.get(name);
    const cache = this.cache(name);
    if (!cache.ready) await this.starting.get(name);
    return cache.health();
  }

  /**
   * Per-release readiness of a tenant, from the cache of its cluster. Each Deployment, StatefulSet
   * and DaemonSet of a release is judged by its rollout (as `kubectl rollout status`, see
   * {@link workloadRollout}); its pods are counted when they match its selector and have not ended.
   * `unknown`, with no release, while the informers tenant health reads (pods, Deployments,
   * StatefulSets, DaemonSets: {@link TENANT_INFORMERS}) do not follow the cluster (a list or watch of
   * one fails): what they hold may be gone from the cluster. Other informers (nodes, events) failing
   * does not make it `unknown`. The namespace's pods that no judged workload selects (a Job's or
   * CronJob's, bare pods) and whose containers fail, as cluster health counts them, make the tenant
   * at least `degraded`, and `message` names the first.
   */
  async tenantReadiness(
    tenant: TenantRecord,
  ): Promise<Pick<TenantHealth, 'releases' | 'status' | 'message'>> {
    if (!this.clusters.has(tenant.cluster))
      throw new NotFoundError(
        `Cluster ${tenant.cluster} of tenant ${tenant.code} is not configured`,
      );
    const cache = this.cache(tenant.cluster);
    if (!cache.follows(TENANT_INFORMERS))
      await this.starting.get(tenant.cluster);
    if (!cache.follows(TENANT_INFORMERS))
      return {
        status: 'unknown',
        message: `The health cache of cluster ${
          tenant.cluster
        } does not follow the cluster: ${
          cache.failureOf(TENANT_INFORMERS) ??
          'it has not listed the cluster yet'
        }`,
        releases: [],
      };
    // Only the tenant namespace's objects, from the cache's per-namespace maps.
    const {
      pods: nsPods,
      deployments,
      statefulSets,
      daemonSets,
    } = cache.inNamespace(tenant.namespace);
    // Pods that ended (completed, failed, evicted) are no longer part of what a workload runs.
    const livePods = nsPods.filter(
      p => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    );
    type Judged = {
      ready: number;
      total: number;
      status: 'healthy' | 'degraded' | 'unhealthy';
      reason?: string;
    };
    const byRelease = new Map<string, Judged[]>();
    // The pods the judged workloads select: the namespace's other pods (a Job's or CronJob's, bare
    // ones) are looked at for failing containers below.
    const selected = new Set<V1Pod>();
    for (const r of tenant.releases) byRelease.set(r, []);
    const workloads: Array<
      [
        WorkloadHealth['kind'],
        ReadonlyArray<V1Deployment | V1StatefulSet | V1DaemonSet>,
      ]
    > = [
      ['Deployment', deployments],
      ['StatefulSet', statefulSets],
      ['DaemonSet', daemonSets],
    ];
    for (const [kind, list] of workloads) {
      for (const w of list) {
        const release = w.metadata?.annotations?.['meta.helm.sh/release-name'];
        if (!release) continue;
        // Its pods as its whole selector selects them (matchLabels and matchExpressions).
        const matching = podsMatching(livePods, w.spec?.selector);
        for (const p of matching) selected.add(p);
        const ready = matching.filter(p =>
          p.status?.conditions?.some(
            c => c.type === 'Ready' && c.status === 'True',
          ),
        ).length;
        const rollout = workloadRollout(kind, w);
        const total = Math.max(rollout.desired, matching.length);
        let status: Judged['status'];
        let reason: string | undefined;
        if (rollout.done && ready >= rollout.desired) {
          status = 'healthy';
          if (rollout.desired === 0) reason = 'scaled to zero';
        } else {
          status =
            ready === 0 && rollout.desired > 0 ? 'unhealthy' : 'degraded';
          const failing = matching
            .map(p => podProblems(p))
            .find(pp => pp.failing);
          // Why the rollout cannot finish comes first, then a failing pod, then what it waits for.
          // A selector that cannot be read selects no pod: said, not guessed.
          const why =
            (rollout.stuck && rollout.problem) ||
            selectorProblem(w.spec?.selector) ||
            failing?.text[0] ||
            rollout.problem ||
            `${ready}/${total} pods ready`;
          reason = `${kind} ${w.metadata?.name}: ${why}`;
        }
        const judgedOf = byRelease.get(release) ?? [];
        judgedOf.push({ ready, total, status, ...(reason ? { reason } : {}) });
        byRelease.set(release, judgedOf);
      }
    }
    const rank = { healthy: 0, degraded: 1, unhealthy: 2 };
    const releases: TenantHealth['releases'] = [...byRelease.entries()].map(
      ([name, judged]) => {
        const readyPods = judged.reduce((s, j) => s + j.ready, 0);
        const totalPods = judged.reduce((s, j) => s + j.total, 0);
        if (judged.length === 0)
          return {
            name,
            readyPods,
            totalPods,
            status: 'no-workloads' as const,
            reason: 'no Deployment, StatefulSet or DaemonSet',
          };
        // The release is as bad as its worst workload, and says why.
        const worst = judged.reduce((a, b) =>
          rank[b.status] > rank[a.status] ? b : a,
        );
        let reason = worst.reason;
        if (worst.status === 'healthy')
          reason = judged.every(j => j.reason === 'scaled to zero')
            ? 'scaled to zero'
            : undefined;
        return {
          name,
          readyPods,
          totalPods,
          status: worst.status,
          ...(reason ? { reason } : {}),
        };
      },
    );
    // A release without workloads has nothing to be unhealthy about.
    let status: TenantHealth['status'] = 'healthy';
    if (releases.some(r => r.status === 'unhealthy')) status = 'unhealthy';
    else if (releases.some(r => r.status === 'degraded')) status = 'degraded';
    // Pods no judged workload selects whose containers fail (a Job's or CronJob's crash-looping or
    // failed pod, a bare pod), as the cluster's health counts them: the tenant is degraded, and
    // says which.
    const failingOthers = nsPods
      .filter(p => !selected.has(p))
      .map(p => ({ pod: p, problems: podProblems(p) }))
      .filter(x => x.problems.failing);
    if (failingOthers.length === 0) return { releases, status };
    if (status === 'healthy') status = 'degraded';
    const [first] = failingOthers;
    const message = `${
      failingOthers.length
    } pod(s) that no Deployment, StatefulSet or DaemonSet of a release runs fail: Pod ${
      first.pod.metadata?.name
    }: ${first.problems.text[0] ?? first.problems.failingReason ?? 'failing'}`;
    return { releases, status, message };
  }

  /**
   * Per-release pod readiness (from the cache), quota use and access URLs of a tenant, as of now.
   * While the informers it reads do not follow the cluster: `unknown` with why, nothing else of the
   * tenant, and `lastSeenAt` when the first of them stopped following the cluster (see
   * {@link ClusterHealthCache.freshness}); none when it never followed it. `unhealthy` when the
   * tenant's namespace does not exist (nothing else of the tenant) or is terminating; `unknown`
   * when it cannot be read.
   */
  async tenantHealth(tenant: TenantRecord): Promise<TenantHealth> {
    const { releases, status, message } = await this.tenantReadiness(tenant);
    const ns = tenant.namespace;
    if (status === 'unknown') {
      const { followedUntil } = this.cache(tenant.cluster).freshness(
        Date.now(),
        TENANT_INFORMERS,
      );
      return {
        tenant: tenant.code,
        cluster: tenant.cluster,
        namespace: ns,
        status,
        message,
        releases,
        quota: { hard: {}, used: {} },
        urls: [],
        observedAt: new Date().toISOString(),
        // As the cluster's `error` answer: no time when the cache never followed the cluster.
        ...(followedUntil === undefined
          ? {}
          : { lastSeenAt: new Date(followedUntil).toISOString() }),
      };
    }
    const client = new KubeClient(this.clusters.kubeConfig(tenant.cluster));
    // The cache keeps no namespaces: a tenant whose namespace was deleted (or is being deleted)
    // runs nothing, which its releases alone (`no-workloads`) would not say. A namespace that
    // cannot be read leaves the tenant's health not known, with why.
    let namespaceProblem: string | undefined;
    try {
      const n = await client.core.readNamespace({ name: ns });
      if (n.metadata?.deletionTimestamp)
        namespaceProblem = `namespace ${ns} is terminating`;
    } catch (e) {
      return {
        tenant: tenant.code,
        cluster: tenant.cluster,
        namespace: ns,
        ...(isNotFound(e)
          ? {
              status: 'unhealthy' as const,
              message: `namespace ${ns} does not exist`,
            }
          : {
              status: 'unknown' as const,
              message: `namespace ${ns} could not be read: ${describeKubeError(
                e,
                tenant.cluster,
              )}`,
            }),
        releases,
        quota: { hard: {}, used: {} },
        urls: [],
        observedAt: new Date().toISOString(),
      };
    }
    const quota = await client.core
      .readNamespacedResourceQuota({ name: 'kubechart-quota', namespace: ns })
      .then(q => ({
        hard: (q.status?.hard ?? q.spec?.hard ?? {}) as Record<string, string>,
        used: (q.status?.used ?? {}) as Record<string, string>,
      }))
      .catch(e => {
        if (isNotFound(e)) return { hard: {}, used: {} };
        throw e;
      });
    const urls = new Set<string>();
    const kc = this.clusters.kubeConfig(tenant.cluster);
    const ingresses = await kc
      .makeApiClient(NetworkingV1Api)
      .listNamespacedIngress({ namespace: ns })
      .catch(() => ({ items: [] }));
    for (const ing of ingresses.items) {
      const tls = new Set((ing.spec?.tls ?? []).flatMap(t => t.hosts ?? []));
      for (const rule of ing.spec?.rules ?? [])
        if (rule.host)
          urls.add(`${tls.has(rule.host) ? 'https' : 'http'}://${rule.host}`);
    }
    const routes: any = await kc
      .makeApiClient(CustomObjectsApi)
      .listNamespacedCustomObject({
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        namespace: ns,
        plural: 'httproutes',
      })
      .catch(() => ({ items: [] }));
    for (const r of routes.items ?? [])
      for (const h of r.spec?.hostnames ?? []) urls.add(`https://${h}`);
    return {
      tenant: tenant.code,
      cluster: tenant.cluster,
      namespace: ns,
      ...(namespaceProblem
        ? { status: 'unhealthy' as const, message: namespaceProblem }
        : { status, ...(message ? { message } : {}) }),
      releases,
      quota,
      urls: [...urls].sort(),
      observedAt: new Date().toISOString(),
    };
  }
}
