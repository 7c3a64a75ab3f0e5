import { KUBECHART_TENANT_LABEL } from '@kubechart/plugin-kubechart-common';
import { KubeObject } from '@kubechart/plugin-kubechart-node';
import { KubeClient } from '../lib/KubeClient';

/** The release a record belongs to, as its objects' ownership tells it. */
export type ReleaseOwner = {
  release: string;
  namespace: string;
  /** The release's tenant, whose label its cluster-scoped objects carry; none outside a tenant. */
  tenant?: string;
};

/**
 * Why helm may not act on the objects a release record names for `owner`, one line per object; empty
 * when it may. The record is a Secret in the release's namespace, which its admins and workloads may
 * write, and helm deletes (uninstall, or an upgrade that no longer renders them) and updates what it
 * names without asking whose it is. So each object's kind must be served; a namespaced one must be in
 * the release's namespace; and each one that exists (each Namespace, existing or not) must carry this
 * release's helm ownership annotations, a cluster-scoped one also the release's tenant label. A
 * refusal names the object, not whose it is (the engine reads that, the caller may not).
 * `isNamespaced` tells a kind's scope (undefined: not served); `client` reads the live objects.
 */
export async function releaseOwnershipProblems(
  client: KubeClient,
  isNamespaced: (apiVersion: string, kind: string) => boolean | undefined,
  owner: ReleaseOwner,
  objects: KubeObject[],
): Promise<string[]> {
  const { release, namespace, tenant } = owner;
  const problems: string[] = [];
  for (const o of objects) {
    const name = o.metadata?.name;
    const what = `${o.kind}/${name ?? '(unnamed)'}`;
    const scope = isNamespaced(String(o.apiVersion), String(o.kind));
    if (!name || scope === undefined) {
      problems.push(
        `${what}: ${
          name ? 'a kind the cluster does not serve' : 'it has no name'
        }`,
      );
      continue;
    }
    if (scope && (o.metadata?.namespace ?? namespace) !== namespace) {
      problems.push(
        `${what}: in namespace ${o.metadata?.namespace}, not ${namespace}`,
      );
      continue;
    }
    const live = await client.read<KubeObject>({
      apiVersion: String(o.apiVersion),
      kind: String(o.kind),
      metadata: scope ? { name, namespace } : { name },
    });
    // A Namespace is refused whether or not it exists, so a refusal does not tell which exist.
    if (!live && o.kind !== 'Namespace') continue; // helm skips what is gone
    const annotations = live?.metadata?.annotations ?? {};
    const labels = live?.metadata?.labels ?? {};
    if (
      annotations['meta.helm.sh/release-name'] !== release ||
      annotations['meta.helm.sh/release-namespace'] !== namespace ||
      (!scope && labels[KUBECHART_TENANT_LABEL] !== tenant)
    ) {
      // Read with the engine's identity: whose it is may be another tenant's to know.
      problems.push(
        `${what}: it is not release ${release}'s${
          scope ? '' : ` (${tenant ? `tenant ${tenant}` : 'no tenant'})`
        }`,
      );
    }
  }
  return problems;
}
