import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { withDeadline } from '@kubechart/plugin-audit-log-common';

/**
 * Annotation of a Namespace object naming the catalog entity it is assigned to (KubeChart writes it
 * on the tenant namespaces it creates). Namespaces are cluster-scoped, so a deployer cannot set it.
 */
export const NAMESPACE_OWNER_ANNOTATION = 'kubechart.io/owner';

const CONFIG_KEY = 'kubeAssistant.namespaceOwners';
const READ_TIMEOUT_MS = 2000;

/**
 * An owner ref as compared: kind `group` and namespace `default` when left out (as `spec.owner`
 * reads), lower case (the catalog compares refs case-insensitively). Undefined when not a ref.
 */
export function normalizeOwnerRef(ref: string): string | undefined {
  try {
    return stringifyEntityRef(
      parseEntityRef(ref.trim(), {
        defaultKind: 'group',
        defaultNamespace: 'default',
      }),
    ).toLocaleLowerCase('en-US');
  } catch {
    return undefined;
  }
}

/** What is asked: may `owner`'s entity take `namespace` on `cluster` as its scope. */
export type NamespaceClaim = {
  entityRef: string;
  owner: string;
  cluster: string;
  namespace: string;
};

/**
 * Which namespaces the platform assigned to which owner: `kubeAssistant.namespaceOwners` (by hand),
 * else the Namespace object's `kubechart.io/owner` annotation, read with the assistant's own
 * identity. An entity's `backstage.io/kubernetes-namespace` is written by whoever registers the
 * entity, so it is a scope only when one of these assigns that namespace to the entity's owner.
 */
export class NamespaceOwners {
  /** Reads the config, refusing at start-up an owner that is not an entity ref. */
  static fromConfig(config: Config): NamespaceOwners {
    const raw = config.getOptional(CONFIG_KEY);
    const assigned = new Map<string, Map<string, string>>();
    if (raw === undefined) return new NamespaceOwners(assigned);
    const isMap = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isMap(raw)) {
      throw new Error(
        `${CONFIG_KEY} must map cluster names to { namespace: owner entity ref }`,
      );
    }
    for (const [cluster, namespaces] of Object.entries(raw)) {
      if (!isMap(namespaces)) {
        throw new Error(
          `${CONFIG_KEY}.${cluster} must map namespace names to owner entity refs`,
        );
      }
      const owners = new Map<string, string>();
      for (const [namespace, owner] of Object.entries(namespaces)) {
        const ref = typeof owner === 'string' ? normalizeOwnerRef(owner) : '';
        if (!ref) {
          throw new Error(
            `${CONFIG_KEY}.${cluster}.${namespace} must be an owner entity ref such as group:default/team-a; got ${JSON.stringify(
              owner,
            )}`,
          );
        }
        owners.set(namespace, ref);
      }
      assigned.set(cluster, owners);
    }
    return new NamespaceOwners(assigned);
  }

  constructor(
    private readonly assigned: Map<string, Map<string, string>> = new Map(),
  ) {}

  /**
   * Why the claimed namespace is not the owner's, or undefined when the platform assigned it to
   * them. A namespace named in config is decided by the config alone; otherwise its Namespace
   * object is read through `kubeConfig` (which may throw), and anything that stops the read is a
   * refusal with its reason.
   */
  async refusal(
    claim: NamespaceClaim,
    kubeConfig: () => KubeConfig,
  ): Promise<string | undefined> {
    const { entityRef, owner, cluster, namespace } = claim;
    const wanted = normalizeOwnerRef(owner);
    const rule = `without the kube-assistant.cluster-wide permission the assistant works only in a namespace the platform assigned to the entity's owner.`;
    const notAssigned = (what: string) =>
      `${what} to ${owner}, the owner of ${entityRef}: ${rule} A platform team assigns it by annotating the Namespace object with ${NAMESPACE_OWNER_ANNOTATION}: ${owner} (KubeChart does so for the namespaces it creates) or under ${CONFIG_KEY}.${cluster}.`;

    const configured = this.assigned.get(cluster)?.get(namespace);
    if (configured !== undefined) {
      return wanted && configured === wanted
        ? undefined
        : notAssigned(
            `Namespace ${namespace} on cluster ${cluster} is not assigned`,
          );
    }

    let annotation: string | undefined;
    try {
      const core = kubeConfig().makeApiClient(CoreV1Api);
      const object = await withDeadline(
        core.readNamespace({ name: namespace }),
        READ_TIMEOUT_MS,
        () => {
          throw new Error(`no answer within ${READ_TIMEOUT_MS / 1000} s`);
        },
      );
      annotation = object.metadata?.annotations?.[NAMESPACE_OWNER_ANNOTATION];
    } catch (error) {
      // A namespace that does not exist is refused as one that is not assigned, in the same words:
      // the refusal does not tell whether another tenant's namespace of that name exists.
      if ((error as { code?: unknown }).code === 404) {
        return notAssigned(
          `Namespace ${namespace} on cluster ${cluster} is not assigned`,
        );
      }
      return `The assistant could not read Namespace ${namespace} on cluster ${cluster} to check that it is assigned to ${owner}, the owner of ${entityRef} (${describe(
        error,
      )}), so it does not work there: ${rule} It reads the Namespace with its own service account, which needs get on namespaces.`;
    }
    if (wanted && annotation && normalizeOwnerRef(annotation) === wanted) {
      return undefined;
    }
    return notAssigned(
      `Namespace ${namespace} on cluster ${cluster} is not assigned`,
    );
  }
}

/** A short reason from a client error: the status and the API's message, not the whole body. */
function describe(error: unknown): string {
  const e = error as { code?: unknown; body?: unknown; message?: unknown };
  let message: unknown = e.message;
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // a plain text body
    }
  }
  if (body && typeof body === 'object' && 'message' in body) {
    message = (body as { message: unknown }).message;
  }
  const text = String(message ?? error).slice(0, 200);
  return typeof e.code === 'number' ? `HTTP ${e.code}: ${text}` : text;
}
