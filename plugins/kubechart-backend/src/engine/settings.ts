import { Config } from '@backstage/config';
import { resolve as resolvePath } from 'node:path';
import {
  IgnoredAddedField,
  readIgnoredAddedFields,
} from '../drift/fieldOwners';
import { parseQuantity } from '../lib/quantity';

/** `kubechart.helm.helm3HookInputs`: which templates of a chart helm 3 installs are read for calls that can change a hook between the check and the install. */
export type Helm3HookInputs = 'any-template' | 'hook-templates';

/** Engine settings read from `kubechart.*` config (see config.d.ts for every key and default). */
export type EngineSettings = {
  chartDirectories: string[];
  /** Hosts or URLs remote charts may come from (https:// and oci:// only). */
  allowedRepositories: string[];
  /**
   * On helm 3, which templates may not call a function whose output can change between two renders:
   * every one (`any-template`, default) or only those that render or spell hooks (`hook-templates`).
   */
  helm3HookInputs: Helm3HookInputs;
  waitTimeoutSeconds: number;
  waitPollIntervalMs: number;
  /** `kubechart.helm.timeoutSeconds` (helm's own default, 300): how long an uninstall the engine runs may take. */
  helmTimeoutSeconds: number;
  failFastSeconds: number;
  maxTenants: number;
  /** Live tenants one owner (a user or group) may have; more are refused unless the caller is a tenant admin. */
  maxTenantsPerOwner: number;
  runsPerUserPerMinute: number;
  /**
   * Runs one user may have active (pending or running) at once, across every backend instance; more
   * get HTTP 429. Below the helm pool's size, one user cannot hold every helm process.
   */
  runsPerUserAtOnce: number;
  /** Approval requests one user may have open (awaiting decisions or approved, not started) at once. */
  openApprovalsPerUser: number;
  /** Event streams (`GET /runs/:id/events?follow=true`) one caller may hold open at once. */
  followStreamsPerCaller: number;
  /** Event streams this backend instance holds open at once, whoever holds them; more get HTTP 503. */
  maxOpenStreams: number;
  /** Previews and policy checks (`POST /runs/preview`, `POST /policy/check`) one caller may have under way at once. */
  previewsPerUserAtOnce: number;
  /** Previews and policy checks one caller may ask for per minute. */
  previewsPerUserPerMinute: number;
  /** Refused attempts of one caller recorded in the audit trail one by one per minute; the rest are counted. */
  refusedAttemptsAuditedPerMinute: number;
  staleAfterSeconds: number;
  heartbeatIntervalMs: number;
  /** How long tenant delete waits for the namespace to be gone (Terminating until its contents are deleted). */
  namespaceDeletionTimeoutSeconds: number;
  /**
   * How long after its last heartbeat a reconciled run keeps its locks, so that a backend that was only
   * late (not dead) stops its work before another run starts on the same target.
   */
  releaseLocksAfterSeconds: number;
  /**
   * The longest a recorded run (`POST /runs/record`) may stay active, in seconds: the stale-run check
   * ends one recorded longer ago as `failed`, releasing its locks, however often its action reports.
   */
  recordedRunMaxSeconds: number;
  ingressNamespace: string;
  defaultQuota: Record<string, string>;
  /**
   * The most of each resource a tenant's quota may ask for without `kubechart.tenants.admin`
   * (`tenant.maxQuota`); a resource it does not name may not be raised above `defaultQuota`.
   */
  maxQuota: Record<string, string>;
  defaultLimits: Record<string, string>;
  defaultRequests: Record<string, string>;
  /**
   * The deployer's name: each namespace's deployer is the ServiceAccount `<deployerServiceAccount>-<namespace>`
   * in {@link EngineSettings.deployerNamespace}, bound by a RoleBinding of this name in the namespace;
   * tenant-scoped helm and apply calls impersonate it.
   */
  deployerServiceAccount: string;
  /**
   * The namespace holding every deployer ServiceAccount (`tenant.deployer.namespace`), which only the
   * engine writes: pods and users of a tenant namespace cannot use a ServiceAccount of another namespace.
   */
  deployerNamespace: string;
  /** The ClusterRole the deployer is bound to in its namespace (RoleBinding); the built-in `admin` by default. */
  deployerClusterRole: string;
  /**
   * The Pod Security Standard the API server enforces in tenant namespaces (their
   * `pod-security.kubernetes.io/enforce` label); undefined leaves the cluster's default.
   */
  podSecurityEnforce?: 'baseline' | 'restricted' | 'privileged';
  /** Per cluster: cluster-scoped kinds (`<group>/<Kind>`, `""` for core) runs may apply with `kubechart.runs.cluster-scoped`. */
  allowedClusterScopedKinds: Record<string, string[]>;
  /** Per cluster: namespaces that are not tenants, with the entity ref of their owner. */
  namespaceOwners: Record<string, Record<string, string>>;
  /**
   * Fields other field managers may add without it being drift (`kubechart.drift.ignoreAddedFields`,
   * default `DEFAULT_IGNORED_ADDED_FIELDS`): drift does not report them, and a tenant run keeps
   * such labels and annotations on the objects it owns whole. Undefined: the default.
   */
  driftIgnoreAddedFields?: readonly IgnoredAddedField[];
  /**
   * Whether the engine checks each run's scope before applying. Always true from config; tests switch
   * it off to show that the API server (through impersonation) refuses the same objects.
   */
  enforceRunScope: boolean;
};

