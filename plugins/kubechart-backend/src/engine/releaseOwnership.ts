import {
  KUBECHART_TENANT_LABEL,
  PolicyReport,
} from '@kubechart/plugin-kubechart-common';
import {
  KubeObject,
  effectiveNamespace,
} from '@kubechart/plugin-kubechart-node';
import { KubeClient } from '../lib/KubeClient';

/** The release a record belongs to, as its objects' ownership tells it. */
export type ReleaseOwner = {
  release: string;
  namespace: string;
  /** The release's tenant, whose label its cluster-scoped objects carry; none outside a tenant. */
  tenant?: string;
};

/**
 * How the live objects a check read are told apart: group, kind, namespace (none for a cluster-scoped
 * object) and name. Two versions of one group name the same object.
 */
export function liveObjectKey(
  apiVersion: string,
  kind: string,
  namespace: string | undefined,
  name: string,
): string {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return JSON.stringify([group, kind, namespace ?? '', name]);
}

/** What a check of a release record found: why not (see the checks), and the uid of each object it read that exists. */
export type CheckedObjects = {
  problems: string[];
  /** By {@link liveObjectKey}: the uid of each object the check read and found, as it read it. */
  uids: Map<string, string>;
};

/** Why helm may not act on the objects a release record names (see {@link checkReleaseOwnership}). */
export async function releaseOwnershipProblems(
  client: KubeClient,
  isNamespaced: (apiVersion: string, kind: string) => boolean | undefined,
  owner: ReleaseOwner,
  objects: KubeObject[],
): Promise<string[]> {
  return (await checkReleaseOwnership(client, isNamespaced, owner, objects))
    .problems;
}

/**
 * Why helm may not act on the objects a release record names for `owner`, one line per object; empty
 * when it may. The record is a Secret in the release's namespace, which its admins and workloads may
 * write, and helm deletes (uninstall, or an upgrade that no longer renders them) and updates what it
 * names without asking whose it is. So each object's kind must be served; a namespaced one must be in
 * the release's namespace; and each one that exists (each Namespace, existing or not) must carry this
 * release's helm ownership annotations, a cluster-scoped one also the release's tenant label. A
 * refusal names the object, not whose it is (the engine reads that, the caller may not).
 * `isNamespaced` tells a kind's scope (undefined: not served); `client` reads the live objects. With
 * the uid of each object it read that exists: an uninstall deletes only those, each only while it is
 * still the object checked (a delete precondition on its uid).
 */
