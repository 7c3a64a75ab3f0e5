import { InputError } from '@backstage/errors';
import {
  CreateRunRequest,
  ReleaseSpec,
  RunTarget,
  isValidTenantCode,
  tenantNamespace,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterRegistry,
  parseManifests,
  redactValues,
  validateChartRef,
  validateChartVersion,
  validateNamespace,
  validateReleaseName,
  validateRepoUrl,
} from '@kubechart/plugin-kubechart-node';

/** A validated request: what the run acts on and which locks it takes. */
export type RunPlan = {
  target: RunTarget;
  tenant?: string;
  lockKeys: string[];
  /** Input with secrets redacted, to store in history. */
  redactedInput: Record<string, unknown>;
};

const nsKey = (cluster: string, namespace: string) =>
  `ns:${cluster}/${namespace}`;
const relKey = (cluster: string, namespace: string, release: string) =>
  `rel:${cluster}/${namespace}/${release}`;

function validateRelease(r: ReleaseSpec) {
  validateReleaseName(r.name);
  validateChartRef(r.chart);
  if (r.repo !== undefined) validateRepoUrl(r.repo);
  if (r.version !== undefined) validateChartVersion(r.version);
  if (
    r.values !== undefined &&
    (typeof r.values !== 'object' || Array.isArray(r.values))
  ) {
    throw new InputError(`values of release "${r.name}" must be an object`);
  }
}

function validateCluster(clusters: ClusterRegistry, cluster: string) {
  if (!clusters.has(cluster)) {
    const known = clusters.list().map(c => c.name);
    throw new InputError(
      `Unknown cluster "${cluster}"; known clusters: ${
        known.join(', ') || 'none'
      }`,
    );
  }
}

/**
 * Checks a request before anything is created: tenant code, cluster, release names, chart
 * references, repositories, manifests. Throws InputError with a clear message.
 */
export function planRun(
  request: CreateRunRequest,
  clusters: ClusterRegistry,
): RunPlan {
  validateCluster(clusters, request.cluster);
  const { cluster } = request;
  const input = redactValues({ ...request }) as Record<string, unknown>;
  delete input.onBehalfOf;
  // `credentials` lists the names of generated credentials, not their values: keep it readable.
  if (request.kind === 'tenant' && request.credentials)
    input.credentials = [...request.credentials];
  switch (request.kind) {
    case 'tenant': {
      if (!isValidTenantCode(request.tenant)) {
        throw new InputError(
          `Invalid tenant code "${request.tenant}": use 2–40 lowercase letters, digits or "-", starting and ending with a letter or digit`,
        );
      }
      const namespace = tenantNamespace(request.tenant);
      const names = new Set<string>();
      for (const r of request.releases) {
        validateRelease(r);
        if (names.has(r.name))
          throw new InputError(`Release "${r.name}" is listed twice`);
        names.add(r.name);
      }
      for (const c of request.credentials ?? []) {
        if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(c))
          throw new InputError(`Invalid credential name "${c}"`);
      }
      return {
        target: { cluster, namespace },
        tenant: request.tenant,
        lockKeys: [
          nsKey(cluster, namespace),
          ...[...names].map(n => relKey(cluster, namespace, n)),
        ],
        redactedInput: input,
      };
    }
    case 'tenant-delete': {
      if (!isValidTenantCode(request.tenant))
        throw new InputError(`Invalid tenant code "${request.tenant}"`);
      const namespace = tenantNamespace(request.tenant);
      return {
        target: { cluster, namespace },
        tenant: request.tenant,
        lockKeys: [nsKey(cluster, namespace)],
        redactedInput: input,
      };
    }
    case 'chart': {
      validateNamespace(request.namespace);
      validateRelease(request.release);
      return {
        target: {
          cluster,
          namespace: request.namespace,
          release: request.release.name,
        },
        lockKeys: [relKey(cluster, request.namespace, request.release.name)],
        redactedInput: input,
      };
    }
    case 'rollback': {
      validateNamespace(request.namespace);
      validateReleaseName(request.release);
      if (!Number.isInteger(request.revision) || request.revision < 1) {
        throw new InputError(`Invalid revision "${request.revision}"`);
      }
      return {
        target: {
          cluster,
          namespace: request.namespace,
          release: request.release,
        },
        lockKeys: [relKey(cluster, request.namespace, request.release)],
        redactedInput: input,
      };
    }
    case 'manifests': {
      validateNamespace(request.namespace);
      const objects = parseManifests(request.manifests);
      if (objects.length === 0)
        throw new InputError('manifests contain no objects');
      for (const o of objects) {
        if (!o.apiVersion || !o.kind || !o.metadata?.name) {
          throw new InputError(
            'Every manifest needs apiVersion, kind and metadata.name',
          );
        }
        // An object in another namespace is refused by the run's scope check (rule run-scope), which
        // records the refusal in the run's history.
      }
      return {
        target: { cluster, namespace: request.namespace },
        lockKeys: [`manifests:${cluster}/${request.namespace}`],
        redactedInput: {
          ...input,
          manifests: undefined,
          objects: objects.map(o => `${o.kind}/${o.metadata?.name}`),
        },
      };
    }
    default:
      throw new InputError(`Unknown run kind "${(request as any).kind}"`);
  }
}
