import {
  ApisApi,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObject,
} from '@kubernetes/client-node';
import {
  ClusterRegistry,
  INGRESS_HOST_KINDS,
  IngressHostsInUse,
  KubeObject,
  PolicyCheckOptions,
  PolicyEngine,
  ingressHostsOf,
} from '@kubechart/plugin-kubechart-node';
import { listInPages } from '../health/listInPages';
import { makeListPages } from '../health/listPages';
import { describeKubeError } from '../lib/kubeErrors';

/**
 * The most Ingresses, Gateway API routes and ListenerSets one check reads, and the most list pages
 * (pages hold fewer objects when the objects are large): past either, the hosts are not read and every
 * host of the run is refused, as when they cannot be read.
 */
export const MAX_HOST_HOLDERS = 10_000;
export const MAX_HOST_PAGES = 500;

/** What one listed object keeps of itself: its namespace and the hosts it claims. */
type Holder = KubernetesObject & { hosts?: string[] };

/**
 * Where the cluster serves each kind that claims hosts (`INGRESS_HOST_KINDS`): its list path, from the
 * cluster's discovery (the preferred version of the group first). A kind the cluster does not serve has
 * no objects.
 */
async function servedHostKinds(kubeConfig: KubeConfig) {
  const { groups } = await kubeConfig.makeApiClient(ApisApi).getAPIVersions();
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const out: Array<{ path: string; apiVersion: string; kind: string }> = [];
  for (const group of groups) {
    const wanted = INGRESS_HOST_KINDS.filter(k => k.group === group.name).map(
      k => k.kind,
    );
    if (!wanted.length) continue;
    const preferred = group.preferredVersion?.version;
    const versions = [
      ...group.versions.filter(v => v.version === preferred),
      ...group.versions.filter(v => v.version !== preferred),
    ];
    const found = new Set<string>();
    for (const v of versions) {
      const { resources } = await custom.getAPIResources({
        group: group.name,
        version: v.version,
      });
      for (const r of resources) {
        if (r.name.includes('/') || !wanted.includes(r.kind)) continue;
        if (found.has(r.kind)) continue;
        found.add(r.kind);
        out.push({
          path: `/apis/${v.groupVersion}/${r.name}`,
          apiVersion: v.groupVersion,
          kind: r.kind,
        });
      }
    }
  }
  return out;
}

/**
 * The hosts every Ingress, Gateway API route and ListenerSet of the cluster claims, with its namespace
 * (`PolicyCheckOptions.ingressHostsInUse`), read with `kubeConfig`'s identity (the engine's: it lists
 * them in every namespace). Lists come in pages (`pageSize` objects, fewer when they are large), each
 * parsed in turns of the event loop and kept as namespace and hosts only; at most `maxObjects` objects
 * and {@link MAX_HOST_PAGES} pages. Never throws: what cannot be read whole (a list refused, more
 * objects than that) is `unreadable`, with why, and the rule then refuses every host.
 */
export async function readIngressHostsInUse(
  kubeConfig: KubeConfig,
  options: { pageSize?: number; maxObjects?: number } = {},
): Promise<IngressHostsInUse> {
  const maxObjects = options.maxObjects ?? MAX_HOST_HOLDERS;
  const pages = makeListPages(kubeConfig);
  try {
    const hosts: Array<{ host: string; namespace: string }> = [];
    let objects = 0;
    let pagesRead = 0;
    for (const { path, apiVersion, kind } of await servedHostKinds(
      kubeConfig,
    )) {
      // Kept as each object is parsed: its namespace and hosts, nothing else of it.
      const trim = (item: Holder): Holder => ({
        metadata: { namespace: item.metadata?.namespace },
        hosts: ingressHostsOf({ ...item, apiVersion, kind } as KubeObject),
      });
      let listed: typeof hosts = [];
      let count = 0;
      for await (const page of listInPages<Holder>(
        pages.list<Holder>(path),
        trim,
        options.pageSize,
      )) {
        // A list started over (its continue token expired) replaces what was read of it.
        if (page.first) {
          listed = [];
          count = 0;
        }
        count += page.items.length;
        if (objects + count > maxObjects)
          return {
            unreadable: `the cluster holds more than ${maxObjects} Ingresses, Gateway API routes and ListenerSets, more than one check reads`,
          };
        if (++pagesRead > MAX_HOST_PAGES)
          return {
            unreadable: `the cluster's Ingresses, Gateway API routes and ListenerSets take more than the ${MAX_HOST_PAGES} list pages one check reads`,
          };
        for (const item of page.items) {
          const namespace = item.metadata?.namespace;
          for (const host of item.hosts ?? [])
            if (namespace) listed.push({ host, namespace });
        }
      }
      objects += count;
      hosts.push(...listed);
    }
    return { hosts };
  } catch (e) {
    return {
      unreadable: `they could not be read from the cluster: ${describeKubeError(
        e,
      )}`,
    };
  } finally {
    pages.close();
  }
}

/**
 * The `ingressHostsInUse` option of a check of `objects` in a run on `cluster`: read when the policy
 * needs them (no `ingressHostDomain`, and an object claims a host), else none. Without a cluster (a
 * `POST /policy/check` that names none) they are `unreadable`, so such hosts are refused.
 */
export async function ingressHostsOption(
  deps: { policy: PolicyEngine; clusters: ClusterRegistry },
  cluster: string | undefined,
  objects: KubeObject[],
): Promise<Pick<PolicyCheckOptions, 'ingressHostsInUse'>> {
  if (!deps.policy.needsIngressHostsInUse(objects)) return {};
  if (cluster === undefined)
    return {
      ingressHostsInUse: {
        unreadable: 'the check names no cluster to read them from',
      },
    };
  return {
    ingressHostsInUse: await readIngressHostsInUse(
      deps.clusters.kubeConfig(cluster),
    ),
  };
}
