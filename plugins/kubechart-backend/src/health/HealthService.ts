import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type {
  ClusterHealth,
  ClusterSummary,
  TenantHealth,
} from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import { TenantRecord } from '../database/RunStore';
import { KubeClient } from '../lib/KubeClient';
import { isNotFound } from '../lib/kubeErrors';
import { ClusterHealthCache } from './ClusterHealthCache';

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
    return [...this.caches.values()].map(c => ({
      cluster: c.cluster,
      ...c.freshness(),
    }));
  }

  async listClusters(): Promise<ClusterSummary[]> {
    return this.clusters.list().map(c => {
      const cache = this.caches.get(c.name);
      if (!cache) return { ...c, status: 'unknown' as const };
      const h = cache.health();
      return { ...c, status: h.status, message: h.message };
    });
  }

  /** Cluster health from the cache; NotFoundError for unknown clusters. */
  async clusterHealth(name: string): Promise<ClusterHealth> {
    this.clusters.get(name);
    const cache = this.cache(name);
    if (!cache.ready) await this.starting.get(name);
    return cache.health();
  }

  /** Per-release pod readiness of a tenant, from the cache of its cluster. */
  async tenantReadiness(
    tenant: TenantRecord,
  ): Promise<Pick<TenantHealth, 'releases' | 'status'>> {
    if (!this.clusters.has(tenant.cluster))
      throw new NotFoundError(
        `Cluster ${tenant.cluster} of tenant ${tenant.code} is not configured`,
      );
    const cache = this.cache(tenant.cluster);
    if (!cache.ready) await this.starting.get(tenant.cluster);
    // Only the tenant namespace's objects, from the cache's per-namespace maps.
    const {
      pods: nsPods,
      deployments,
      statefulSets,
    } = cache.inNamespace(tenant.namespace);
    const byRelease = new Map<string, { ready: number; total: number }>();
    for (const r of tenant.releases) byRelease.set(r, { ready: 0, total: 0 });
    for (const w of [...deployments, ...statefulSets]) {
      const release = w.metadata?.annotations?.['meta.helm.sh/release-name'];
      if (!release) continue;
      const sel: Record<string, string> = w.spec?.selector?.matchLabels ?? {};
      const matching = nsPods.filter(
        p =>
          Object.keys(sel).length &&
          Object.entries(sel).every(([k, v]) => p.metadata?.labels?.[k] === v),
      );
      const entry = byRelease.get(release) ?? { ready: 0, total: 0 };
      entry.total += Math.max(w.spec?.replicas ?? 1, matching.length);
      entry.ready += matching.filter(p =>
        p.status?.conditions?.some(
          c => c.type === 'Ready' && c.status === 'True',
        ),
      ).length;
      byRelease.set(release, entry);
    }
    const releases = [...byRelease.entries()].map(
      ([name, { ready, total }]) => {
        let status: 'healthy' | 'degraded' | 'unhealthy' = 'healthy';
        if (total === 0 || ready === 0) status = 'unhealthy';
        else if (ready < total) status = 'degraded';
        return { name, readyPods: ready, totalPods: total, status };
      },
    );
    let status: TenantHealth['status'] = 'healthy';
    if (releases.some(r => r.status === 'unhealthy')) status = 'unhealthy';
    else if (releases.some(r => r.status === 'degraded')) status = 'degraded';
    return { releases, status };
  }

  /** Per-release pod readiness (from the cache), quota use and access URLs of a tenant. */
  async tenantHealth(tenant: TenantRecord): Promise<TenantHealth> {
    const { releases, status } = await this.tenantReadiness(tenant);
    const ns = tenant.namespace;
    const client = new KubeClient(this.clusters.kubeConfig(tenant.cluster));
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
      status,
      releases,
      quota,
      urls: [...urls].sort(),
      observedAt: new Date().toISOString(),
    };
  }
}
