import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import { KubeConfig } from '@kubernetes/client-node';
import { normalizeServerUrl } from '@kubechart/plugin-audit-log-common';

/** One cluster from `kubernetes.clusterLocatorMethods` (type `config`). @public */
export type KubechartCluster = {
  name: string;
  url: string;
  authProvider: string;
  /** Never logged or returned by the API. */
  serviceAccountToken?: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify: boolean;
};

/**
 * Reads the clusters the Backstage Kubernetes plugin already knows (`kubernetes.clusterLocatorMethods`,
 * type `config`) and builds `KubeConfig`s for them.
 * @public
 */
export class ClusterRegistry {
  private readonly clusters: Map<string, KubechartCluster>;

  static fromConfig(config: Config): ClusterRegistry {
    const clusters: KubechartCluster[] = [];
    for (const method of config.getOptionalConfigArray(
      'kubernetes.clusterLocatorMethods',
    ) ?? []) {
      if (method.getString('type') !== 'config') continue;
      for (const c of method.getOptionalConfigArray('clusters') ?? []) {
        clusters.push({
          name: c.getString('name'),
          url: c.getString('url'),
          authProvider: c.getOptionalString('authProvider') ?? 'serviceAccount',
          serviceAccountToken: c.getOptionalString('serviceAccountToken'),
          caData: c.getOptionalString('caData'),
          caFile: c.getOptionalString('caFile'),
          skipTLSVerify: c.getOptionalBoolean('skipTLSVerify') ?? false,
        });
      }
    }
    return new ClusterRegistry(clusters);
  }

  constructor(clusters: KubechartCluster[]) {
    this.clusters = new Map();
    const servers = new Map<string, string>();
    for (const c of clusters) {
      if (this.clusters.has(c.name)) {
        throw new InputError(`Cluster "${c.name}" is configured twice`);
      }
      // Approval rules, tenant records and locks are kept per cluster name: a second name for the
      // same API server would escape them all, so it is refused rather than trusted.
      const server = normalizeServerUrl(c.url);
      const other = servers.get(server);
      if (other !== undefined) {
        throw new InputError(
          `Clusters "${other}" and "${c.name}" are the same API server (${server}); KubeChart keeps approval rules, tenants and locks per cluster name, so a cluster may be configured only once. Remove one of them.`,
        );
      }
      servers.set(server, c.name);
      this.clusters.set(c.name, c);
    }
  }

  /** Cluster names and URLs (no credentials). */
  list(): Array<{ name: string; url: string }> {
    return [...this.clusters.values()].map(c => ({ name: c.name, url: c.url }));
  }

  has(name: string): boolean {
    return this.clusters.has(name);
  }

  /** The cluster; NotFoundError when unknown. */
  get(name: string): KubechartCluster {
    const c = this.clusters.get(name);
    if (!c) {
      throw new NotFoundError(
        `Unknown cluster "${name}"; known clusters: ${
          [...this.clusters.keys()].join(', ') || 'none'
        }`,
      );
    }
    return c;
  }

  /**
   * A KubeConfig with a single context for the cluster. With `impersonate`, every request made
   * through it carries `Impersonate-User` (the API server then authorizes that user, e.g. a
   * tenant's deployer ServiceAccount, whose groups it derives itself).
   */
  kubeConfig(name: string, options: { impersonate?: string } = {}): KubeConfig {
    return makeKubeConfig(this.get(name), options);
  }

  /** The kubeconfig as text (JSON, which is YAML), e.g. for helm's `--kubeconfig` file. */
  kubeconfigYaml(name: string): string {
    return this.kubeConfig(name).exportConfig();
  }
}

/** The API server a URL names (see `normalizeServerUrl` of `@kubechart/plugin-audit-log-common`). @public */
export { normalizeServerUrl };

/**
 * Builds a KubeConfig for one cluster. Only `serviceAccount` auth is supported here: other
 * providers of the Kubernetes plugin need a user's token, which a background run does not have.
 * @public
 */
export function makeKubeConfig(
  cluster: KubechartCluster,
  options: { impersonate?: string } = {},
): KubeConfig {
  if (cluster.authProvider !== 'serviceAccount') {
    throw new InputError(
      `Cluster "${cluster.name}" uses authProvider "${cluster.authProvider}"; kubechart needs serviceAccount`,
    );
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.url,
        caData: cluster.caData,
        caFile: cluster.caFile,
        skipTLSVerify: cluster.skipTLSVerify,
      },
    ],
    users: [
      {
        name: `${cluster.name}-sa`,
        token: cluster.serviceAccountToken,
        ...(options.impersonate
          ? { impersonateUser: options.impersonate }
          : {}),
      },
    ],
    contexts: [
      { name: cluster.name, cluster: cluster.name, user: `${cluster.name}-sa` },
    ],
    currentContext: cluster.name,
  });
  return kc;
}
