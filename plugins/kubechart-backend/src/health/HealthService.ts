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
  V1Job,
  V1ObjectMeta,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { TenantRecord } from '../database/RunStore';
import { KubeClient } from '../lib/KubeClient';
import { describeKubeError, isNotFound } from '../lib/kubeErrors';
import { podProblems, podsMatching, selectorProblem } from '../lib/readiness';
import { ClusterHealthCache, TENANT_INFORMERS } from './ClusterHealthCache';
import { workloadRollout } from './clusterAggregates';
import { parseQuantity } from './quantity';
import { RELEASE_ANNOTATION, clusterMessage } from './trimmedInformer';

/** The Helm release an object names (Helm annotates every object it creates). */
const releaseOf = (o: { metadata?: V1ObjectMeta }) =>
  o.metadata?.annotations?.[RELEASE_ANNOTATION];

/** When a Job was created (its CronJob's newest Job is the one that counts). */
const createdAt = (j: V1Job) =>
  new Date((j.metadata?.creationTimestamp ?? 0) as any).getTime() || 0;

/**
 * The Jobs of a namespace whose failure counts now: every Job but those of a CronJob that made a
 * newer one (a CronJob keeps its last failed Job, `failedJobsHistoryLimit`, after later runs
 * succeed), each with why it failed.
 */
function failedJobs(
  jobs: readonly V1Job[],
): Array<{ job: V1Job; why: string }> {
  const newestOf = new Map<string, V1Job>();
  for (const j of jobs) {
    const cron = j.metadata?.ownerReferences?.find(r => r.kind === 'CronJob');
    if (!cron) continue;
    const newest = newestOf.get(cron.uid);
    // By creation time, then name (the CronJob names its Jobs by their scheduled time).
    if (
      !newest ||
      createdAt(j) > createdAt(newest) ||
      (createdAt(j) === createdAt(newest) &&
        (j.metadata?.name ?? '') > (newest.metadata?.name ?? ''))
    )
      newestOf.set(cron.uid, j);
  }
  const failed: Array<{ job: V1Job; why: string }> = [];
  for (const j of jobs) {
    const cron = j.metadata?.ownerReferences?.find(r => r.kind === 'CronJob');
    if (cron && newestOf.get(cron.uid) !== j) continue;
    // `FailureTarget` (newer controllers) says it has failed before `Failed` is written.
    const failedAs = (type: string) =>
      j.status?.conditions?.find(x => x.type === type && x.status === 'True');
    const c = failedAs('Failed') ?? failedAs('FailureTarget');
    if (!c) continue;
    const detail = [c.reason, c.message].filter(Boolean).join(': ');
    failed.push({ job: j, why: `failed${detail ? ` (${detail})` : ''}` });
  }
  return failed;
}

/**
 * The resources of a ResourceQuota used up (used at least hard, hard above 0: a hard 0 forbids the
 * resource, which is a rule, not a quota used up), as `pods: 2 of 2`; a figure that is not a
 * quantity is named too (it cannot be compared).
 */
