import {
  CLUSTER_SCOPED_RESOURCES,
  PlanResource,
} from '@kubechart/plugin-assistant-common';
import { KubeConfig } from '@kubernetes/client-node';
import { AnswerTooLong, getJson, resourcePath } from './clusterRead';

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
/**
 * The most bytes the metadata of one kind's list may take (8 MiB): a longer answer is given up
 * as soon as it passes it, and none of that kind's names are known. Metadata may still be large
 * (annotations up to 256 KiB an object), and an answer is parsed in one piece.
 */
export const MAX_LIST_BYTES = 8 * 1024 * 1024;
/**
 * The most bytes of one page of a kind's list (2 MiB): each page is parsed in a turn of its own, so
 * the event loop is never held for a kind's whole list. A page that would be longer is asked again
 * for fewer objects.
 */
const MAX_PAGE_BYTES = 2 * 1024 * 1024;
/** Objects asked for in one page of a kind's list. */
const PAGE_SIZE = 250;
/** Workloads named in one question whose selector is read (one GET each). */
export const MAX_SELECTOR_READS = 8;
/**
 * The largest workload a selector is read from (256 KiB): a larger one is known by its name,
 * without a selector, as one whose selector the assistant cannot show.
 */
export const MAX_WORKLOAD_BYTES = 256 * 1024;
/** What kubectl and client-go's metadata client ask for: each object's metadata, nothing else. */
const METADATA_LIST =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

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

type Entry = {
  at: number;
  names: Promise<ClusterObjectName[]>;
  /** The selectors read while the names are kept, by resource, namespace and name. */
  selectors: Map<string, Promise<string | undefined>>;
};

/**
 * The names of the objects in a cluster, listed at most once per `ttlMs`
 * (bounded per kind, as metadata only: each list sends no object's spec or
 * status, and one of more than {@link MAX_LIST_BYTES} is given up), so the
 * builtin parser can tell a deployment called `cron` from the word without
 * a request per question; with the selector of the workloads a question
 * names (read one by one, a few per question), so "pods of deployment web"
 * lists the pods it picks.
 *
 * Asked for one namespace (`lookup(…, { namespace })`, a caller without
 * `kube-assistant.cluster-wide`), it lists the namespaced kinds in that
 * namespace only and knows that namespace as the only one, and no nodes:
 * nothing outside it is read, so nothing outside it shapes the answer.
 */
