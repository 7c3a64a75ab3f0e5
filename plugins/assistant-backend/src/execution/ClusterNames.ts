import { PlanResource } from '@kubechart/plugin-assistant-common';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { RESOURCE_TYPES } from './resources';

/** Kinds whose names a question may use without saying the kind. */
const LOOKUP_KINDS: PlanResource[] = [
  'namespaces',
  'nodes',
  'deployments',
  'statefulsets',
  'daemonsets',
  'jobs',
  'cronjobs',
  'services',
  'pods',
];
const MAX_PER_KIND = 1000;

export type ClusterObjectName = {
  name: string;
  resource: PlanResource;
  namespace?: string;
  /** A workload's selector as `-l` takes it: its matchLabels, when it has no matchExpressions. */
  selector?: string;
};

/** Kinds whose selector picks their pods. */
const SELECTING_KINDS: PlanResource[] = [
  'deployments',
  'statefulsets',
  'daemonsets',
  'jobs',
];

/** `app=web,tier=db`: a label selector of matchLabels only, or undefined. */
function selectorOf(object: {
  spec?: {
    selector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: unknown[];
    };
  };
}): string | undefined {
  const selector = object.spec?.selector;
  const labels = Object.entries(selector?.matchLabels ?? {});
  if (!labels.length || (selector?.matchExpressions ?? []).length) {
    return undefined;
  }
  return labels.map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * The names of the objects in a cluster, listed at most once per `ttlMs`
 * (bounded per kind), so the builtin parser can tell a deployment called
 * `cron` from the word without a request per question; with each workload's
 * selector, so "pods of deployment web" lists the pods it picks.
 */
export class ClusterNames {
  private readonly cache = new Map<
    string,
    { at: number; names: Promise<ClusterObjectName[]> }
  >();

  constructor(
    private readonly options: { ttlMs: number } = { ttlMs: 30_000 },
  ) {}

  async lookup(
    cluster: string,
    kc: KubeConfig,
    words: string[],
  ): Promise<ClusterObjectName[]> {
    let entry = this.cache.get(cluster);
    if (!entry || Date.now() - entry.at > this.options.ttlMs) {
      // One entry per cluster (per user when impersonating): keep it bounded.
      if (this.cache.size >= 500) this.cache.clear();
      entry = { at: Date.now(), names: this.list(kc) };
      this.cache.set(cluster, entry);
      // A failed listing is not kept: the next question tries again.
      entry.names.catch(() => this.cache.delete(cluster));
    }
    const wanted = new Set(words);
    return (await entry.names).filter(o => wanted.has(o.name));
  }

  private async list(kc: KubeConfig): Promise<ClusterObjectName[]> {
    const api = KubernetesObjectApi.makeApiClient(kc);
    const lists = await Promise.all(
      LOOKUP_KINDS.map(async resource => {
        const { apiVersion, kind } = RESOURCE_TYPES[resource];
        try {
          const list = await api.list(
            apiVersion,
            kind,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            MAX_PER_KIND,
          );
          return (list.items ?? []).map(o => {
            const selector = SELECTING_KINDS.includes(resource)
              ? selectorOf(o as Parameters<typeof selectorOf>[0])
              : undefined;
            return {
              name: o.metadata?.name ?? '',
              resource,
              ...(o.metadata?.namespace
                ? { namespace: o.metadata.namespace }
                : {}),
              ...(selector ? { selector } : {}),
            };
          });
        } catch {
          // A kind this identity may not list is simply not known.
          return [];
        }
      }),
    );
    return lists.flat().filter(o => o.name);
  }
}