function usedUp(quota: {
  hard: Record<string, string>;
  used: Record<string, string>;
}): string[] {
  const full: string[] = [];
  for (const key of Object.keys(quota.hard).sort()) {
    const used = quota.used[key];
    if (used === undefined) continue;
    const h = parseQuantity(quota.hard[key]);
    const u = parseQuantity(used);
    if (h === undefined || u === undefined)
      full.push(`${key}: ${used} of ${quota.hard[key]} (not a quantity)`);
    else if (h > 0 && u >= h)
      full.push(`${key}: ${used} of ${quota.hard[key]}`);
  }
  return full;
}

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
   * StatefulSets, DaemonSets, Jobs: {@link TENANT_INFORMERS}) do not follow the cluster (a list or
   * watch of one fails): what they hold may be gone from the cluster. Other informers (nodes,
   * events) failing does not make it `unknown`. What else of the namespace fails makes a release
   * `degraded` when it is exactly that release's, else the tenant at least `degraded` with
   * `message` naming the first: the pods no judged workload selects whose containers fail, as
   * cluster health counts them (a pod Helm made is its release's; a Job's pod, its Job's release),
   * and the Jobs that failed (a CronJob's newest only; a Job is its release's by Helm's annotation,
   * which a CronJob's Jobs do not carry), their pods there or gone.
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
      jobs,
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
    // What else fails: pods no judged workload selects whose containers fail (a Job's or
    // CronJob's crash-looping pod, a bare pod), as the cluster's health counts them, and the Jobs
    // that failed, their pods there or gone. Each is its release's where that is exact (Helm's
    // annotation on the pod or on the Job that owns it, the same Job by uid); else the tenant's.
    const jobsByName = new Map(jobs.map(j => [j.metadata?.name ?? '', j]));
    const problems: Array<{ release?: string; text: string }> = [];
    for (const pod of nsPods) {
      if (selected.has(pod)) continue;
      const failing = podProblems(pod);
      if (!failing.failing) continue;
      const text =
        failing.text[0] ??
        `pod ${pod.metadata?.name}: ${failing.failingReason ?? 'failing'}`;
      const owner = pod.metadata?.ownerReferences?.find(
        r => r.controller && r.kind === 'Job',
      );
      const job = owner && jobsByName.get(owner.name);
      const release =
        releaseOf(pod) ??
        (job && job.metadata?.uid === owner?.uid ? releaseOf(job) : undefined);
      problems.push({
        release,
        text: owner ? `Job ${owner.name}: ${text}` : text,
      });
    }
    for (const { job, why } of failedJobs(jobs))
      problems.push({
        release: releaseOf(job),
        text: `Job ${job.metadata?.name}: ${why}`,
      });
    const unattributed: string[] = [];
    for (const { release, text } of problems) {
      if (!release) {
        unattributed.push(text);
        continue;
      }
      const judgedOf = byRelease.get(release) ?? [];
      judgedOf.push({ ready: 0, total: 0, status: 'degraded', reason: text });
      byRelease.set(release, judgedOf);
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
    // What fails and is no release's: the tenant is degraded, and says which.
    if (unattributed.length === 0) return { releases, status };
    if (status === 'healthy') status = 'degraded';
    const message = `${unattributed.length} failing pod(s) or failed Job(s) not attributed to a release: ${unattributed[0]}`;
    return { releases, status, message };
  }

  /**
   * Per-release pod readiness (from the cache), quota use and access URLs of a tenant, as of now.
   * While the informers it reads do not follow the cluster: `unknown` with why, nothing else of the
   * tenant, and `lastSeenAt` when the first of them stopped following the cluster (see
   * {@link ClusterHealthCache.freshness}); none when it never followed it. `unhealthy` when the
   * tenant's namespace does not exist (nothing else of the tenant) or is terminating; `unknown`
   * when it cannot be read. At least `degraded` while its quota is used up for a resource (new
   * objects of it are refused), `message` saying which. `urlsError` says why `urls` may be
   * incomplete (its Ingresses, or HTTPRoutes where served, could not be listed): never an empty
   * list that looks like none.
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
    // A resource of the quota used up: the objects that would need more of it are refused.
    const full = usedUp(quota);
    const urls = new Set<string>();
    // Why what is listed may not be every URL: a list that failed is said, not taken as empty.
    const urlsErrors: string[] = [];
    const listFailed = (what: string) => (e: unknown) => {
      urlsErrors.push(
        `${what}: ${clusterMessage(describeKubeError(e, tenant.cluster))}`,
      );
      return { items: [] };
    };
    const kc = this.clusters.kubeConfig(tenant.cluster);
    const ingresses = await kc
      .makeApiClient(NetworkingV1Api)
      .listNamespacedIngress({ namespace: ns })
      .catch(listFailed('Ingresses'));
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
      // A cluster that does not serve the Gateway API has no HTTPRoutes.
      .catch(e =>
        isNotFound(e) ? { items: [] } : listFailed('HTTPRoutes')(e),
      );
    for (const r of routes.items ?? [])
      for (const h of r.spec?.hostnames ?? []) urls.add(`https://${h}`);
    const messages = [
      message,
      full.length > 0 &&
        `quota kubechart-quota used up (new objects that need more are refused): ${full.join(
          ', ',
        )}`,
    ].filter(Boolean);
    return {
      tenant: tenant.code,
      cluster: tenant.cluster,
      namespace: ns,
      ...(namespaceProblem
        ? { status: 'unhealthy' as const, message: namespaceProblem }
        : {
            status:
              full.length > 0 && status === 'healthy' ? 'degraded' : status,
            ...(messages.length ? { message: messages.join('; ') } : {}),
          }),
      releases,
      quota,
      urls: [...urls].sort(),
      ...(urlsErrors.length ? { urlsError: urlsErrors.join('; ') } : {}),
      observedAt: new Date().toISOString(),
    };
  }
}
