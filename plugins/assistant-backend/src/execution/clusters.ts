import { Config } from '@backstage/config';
import { KubeConfig } from '@kubernetes/client-node';
import { InputError, NotFoundError } from '@backstage/errors';
import { normalizeServerUrl } from '@kubechart/plugin-audit-log-common';

/** A cluster from `kubernetes.clusterLocatorMethods` (type `config`). */
export type ClusterDetails = {
  name: string;
  url: string;
  serviceAccountToken?: string;
  caData?: string;
  skipTLSVerify: boolean;
};

/**
 * Reads the clusters the Backstage Kubernetes plugin is configured with, so
 * there is no second cluster list to keep in sync.
 */
export function readClusters(config: Config): ClusterDetails[] {
  const methods =
    config.getOptionalConfigArray('kubernetes.clusterLocatorMethods') ?? [];
  const clusters: ClusterDetails[] = [];
  for (const method of methods) {
    if (method.getString('type') !== 'config') continue;
    for (const c of method.getOptionalConfigArray('clusters') ?? []) {
      clusters.push({
        name: c.getString('name'),
        url: c.getString('url'),
        serviceAccountToken: c.getOptionalString('serviceAccountToken'),
        caData: c.getOptionalString('caData'),
        skipTLSVerify: c.getOptionalBoolean('skipTLSVerify') ?? false,
      });
    }
  }
  return clusters;
}

/** Hands out a client configuration per cluster. */
export class ClusterRegistry {
  private readonly byName: Map<string, ClusterDetails>;

  constructor(
    private readonly clusters: ClusterDetails[],
    private readonly defaultCluster?: string,
  ) {
    this.byName = new Map(clusters.map(c => [c.name, c]));
  }

  static fromConfig(config: Config): ClusterRegistry {
    const clusters = readClusters(config);
    // KubeChart's approval rules (which the assistant honours, see ProtectedTargets) name clusters:
    // a second name for a protected API server would escape them, so it is refused at start-up.
    if (config.getOptionalConfigArray('kubechart.approvals.rules')?.length) {
      const servers = new Map<string, string>();
      for (const c of clusters) {
        const server = normalizeServerUrl(c.url);
        const other = servers.get(server);
        if (other !== undefined && other !== c.name)
          throw new InputError(
            `Clusters "${other}" and "${c.name}" are the same API server (${server}); KubeChart approval rules name clusters, so a cluster may be configured only once. Remove one of them.`,
          );
        servers.set(server, c.name);
      }
    }
    return new ClusterRegistry(
      clusters,
      config.getOptionalString('kubeAssistant.defaultCluster'),
    );
  }

  names(): string[] {
    return this.clusters.map(c => c.name);
  }

  /** The cluster to use when nothing names one. */
  defaultName(): string | undefined {
    return this.defaultCluster ?? this.clusters[0]?.name;
  }

  /**
   * A client configuration for a cluster. With `impersonateUser`, every
   * request carries `Impersonate-User`, so the cluster's own RBAC decides
   * for that user (the configured identity needs the `impersonate` verb).
   */
  kubeConfig(
    name: string | undefined,
    options: { impersonateUser?: string } = {},
  ): KubeConfig {
    const clusterName = name ?? this.defaultName();
    const cluster = clusterName ? this.byName.get(clusterName) : undefined;
    if (!cluster) {
      throw new NotFoundError(
        clusterName
          ? `No cluster named "${clusterName}" is configured`
          : 'No Kubernetes cluster is configured (kubernetes.clusterLocatorMethods)',
      );
    }
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: cluster.name,
          server: cluster.url,
          caData: cluster.caData,
          skipTLSVerify: cluster.skipTLSVerify,
        },
      ],
      users: [
        {
          name: 'assistant',
          token: cluster.serviceAccountToken,
          ...(options.impersonateUser
            ? { impersonateUser: options.impersonateUser }
            : {}),
        },
      ],
      contexts: [
        { name: cluster.name, cluster: cluster.name, user: 'assistant' },
      ],
      currentContext: cluster.name,
    });
    return kc;
  }
}