// Read whole: resource names such as `requests.cpu` hold dots, which `Config.get(key)` reads as a path.
const stringMap = (c: Config | undefined, fallback: Record<string, string>) => {
  if (!c) return fallback;
  return Object.fromEntries(
    Object.entries(c.get<Record<string, unknown>>()).map(([k, v]) => [
      k,
      String(v),
    ]),
  );
};

/** Throws at start-up when a quota setting holds something that is not a Kubernetes quantity. */
function checkQuantities(key: string, map: Record<string, string>) {
  for (const [resource, value] of Object.entries(map)) {
    if (!parseQuantity(value))
      throw new Error(
        `kubechart.${key}.${resource} must be a Kubernetes quantity (such as 500m, 2, 4Gi); got ${JSON.stringify(
          value,
        )}`,
      );
  }
  return map;
}

/** Throws at start-up when a count setting is not a whole number of at least 1. */
function positiveInteger(key: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 1000)
    throw new Error(
      `kubechart.${key} must be a whole number from 1 to 1000; got ${value}`,
    );
  return value;
}

/** Throws at start-up when a setting is not a whole number of at least 1. */
function atLeastOne(key: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(
      `kubechart.${key} must be a whole number of at least 1; got ${value}`,
    );
  return value;
}

/** Throws at start-up when a duration setting is not a whole number of seconds of at least 1. */
function positiveSeconds(key: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(
      `kubechart.${key} must be a whole number of seconds of at least 1; got ${value}`,
    );
  return value;
}