export class ClusterNames {
  private readonly cache = new Map<string, Entry>();

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
      entry = {
        at: Date.now(),
        names: this.list(kc, within?.namespace),
        selectors: new Map(),
      };
      this.cache.set(key, entry);
      // A failed listing is not kept: the next question tries again.
      entry.names.catch(() => this.cache.delete(key));
    }
    const wanted = new Set(words);
    const found = (await entry.names).filter(o => wanted.has(o.name));
    return this.withSelectors(found, wanted, kc, entry.selectors);
  }

  /**
   * `found`, with the selector of the workloads among it, each read with one GET: at most
   * {@link MAX_SELECTOR_READS}, those in a namespace the question names first (a workload in
   * several namespaces is only used with its namespace named), then in the order listed. A
   * workload not read, larger than {@link MAX_WORKLOAD_BYTES} or that cannot be read has no
   * selector, as one whose selector is not a set of labels.
   */
  private async withSelectors(
    found: ClusterObjectName[],
    words: Set<string>,
    kc: KubeConfig,
    selectors: Entry['selectors'],
  ): Promise<ClusterObjectName[]> {
    const workloads = found.filter(o => SELECTING_KINDS.includes(o.resource));
    const read = new Set(
      [
        ...new Set([
          ...workloads.filter(o => o.namespace && words.has(o.namespace)),
          ...workloads,
        ]),
      ].slice(0, MAX_SELECTOR_READS),
    );
    return Promise.all(
      found.map(async o => {
        if (!read.has(o)) return o;
        const selector = await this.readSelector(o, kc, selectors);
        return selector ? { ...o, selector } : o;
      }),
    );
  }

  private readSelector(
    workload: ClusterObjectName,
    kc: KubeConfig,
    selectors: Entry['selectors'],
  ): Promise<string | undefined> {
    const key = [workload.resource, workload.namespace ?? '', workload.name]
      .map(encodeURIComponent)
      .join('/');
    let selector = selectors.get(key);
    if (!selector) {
      selector = getJson(
        kc,
        resourcePath(workload.resource, workload.namespace, workload.name),
        { maxBytes: MAX_WORKLOAD_BYTES },
      )
        .then(({ body: object }) =>
          selectorOf((object ?? {}) as Parameters<typeof selectorOf>[0]),
        )
        .catch(error => {
          // Too large is kept for the names' time; any other failure is tried again next question.
          if (!(error instanceof AnswerTooLong)) selectors.delete(key);
          return undefined;
        });
      selectors.set(key, selector);
    }
    return selector;
  }

  /**
   * The names of one kind's objects (in `namespace` when given), at most {@link MAX_PER_KIND}, read
   * as metadata in pages of at most {@link MAX_PAGE_BYTES} and {@link MAX_LIST_BYTES} in all (what
   * a page that was given up had sent counts too). Throws past that, or for an answer other than
   * the metadata-only list asked for.
   */
  private async listKind(
    kc: KubeConfig,
    resource: PlanResource,
    namespace?: string,
  ): Promise<ClusterObjectName[]> {
    const names: ClusterObjectName[] = [];
    let left = MAX_LIST_BYTES;
    let limit = PAGE_SIZE;
    let token: string | undefined;
    for (;;) {
      const query = new URLSearchParams({
        limit: String(Math.min(limit, MAX_PER_KIND - names.length)),
      });
      if (token) query.set('continue', token);
      let page: {
        kind?: unknown;
        metadata?: { continue?: unknown };
        items?: Array<{ metadata?: { name?: unknown; namespace?: unknown } }>;
      } | null;
      try {
        const answer = await getJson(
          kc,
          `${resourcePath(resource, namespace)}?${query}`,
          { accept: METADATA_LIST, maxBytes: Math.min(MAX_PAGE_BYTES, left) },
        );
        left -= answer.bytes;
        page = answer.body as typeof page;
      } catch (error) {
        if (!(error instanceof AnswerTooLong)) throw error;
        left -= error.received;
        // A page too long for one answer: the same page again, for fewer objects.
        if (left > 0 && limit > 1) {
          limit = Math.max(1, Math.floor(limit / 4));
          continue;
        }
        throw error;
      }
      // Only the metadata-only list asked for is read.
      if (page?.kind !== 'PartialObjectMetadataList') {
        throw new Error(`${resource} were not answered as metadata`);
      }
      for (const { metadata } of page.items ?? []) {
        names.push({
          name: typeof metadata?.name === 'string' ? metadata.name : '',
          resource,
          ...(typeof metadata?.namespace === 'string' && metadata.namespace
            ? { namespace: metadata.namespace }
            : {}),
        });
      }
      const next = page.metadata?.continue;
      token = typeof next === 'string' && next ? next : undefined;
      if (!token || names.length >= MAX_PER_KIND) break;
    }
    return names.slice(0, MAX_PER_KIND);
  }

  private async list(
    kc: KubeConfig,
    namespace?: string,
  ): Promise<ClusterObjectName[]> {
    const kinds = namespace
      ? LOOKUP_KINDS.filter(r => !CLUSTER_SCOPED_RESOURCES.includes(r))
      : LOOKUP_KINDS;
    const lists = await Promise.all(
      kinds.map(async resource => {
        try {
          return await this.listKind(kc, resource, namespace);
        } catch {
          // A kind this identity may not list, or whose list is longer than MAX_LIST_BYTES, is
          // simply not known.
          return [];
        }
      }),
    );
    const names: ClusterObjectName[] = lists.flat().filter(o => o.name);
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
