import {
  ApisApi,
  CoreApi,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  V1APIResource,
  VersionApi,
} from '@kubernetes/client-node';

/** `resource()` is the discovery lookup client-node uses to build object paths (protected in its typings). */
type WithDiscovery = {
  resource(
    apiVersion: string,
    kind: string,
  ): Promise<V1APIResource | undefined>;
};
import { ClusterRegistry } from './ClusterRegistry';

/** Whether a kind is namespaced on a cluster; undefined when the cluster does not serve it. @public */
export type NamespacedLookup = (
  apiVersion: string,
  kind: string,
) => boolean | undefined;

/**
 * Scopes declared by the CustomResourceDefinitions among `objects` (`<group>/<version>` and kind to
 * namespaced), for custom resources installed together with their CRD, which the cluster does not
 * serve yet. The cluster's own discovery wins for a kind it serves.
 */
function declaredScopes(
  objects: Array<{ apiVersion?: string; kind?: string; spec?: any }>,
): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const o of objects) {
    if (
      o?.kind !== 'CustomResourceDefinition' ||
      !String(o.apiVersion).startsWith('apiextensions.k8s.io/')
    )
      continue;
    const { group, names, scope, versions } = o.spec ?? {};
    if (typeof group !== 'string' || typeof names?.kind !== 'string') continue;
    if (scope !== 'Namespaced' && scope !== 'Cluster') continue;
    for (const v of Array.isArray(versions) ? versions : []) {
      if (typeof v?.name === 'string') {
        out.set(
          `${group}/${v.name}\u0000${names.kind}`,
          scope === 'Namespaced',
        );
      }
    }
  }
  return out;
}

/**
 * Answers "is this kind namespaced?" from a cluster's API discovery, the way kubectl does, so that a
 * run's scope check never guesses from a hard-coded list. Discovery documents are cached per cluster
 * (client-node keeps them per group version and refetches when a kind is missing, so a CRD installed
 * later is found). A group version the cluster does not serve answers undefined, which callers refuse.
 * @public
 */
export class ClusterDiscovery {
  private readonly apis = new Map<string, KubernetesObjectApi>();

  constructor(private readonly clusters: ClusterRegistry) {}

  private api(cluster: string): KubernetesObjectApi {
    let api = this.apis.get(cluster);
    if (!api) {
      api = KubernetesObjectApi.makeApiClient(
        this.clusters.kubeConfig(cluster),
      );
      this.apis.set(cluster, api);
    }
    return api;
  }

  /**
   * Looks up every distinct kind of `objects` and returns a synchronous lookup over them. A cluster
   * that cannot be reached throws (callers fail closed); an unknown group version or kind is undefined.
   */
  async lookup(
    cluster: string,
    objects: Array<{ apiVersion?: string; kind?: string; spec?: any }>,
  ): Promise<NamespacedLookup> {
    const api = this.api(cluster);
    const answers = new Map<string, boolean | undefined>();
    const key = (apiVersion: string, kind: string) =>
      `${apiVersion}\u0000${kind}`;
    const declared = declaredScopes(objects);
    for (const o of objects) {
      if (!o.apiVersion || !o.kind || answers.has(key(o.apiVersion, o.kind)))
        continue;
      const served = await this.namespaced(api, o.apiVersion, o.kind);
      answers.set(
        key(o.apiVersion, o.kind),
        served ?? declared.get(key(o.apiVersion, o.kind)),
      );
    }
    return (apiVersion, kind) => answers.get(key(apiVersion, kind));
  }

  /**
   * What a cluster serves, as helm's `.Capabilities` sees it when it renders against the cluster:
   * every `group/version` and `group/version/Kind` (`v1` and `v1/Kind` for the core group), and the
   * server's version. Read afresh each time (a CRD installed since counts).
   */
  async capabilities(
    cluster: string,
  ): Promise<{ apiVersions: string[]; kubeVersion: string }> {
    const config = this.clusters.kubeConfig(cluster);
    const versions = new Set<string>();
    const addKinds = (groupVersion: string, resources: V1APIResource[]) => {
      versions.add(groupVersion);
      for (const r of resources) {
        // subresources (`deployments/scale`) are not kinds of their own
        if (!r.name.includes('/')) versions.add(`${groupVersion}/${r.kind}`);
      }
    };
    const core = await config.makeApiClient(CoreApi).getAPIVersions();
    for (const v of core.versions) {
      if (v === 'v1')
        addKinds(
          v,
          (await config.makeApiClient(CoreV1Api).getAPIResources()).resources,
        );
      else versions.add(v);
    }
    const custom = config.makeApiClient(CustomObjectsApi);
    for (const group of (await config.makeApiClient(ApisApi).getAPIVersions())
      .groups) {
      for (const v of group.versions) {
        const list = await custom.getAPIResources({
          group: group.name,
          version: v.version,
        });
        addKinds(v.groupVersion, list.resources);
      }
    }
    const { gitVersion } = await config.makeApiClient(VersionApi).getCode();
    return { apiVersions: [...versions].sort(), kubeVersion: gitVersion };
  }

  private async namespaced(
    api: KubernetesObjectApi,
    apiVersion: string,
    kind: string,
  ): Promise<boolean | undefined> {
    try {
      return (
        await (api as unknown as WithDiscovery).resource(apiVersion, kind)
      )?.namespaced;
    } catch (e: any) {
      // 404: the cluster does not serve this group version.
      if (
        e?.code === 404 ||
        e?.statusCode === 404 ||
        /\b404\b/.test(String(e?.message))
      )
        return undefined;
      throw e;
    }
  }
}