/** Reads engine settings with their defaults. */
export function readEngineSettings(config: Config): EngineSettings {
  const k = config.getOptionalConfig('kubechart');
  return {
    // Relative directories are relative to the backend's working directory; resolved once here so
    // that the chart path helm gets is absolute (chart references may not contain "..").
    chartDirectories: (
      k?.getOptionalStringArray('helm.chartDirectories') ?? []
    ).map(d => resolvePath(d)),
    allowedRepositories:
      k?.getOptionalStringArray('helm.allowedRepositories') ?? [],
    helm3HookInputs: readHelm3HookInputs(
      k?.getOptionalString('helm.helm3HookInputs'),
    ),
    waitTimeoutSeconds: k?.getOptionalNumber('wait.timeoutSeconds') ?? 600,
    waitPollIntervalMs: k?.getOptionalNumber('wait.pollIntervalMs') ?? 2000,
    helmTimeoutSeconds: k?.getOptionalNumber('helm.timeoutSeconds') ?? 300,
    failFastSeconds: k?.getOptionalNumber('wait.failFastSeconds') ?? 30,
    maxTenants: k?.getOptionalNumber('limits.maxTenants') ?? 100,
    maxTenantsPerOwner: k?.getOptionalNumber('limits.maxTenantsPerOwner') ?? 10,
    runsPerUserPerMinute:
      k?.getOptionalNumber('limits.runsPerUserPerMinute') ?? 10,
    runsPerUserAtOnce: positiveInteger(
      'limits.runsPerUserAtOnce',
      k?.getOptionalNumber('limits.runsPerUserAtOnce') ?? 3,
    ),
    openApprovalsPerUser: positiveInteger(
      'limits.openApprovalsPerUser',
      k?.getOptionalNumber('limits.openApprovalsPerUser') ?? 10,
    ),
    followStreamsPerCaller:
      k?.getOptionalNumber('limits.followStreamsPerCaller') ?? 10,
    maxOpenStreams: atLeastOne(
      'limits.maxOpenStreams',
      k?.getOptionalNumber('limits.maxOpenStreams') ?? 500,
    ),
    previewsPerUserAtOnce:
      k?.getOptionalNumber('limits.previewsPerUserAtOnce') ?? 2,
    previewsPerUserPerMinute:
      k?.getOptionalNumber('limits.previewsPerUserPerMinute') ?? 30,
    refusedAttemptsAuditedPerMinute:
      k?.getOptionalNumber('limits.refusedAttemptsAuditedPerMinute') ?? 30,
    staleAfterSeconds:
      k?.getOptionalNumber('recovery.staleAfterSeconds') ?? 120,
    heartbeatIntervalMs:
      (k?.getOptionalNumber('recovery.heartbeatSeconds') ?? 15) * 1000,
    namespaceDeletionTimeoutSeconds:
      k?.getOptionalNumber('wait.namespaceDeletionTimeoutSeconds') ?? 300,
    releaseLocksAfterSeconds:
      k?.getOptionalNumber('recovery.releaseLocksAfterSeconds') ?? 300,
    recordedRunMaxSeconds: positiveSeconds(
      'recovery.recordedRunMaxSeconds',
      k?.getOptionalNumber('recovery.recordedRunMaxSeconds') ?? 3600,
    ),
    ingressNamespace:
      k?.getOptionalString('tenant.ingressNamespace') ?? 'ingress-nginx',
    defaultQuota: checkQuantities(
      'tenant.quota',
      stringMap(k?.getOptionalConfig('tenant.quota'), {
        'requests.cpu': '4',
        'requests.memory': '8Gi',
        'limits.cpu': '8',
        'limits.memory': '16Gi',
        pods: '50',
      }),
    ),
    // The largest preset the scaffolder's tenant template offers.
    maxQuota: checkQuantities(
      'tenant.maxQuota',
      stringMap(k?.getOptionalConfig('tenant.maxQuota'), {
        'requests.cpu': '16',
        'requests.memory': '32Gi',
        'limits.cpu': '32',
        'limits.memory': '64Gi',
        pods: '200',
      }),
    ),
    defaultLimits: stringMap(k?.getOptionalConfig('tenant.defaultLimits'), {
      cpu: '500m',
      memory: '512Mi',
    }),
    defaultRequests: stringMap(k?.getOptionalConfig('tenant.defaultRequests'), {
      cpu: '100m',
      memory: '128Mi',
    }),
    deployerServiceAccount:
      k?.getOptionalString('tenant.deployer.serviceAccount') ??
      'kubechart-deployer',
    deployerNamespace: readDeployerNamespace(
      k?.getOptionalString('tenant.deployer.namespace'),
      readClusterSettings(k?.getOptionalConfig('clusters')).namespaceOwners,
    ),
    deployerClusterRole:
      k?.getOptionalString('tenant.deployer.clusterRole') ?? 'admin',
    podSecurityEnforce: readPodSecurityEnforce(
      k?.getOptionalString('tenant.podSecurity.enforce'),
    ),
    ...readClusterSettings(k?.getOptionalConfig('clusters')),
    ...readDriftIgnoreAddedFields(k?.getOptionalConfig('drift')),
    enforceRunScope: true,
  };
}

