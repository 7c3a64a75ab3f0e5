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
  KubeObject,
  MAX_POLICY_OBJECTS,
  parseManifestsInTurns,
  redactValues,
  validateChartRef,
  validateChartVersion,
  validateNamespace,
  validateReleaseName,
  validateRepoUrl,
} from '@kubechart/plugin-kubechart-node';
import { declaredSecretValues, redactDeclaredSecrets } from './declaredSecrets';

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

/** Throws InputError (400) naming the known clusters unless `cluster` is one of them. */
export function validateCluster(clusters: ClusterRegistry, cluster: string) {
  if (!clusters.has(cluster)) {
    const known = clusters.list().map(c => c.name);
    throw new InputError(
      `Unknown cluster "${cluster}"; known clusters: ${
        known.join(', ') || 'none'
      }`,
    );
  }
}

// C0 and C1 control characters (U+0000 among them) and lone UTF-16 surrogates. Each a single
// character class: linear in the length of the text.
const NOT_IN_A_NAME =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses (400, before any run is recorded) an object of a manifests run whose name, namespace,
 * kind or apiVersion holds a control character or a lone surrogate. Kubernetes accepts none in
 * them, and such a name would reach what the run records: a NUL in a namespace the run's scope
 * check names in its failure reason is text PostgreSQL refuses to store.
 */
function checkObjectNames(o: KubeObject, index: number) {
  const fields: Array<[string, unknown]> = [
    ['apiVersion', o.apiVersion],
    ['kind', o.kind],
    ['metadata.name', o.metadata?.name],
    ['metadata.generateName', o.metadata?.generateName],
    ['metadata.namespace', o.metadata?.namespace],
  ];
  for (const [field, value] of fields) {
    if (typeof value !== 'string') continue;
    const found = NOT_IN_A_NAME.exec(value);
    if (!found) continue;
    const code = found[0]
      .charCodeAt(0)
      .toString(16)
      .toUpperCase()
      .padStart(4, '0');
    const what =
      found[0] >= '\uD800' && found[0] <= '\uDFFF'
        ? 'the lone surrogate'
        : 'the control character';
    // Escaped (JSON), and cut: the message is stored with the refusal in the audit trail.
    const shown = JSON.stringify(
      value.length > 100 ? `${value.slice(0, 100)}…` : value,
    );
    throw new InputError(
      `Manifest object ${
        index + 1
      }: ${field} ${shown} holds ${what} U+${code}; Kubernetes names, namespaces and kinds never do`,
    );
  }
}

/**
 * Checks a request before anything is created: tenant code, cluster, release names, chart
 * references, repositories, manifests, and that it targets no namespace other than the deployers'
 * (`deployerNamespace`, `kubechart.tenant.deployer.namespace`). Throws InputError with a clear message.
 */
export async function planRun(
  request: CreateRunRequest,
  clusters: ClusterRegistry,
  deployerNamespace: string,
): Promise<RunPlan> {
  const plan = await planRequest(request, clusters);
  if (plan.target.namespace === deployerNamespace) {
    throw new InputError(
      `Namespace ${deployerNamespace} holds KubeChart's deployers (kubechart.tenant.deployer.namespace); no run deploys into it, nothing was changed`,
    );
  }
  return plan;
}

async function planRequest(
  request: CreateRunRequest,
  clusters: ClusterRegistry,
): Promise<RunPlan> {
  validateCluster(clusters, request.cluster);
  const { cluster } = request;
  // The manifests of a manifests run are not kept in its input (their objects are named instead):
  // not walked for secrets here.
  const input = redactValues(
    request.kind === 'manifests'
      ? { ...request, manifests: undefined }
      : { ...request },
  ) as Record<string, unknown>;
  delete input.onBehalfOf;
  // The texts the caller declared secret are not kept, and shown as `***` where the values held them.
  delete input.secretValues;
  // Only in the values, which hold them: nothing else of the input is hidden by the field.
  const declared = declaredSecretValues(request);
  const valuesKept = (r: ReleaseSpec) =>
    r.values === undefined
      ? r
      : { ...r, values: redactDeclaredSecrets(r.values, declared) };
  if (request.kind === 'chart')
    input.release = valuesKept(input.release as ReleaseSpec);
  if (request.kind === 'tenant')
    input.releases = (input.releases as ReleaseSpec[]).map(valuesKept);
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
      // What a policy check judges: more objects are refused (400) before anything is checked.
      const objects = await parseManifestsInTurns(request.manifests, {
        maxObjects: MAX_POLICY_OBJECTS,
      });
      if (objects.length === 0)
        throw new InputError('manifests contain no objects');
      objects.forEach((o, i) => {
        if (!o.apiVersion || !o.kind || !o.metadata?.name) {
          throw new InputError(
            'Every manifest needs apiVersion, kind and metadata.name',
          );
        }
        checkObjectNames(o, i);
        // An object in another namespace is refused by the run's scope check (rule run-scope), which
        // records the refusal in the run's history.
      });
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