export async function checkReleaseOwnership(
  client: KubeClient,
  isNamespaced: (apiVersion: string, kind: string) => boolean | undefined,
  owner: ReleaseOwner,
  objects: KubeObject[],
): Promise<CheckedObjects> {
  const { release, namespace, tenant } = owner;
  const problems: string[] = [];
  const uids = new Map<string, string>();
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
    if (scope && effectiveNamespace(o, namespace) !== namespace) {
      problems.push(
        `${what}: in namespace ${effectiveNamespace(
          o,
          namespace,
        )}, not ${namespace}`,
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
    const annotated =
      annotations['meta.helm.sh/release-name'] === release &&
      annotations['meta.helm.sh/release-namespace'] === namespace;
    if (!annotated || (!scope && labels[KUBECHART_TENANT_LABEL] !== tenant)) {
      // Read with the engine's identity: whose it is may be another tenant's to know. A cluster-scoped
      // object of this release's that lacks its tenant label (as one an earlier KubeChart installed,
      // before it labelled a release's objects) is told apart, without the label it has, so the
      // platform team knows to adopt it: only a cluster admin may label it, never the run.
      problems.push(
        `${what}: it is not release ${release}'s${
          scope ? '' : ` (${tenant ? `tenant ${tenant}` : 'no tenant'})`
        }${
          annotated && tenant
            ? `; it carries this release's helm annotations but not the label ${KUBECHART_TENANT_LABEL}=${tenant}, as objects an earlier KubeChart installed may: a cluster admin who confirms it is this tenant's labels it so, then the run is tried again`
            : ''
        }`,
      );
    } else if (typeof live?.metadata?.uid === 'string') {
      uids.set(
        liveObjectKey(
          String(o.apiVersion),
          String(o.kind),
          scope ? namespace : undefined,
          name,
        ),
        live.metadata.uid,
      );
    }
  }
  return { problems, uids };
}

/** The uninstall events of helm's hooks. */
const DELETE_EVENTS = ['pre-delete', 'post-delete'];

/**
 * Whether helm runs a release record's hook when it uninstalls the release: the record's `events`
 * (what helm reads) or the manifest's `helm.sh/hook` annotation (`object`, one of the hook's
 * objects) name pre-delete or post-delete, in any case.
 */
export function isDeleteHook(
  hook: { events: string[] },
  object: KubeObject,
): boolean {
  const annotated = String(
    object.metadata?.annotations?.['helm.sh/hook'] ?? '',
  ).split(',');
  return [...hook.events, ...annotated].some(e =>
    DELETE_EVENTS.includes(e.trim().toLowerCase()),
  );
}

/**
 * Why helm may not run a release record's delete hooks (`hooks`, each hook's objects, see
 * {@link isDeleteHook}) in `namespace`, one line per object; empty when it may. helm creates a hook's
 * objects when it uninstalls, first deleting an object of the same kind and name (its default
 * `before-hook-creation`), so a hook in a forged record could replace the tenant's default-deny
 * NetworkPolicy or another release's object. Each must be of a served, namespaced kind, in the
 * release's namespace, and an object of its kind and name that exists must itself be a helm hook
 * (carry `helm.sh/hook`). A refusal names the object, not whose it is. With the uid of each such
 * object that exists, as read: a hook's `before-hook-creation` deletes only that object.
 */
export async function checkDeleteHooks(
  client: KubeClient,
  isNamespaced: (apiVersion: string, kind: string) => boolean | undefined,
  namespace: string,
  hooks: KubeObject[],
): Promise<CheckedObjects> {
  const problems: string[] = [];
  const uids = new Map<string, string>();
  for (const o of hooks) {
    const name = o.metadata?.name;
    const what = `${o.kind}/${name ?? '(unnamed)'}: a delete hook`;
    const scope = isNamespaced(String(o.apiVersion), String(o.kind));
    if (!name || scope === undefined) {
      problems.push(
        `${what} ${
          name ? 'of a kind the cluster does not serve' : 'with no name'
        }`,
      );
    } else if (!scope) {
      problems.push(`${what} of a cluster-scoped kind`);
    } else if (effectiveNamespace(o, namespace) !== namespace) {
      problems.push(
        `${what} in namespace ${effectiveNamespace(
          o,
          namespace,
        )}, not ${namespace}`,
      );
    } else {
      const live = await client.read<KubeObject>({
        apiVersion: String(o.apiVersion),
        kind: String(o.kind),
        metadata: { name, namespace },
      });
      if (live && live.metadata?.annotations?.['helm.sh/hook'] === undefined) {
        problems.push(
          `${what}, and an object of its kind and name that is no helm hook exists, which helm would delete to create the hook`,
        );
      } else if (typeof live?.metadata?.uid === 'string') {
        uids.set(
          liveObjectKey(String(o.apiVersion), String(o.kind), namespace, name),
          live.metadata.uid,
        );
      }
    }
  }
  return { problems, uids };
}

/** Delete hook kinds refused whatever the chart policy says: it allows a chart's own, not a record's. */
const REFUSED_DELETE_HOOK_KINDS: Record<string, string[]> = {
  'rbac.authorization.k8s.io': ['Role', 'RoleBinding'],
  'networking.k8s.io': ['NetworkPolicy'],
};

/**
 * Why helm may not create a release record's delete hooks as the namespace's deployer, beyond
 * {@link checkDeleteHooks}: each result of the chart policy (`report`, the hooks checked as a
 * chart's rendered objects are for the namespace) that blocks, and each hook of a kind that grants
 * rights or opens the namespace's network (Role, RoleBinding, NetworkPolicy), which the policy allows a
 * chart but which a record any `edit` user may write must not carry: helm would create them with the
 * deployer's rights. One line per object and rule.
 */
export function deleteHookPolicyProblems(
  hooks: KubeObject[],
  report: PolicyReport,
): string[] {
  const problems: string[] = [];
  for (const o of hooks) {
    const apiVersion = String(o.apiVersion ?? '');
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    if (REFUSED_DELETE_HOOK_KINDS[group]?.includes(String(o.kind))) {
      problems.push(
        `${o.kind}/${
          o.metadata?.name ?? '(unnamed)'
        }: a delete hook of a kind that grants rights or opens the network, which helm would create as the namespace's deployer`,
      );
    }
  }
  if (report.blocking) {
    for (const r of report.results) {
      if (r.passed || r.exempt || r.severity !== 'error') continue;
      problems.push(
        `${r.object.kind}/${r.object.name}: a delete hook the chart policy refuses [${r.ruleId}]: ${r.message}`,
      );
    }
  }
  return problems;
}