/** `kubechart.clusters.<name>.*`: what platform teams allow beyond tenant namespaces, per cluster. */
function readClusterSettings(clusters: Config | undefined) {
  const allowedClusterScopedKinds: Record<string, string[]> = {};
  const namespaceOwners: Record<string, Record<string, string>> = {};
  for (const name of clusters?.keys() ?? []) {
    const c = clusters!.getConfig(name);
    allowedClusterScopedKinds[name] =
      c.getOptionalStringArray('allowedClusterScopedKinds') ?? [];
    const owners = c.getOptionalConfig('namespaces');
    namespaceOwners[name] = Object.fromEntries(
      (owners?.keys() ?? []).map(ns => [
        ns,
        owners!.getConfig(ns).getString('owner'),
      ]),
    );
  }
  return { allowedClusterScopedKinds, namespaceOwners };
}

/**
 * `kubechart.drift.ignoreAddedFields` (replaces the default whole when set). Throws at start-up,
 * saying which, for a path that cannot be read.
 */
function readDriftIgnoreAddedFields(
  drift: Config | undefined,
): Pick<EngineSettings, 'driftIgnoreAddedFields'> {
  if (!drift?.has('ignoreAddedFields')) return {};
  const entries = drift.getConfigArray('ignoreAddedFields').map(c => ({
    ...(c.has('manager') ? { manager: c.getString('manager') } : {}),
    path: c.getString('path'),
  }));
  readIgnoredAddedFields(entries);
  return { driftIgnoreAddedFields: entries };
}

/** `kubechart.tenant.podSecurity.enforce`: `baseline` by default; `none` sets no label. */
function readPodSecurityEnforce(
  value: string | undefined,
): EngineSettings['podSecurityEnforce'] {
  const level = value ?? 'baseline';
  if (level === 'none') return undefined;
  if (level === 'baseline' || level === 'restricted' || level === 'privileged')
    return level;
  throw new Error(
    `Invalid kubechart.tenant.podSecurity.enforce "${level}": use baseline, restricted, privileged or none`,
  );
}

/**
 * `kubechart.tenant.deployer.namespace`: `kubechart-deployers` by default; a namespace name of its own:
 * not a tenant namespace (`tenant-*`), not one assigned in `kubechart.clusters.*.namespaces`, and not
 * `default` or `kube-*`, since runs label it as KubeChart's and tenants must not reach it.
 */
function readDeployerNamespace(
  value: string | undefined,
  namespaceOwners: Record<string, Record<string, string>>,
): string {
  const name = value ?? 'kubechart-deployers';
  const invalid = `Invalid kubechart.tenant.deployer.namespace "${name}"`;
  if (!(name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))) {
    throw new Error(
      `${invalid}: a namespace name (lower-case letters, digits and '-', at most 63 characters)`,
    );
  }
  if (name.startsWith('tenant-')) {
    throw new Error(`${invalid}: tenant namespaces start with tenant-`);
  }
  if (name === 'default' || name.startsWith('kube-')) {
    throw new Error(
      `${invalid}: default and kube-* are the cluster's own namespaces`,
    );
  }
  for (const [cluster, owners] of Object.entries(namespaceOwners)) {
    if (Object.prototype.hasOwnProperty.call(owners, name)) {
      throw new Error(
        `${invalid}: assigned in kubechart.clusters.${cluster}.namespaces`,
      );
    }
  }
  return name;
}

/** `kubechart.helm.helm3HookInputs`: `any-template` by default. */
function readHelm3HookInputs(value: string | undefined): Helm3HookInputs {
  const mode = value ?? 'any-template';
  if (mode === 'any-template' || mode === 'hook-templates') return mode;
  throw new Error(
    `Invalid kubechart.helm.helm3HookInputs "${mode}": use any-template or hook-templates`,
  );
}
