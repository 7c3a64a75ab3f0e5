import {
  CLUSTER_SCOPED_RESOURCES,
  PlanResource,
} from '@kubechart/plugin-assistant-common';
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
 *
 * Asked for one namespace (`lookup(…, { namespace })`, a caller without
 * `kube-assistant.cluster-wide`), it lists the namespaced kinds in that
 * namespace only and knows that namespace as the only one, and no nodes:
 * nothing outside it is read, so nothing outside it shapes the answer.
 */
export class ClusterNames {
  private readonly cache = new Map<
    string,
    { at: number; names: Promise<ClusterObjectName[]> }
  >();

  constructor(
    private readonly options: { ttlMs: number } = { ttlMs: 30_000 },
  ) {}

  /**
   * @param cluster - what the names are kept under: the cluster (and the user when impersonating)
   * @param within - the one namespace to read (with its name the only namespace known), or all of
   *   the cluster when left out
   */
  async lookup(
    cluster: string,
    kc: KubeConfig,
    words: string[],
    within?: { namespace: string },
  ): Promise<ClusterObjectName[]> {
    const key = within
      ? `${cluster}\u0000namespace\u0000${within.namespace}`
      : cluster;
    let entry = this.cache.get(key);
    if (!entry || Date.now() - entry.at > this.options.ttlMs) {
      // One entry per cluster and namespace (per user when impersonating): keep it bounded.
      if (this.cache.size >= 500) this.cache.clear();
      entry = { at: Date.now(), names: this.list(kc, within?.namespace) };
      this.cache.set(key, entry);
      // A failed listing is not kept: the next question tries again.
      entry.names.catch(() => this.cache.delete(key));
    }
    const wanted = new Set(words);
    return (await entry.names).filter(o => wanted.has(o.name));
  }

  private async list(
    kc: KubeConfig,
    namespace?: string,
  ): Promise<ClusterObjectName[]> {
    const api = KubernetesObjectApi.makeApiClient(kc);
    const kinds = namespace
      ? LOOKUP_KINDS.filter(r => !CLUSTER_SCOPED_RESOURCES.includes(r))
      : LOOKUP_KINDS;
    const lists = await Promise.all(
      kinds.map(async resource => {
        const { apiVersion, kind } = RESOURCE_TYPES[resource];
        try {
          const list = await api.list(
            apiVersion,
            kind,
            namespace,
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
    const names = lists.flat().filter(o => o.name);
    // The scope's namespace is known by its name, without reading any Namespace.
    return namespace
      ? [
          { name: namespace, resource: 'namespaces' as const },
          // Only what the server answered for that namespace.
          ...names.filter(o => o.namespace === namespace),
        ]
      : names;
  }
}
