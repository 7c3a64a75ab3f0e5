/**
 * Kind of a run. `custom` runs are recorded by a platform team's own action through
 * `POST /runs/record` (the engine did not execute them).
 * @public
 */
export type RunKind =
  | 'tenant'
  | 'chart'
  | 'manifests'
  | 'rollback'
  | 'tenant-delete'
  | 'custom';

/** All run kinds. @public */
export const RUN_KINDS: readonly RunKind[] = [
  'tenant',
  'chart',
  'manifests',
  'rollback',
  'tenant-delete',
  'custom',
];

/**
 * Lifecycle of a run: `pending` → `running` → `succeeded` | `failed`. A run against a protected
 * target (`kubechart.approvals`) starts as `awaiting-approval` (its plan rendered, nothing applied);
 * approved, it becomes `pending` — or `approved` first when the requester must submit the plan's
 * input again (it holds secrets the backend does not keep); rejected, expired or withdrawn by its
 * requester, it is `failed`.
 * @public
 */
export type RunStatus =
  | 'awaiting-approval'
  | 'approved'
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed';

/** All run statuses. @public */
export const RUN_STATUSES: readonly RunStatus[] = [
  'awaiting-approval',
  'approved',
  'pending',
  'running',
  'succeeded',
  'failed',
];

/** A Helm release to install. @public */
export type ReleaseSpec = {
  /** Release name, DNS-1123 label (max 53 chars). */
  name: string;
  /** Chart name (`nginx`), a path inside `kubechart.helm.chartRoots`, or an `oci://` reference. */
  chart: string;
  /** Chart repository URL; must be `https://`. */
  repo?: string;
  /** Chart version constraint. */
  version?: string;
  /** Helm values. Keys matching password/token/secret/key/credential are redacted in history. */
  values?: Record<string, unknown>;
};

/** Resource sizing of a tenant namespace. @public */
export type TenantQuota = {
  /** ResourceQuota hard limits, e.g. `{ 'requests.cpu': '4', 'requests.memory': '8Gi', pods: '50' }`. */
  hard?: Record<string, string>;
  /** LimitRange container defaults, e.g. `{ cpu: '500m', memory: '512Mi' }`. */
  defaultLimits?: Record<string, string>;
  /** LimitRange container default requests. */
  defaultRequests?: Record<string, string>;
};

/** Input of a `tenant` run. @public */
export type TenantRunInput = {
  kind: 'tenant';
  cluster: string;
  /** Tenant code: DNS-1123 label, 2–40 characters. The namespace is named after it. */
  tenant: string;
  /** Human-readable name, for the tenant's catalog entity. */
  displayName?: string;
  /** Entity ref of the owning group, for the tenant's catalog entity. */
  owner?: string;
  quota?: TenantQuota;
  releases: ReleaseSpec[];
  /** Names of credentials generated for the tenant (kept only in a Secret, passed to Helm as values under `kubechart.credentials`). */
  credentials?: string[];
  /** Deadline for every workload to become Ready; default from config (10 minutes). */
  waitTimeoutSeconds?: number;
  /**
   * When re-submitting an existing tenant: uninstall releases it has that this spec no longer lists.
   * Default false: such releases are kept, and the run says so.
   */
  pruneReleases?: boolean;
  /**
   * Texts the caller holds as secret (the scaffolder's task secrets) that the releases' values hold,
   * under any key, whole or within a string: removed from all that is kept of the run (input shown as
   * `***`, stored values, manifests, events), and never kept themselves. Only texts the values hold
   * (of 4 characters or more) are honoured.
   */
  secretValues?: string[];
};

/** Input of a `chart` run. @public */
export type ChartRunInput = {
  kind: 'chart';
  cluster: string;
  namespace: string;
  release: ReleaseSpec;
  waitTimeoutSeconds?: number;
  /**
   * Texts the caller holds as secret (the scaffolder's task secrets) that the releases' values hold,
   * under any key, whole or within a string: removed from all that is kept of the run (input shown as
   * `***`, stored values, manifests, events), and never kept themselves. Only texts the values hold
   * (of 4 characters or more) are honoured.
   */
  secretValues?: string[];
};

/** Input of a `manifests` run (server-side apply of multi-document YAML). @public */
export type ManifestsRunInput = {
  kind: 'manifests';
  cluster: string;
  namespace: string;
  /** Multi-document YAML. */
  manifests: string;
  /**
   * Texts the caller holds as secret (the scaffolder's task secrets) that the manifests' objects
   * hold, under any key, whole or within a string: removed from all that is kept of the run (its
   * manifest, an approval's plan, events), and never kept themselves; the cluster receives the
   * manifests as given. Only texts the objects hold (of 4 characters or more) are honoured.
   */
  secretValues?: string[];
};

/** Input of a `rollback` run. @public */
export type RollbackRunInput = {
  kind: 'rollback';
  cluster: string;
  namespace: string;
  release: string;
  /** Helm revision to roll back to. */
  revision: number;
  /**
   * The run (from the release's history) that installed the revision: the rollback then returns only
   * to the release record that run recorded, and is refused (409) when the release's record of
   * `revision` is another one (revision numbers restart after an uninstall). Without it the rollback
   * is bound to the revision number only.
   */
  fromRunId?: string;
};

/** Input of a `tenant-delete` run. @public */
export type TenantDeleteRunInput = {
  kind: 'tenant-delete';
  cluster: string;
  tenant: string;
};

/** Kind-specific input of a run. @public */
export type RunInput =
  | TenantRunInput
  | ChartRunInput
  | ManifestsRunInput
  | RollbackRunInput
  | TenantDeleteRunInput;

/** Body of `POST /runs`. @public */
export type CreateRunRequest = RunInput & {
  /** Catalog entity the run belongs to, e.g. `component:default/payments`. */
  entityRef?: string;
  /** Template that started the run, e.g. `template:default/tenant`. */
  template?: string;
  /**
   * The user a service relays the run for; honoured only from the services in
   * `kubechart.onBehalfOf.allowedServices`, refused (403) from anyone else.
   */
  onBehalfOf?: string;
};

/** Answer of `POST /runs` (HTTP 202). @public */
export type CreateRunResponse = { id: string; status: RunStatus };

/** What a run acts on; the unit of locking. @public */
export type RunTarget = {
  cluster: string;
  namespace: string;
  release?: string;
};

/** One status change of a run. @public */
export type RunTransition = { status: RunStatus; at: string };

/** One approver's decision on a run awaiting approval. @public */
export type ApprovalDecision = {
  /** User entity ref of the approver. */
  by: string;
  decision: 'approve' | 'reject';
  /** Required: why. */
  comment: string;
  at: string;
};

/** The approval gate of a run against a protected target. @public */
export type RunApproval = {
  /** Name of the `kubechart.approvals` rule that protects the target. */
  rule: string;
  /**
   * `awaiting` decisions; `approved` (waiting for the requester to submit the plan's input again);
   * `executed` (the approved plan was started and carried out, or it failed after changing the
   * cluster: the run's status and `failureReason` say which); `refused` (the approved run started
   * and was refused by its install-time checks before it changed anything: the run's `failureReason`
   * says why); `rejected`, `expired`, `changed` (the plan changed after approval and was not
   * applied) and `withdrawn` (its requester took it back before it started: `POST /runs/:id/withdraw`)
   * end the run as failed, nothing applied.
   */
  state:
    | 'awaiting'
    | 'approved'
    | 'executed'
    | 'refused'
    | 'rejected'
    | 'expired'
    | 'changed'
    | 'withdrawn';
  /** How many distinct approvers must approve. */
  required: number;
  /** Entity refs (groups or users) whose members may approve; the requester never may. */
  approvers: string[];
  /** `sha256:<hex>` of the plan approvers see: input, rendered manifests, chart digests, release revisions. */
  planHash: string;
  requestedAt: string;
  expiresAt: string;
  decisions: ApprovalDecision[];
  /** The latest run on the same target when the request was made; the plan's diff is against it. */
  previousRunId?: string;
  /**
   * True when the requester must submit the input again after approval: it holds secret values, or
   * (a tenant run) it needed the requester's `kubechart.tenants.admin`, checked again then.
   */
  resubmit: boolean;
  /**
   * For the caller of `GET /runs/:id`: whether it may approve or reject now, and if not, why; and
   * whether it may withdraw the run (its requester, while the approval is open and not started).
   */
  viewer?: { mayDecide: boolean; reason?: string; mayWithdraw?: boolean };
};

/** Body of `POST /runs/:id/approve` and `POST /runs/:id/reject`. @public */
export type DecideRunRequest = { comment: string };

/** Body of `POST /runs/:id/withdraw`: the requester's reason, optional. @public */
export type WithdrawRunRequest = { comment?: string };

/** A run: one entry of deployment history. @public */
export type Run = {
  id: string;
  kind: RunKind;
  status: RunStatus;
  entityRef?: string;
  /**
   * The owner `entityRef` had when the run was made (e.g. `group:default/payments`; '' when it had
   * none). A caller who may read runs only of some entities (e.g. owners only) reads the run only
   * while the entity's owner is still this one. Absent on runs without an entity and on runs
   * recorded before KubeChart kept it.
   */
  entityOwner?: string;
  /** The Backstage user entity ref who started the run. */
  actor: string;
  template?: string;
  /** For runs recorded through `POST /runs/record`: the action that executed them. */
  action?: string;
  target: RunTarget;
  /** Input of the run, secrets redacted. */
  input: Record<string, unknown>;
  /** Values passed to Helm, secrets redacted (chart runs; per release for tenant runs). Not in {@link RunListItem}. */
  values?: Record<string, unknown>;
  /** Rendered manifest, Secret data redacted. Not in {@link RunListItem}. */
  manifest?: string;
  /** Helm revision after the run (chart and rollback runs). */
  helmRevision?: number;
  /**
   * True when the run recorded a digest of the Helm release record it left its release at (chart and
   * rollback runs; the digest itself is never shown): a rollback naming the run (`fromRunId`) returns
   * only to that record. False otherwise, e.g. for a run from before KubeChart recorded it: the
   * backend refuses such a `fromRunId` (409), and a rollback to its `helmRevision` names the number
   * only, returning to that revision as the release holds it then, which may be another one than the
   * run installed (revision numbers restart after an uninstall). Not in {@link RunListItem}.
   */
  rollbackBound?: boolean;
  /** The chart policy report. Not in {@link RunListItem}, which carries its {@link PolicySummary}. */
  policyReport?: PolicyReport;
  failureReason?: string;
  /**
   * What the run changed in clusters, in words ("created Namespace/tenant-a", "installed release web
   * revision 2 in tenant-a"); `[]` when it changed nothing. Absent when that is not known: the run
   * was reconciled after the instance executing it was lost, an action recorded it, it ended before
   * KubeChart recorded this, or it has not ended. Not in {@link RunListItem}.
   */
  applied?: string[];
  transitions: RunTransition[];
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  heartbeatAt?: string;
  /** Set on runs against protected targets. */
  approval?: RunApproval;
};

/** A log line or a step transition of a run. @public */
export type RunEvent = {
  /** Monotonic sequence number within the run; use as `?after=` cursor. */
  seq: number;
  runId: string;
  at: string;
  type: 'log' | 'step' | 'status';
  level: 'info' | 'warn' | 'error';
  /** Step name, e.g. `namespace`, `quota`, `release:web`, `wait`. */
  step?: string;
  /** For step events: `started`, `succeeded`, `skipped`, `failed`. */
  stepStatus?: 'started' | 'succeeded' | 'skipped' | 'failed';
  message: string;
};

/**
 * A run as a page of `GET /runs` lists it: everything but its values, manifest and policy report
 * (most of a run's bytes; `GET /runs/:id` returns them), with the report's outcome and counts.
 * @public
 */
export type RunListItem = Omit<
  Run,
  'values' | 'manifest' | 'policyReport' | 'applied' | 'rollbackBound'
> & {
  /** The policy report's outcome and counts; absent when the run has no report. */
  policySummary?: PolicySummary;
};

/** A page of `GET /runs`. @public */
export type RunsPage = {
  /** Newest first. */
  items: RunListItem[];
  /** Pass as `cursor` to get the next page; absent on the last page. It names a run of `items`. */
  nextCursor?: string;
  /**
   * True when the backend stopped looking before the end of the runs the query matches: for a
   * caller who may read only some runs, one page looks at a bounded number of runs (1,000). Older
   * runs the caller may read may lie beyond; a narrower query (`to`, `entityRef`, `kind`) finds them.
   */
  truncated?: boolean;
};

/** What `GET /approvals` answers. @public */
export type ApprovalsPage = {
  /** Newest first. */
  items: RunListItem[];
  /**
   * True when the list is cut: the caller may see more open requests than `items` holds, or the
   * backend stopped looking before the end of the open requests. `nextCursor`, when given, reads on.
   */
  truncated?: boolean;
  /**
   * Pass as `cursor` for the next page: built only from the last item listed (never from a request
   * the caller may not see). A cut list has none when the backend's scan, at its bound, found no
   * request the caller may see.
   */
  nextCursor?: string;
};

/** A field of a live object that differs from what a run applied. @public */
export type DriftField = {
  /** Dotted path with list-map keys, e.g. `spec.replicas`, `spec.template.spec.containers[name=web].env[name=MODE].value`. */
  path: string;
  /**
   * What the run applied (redacted like history), absent when the run did not set the field. A
   * value whose JSON is longer than 1 KiB is shown as its size: `{ notShown: 'value of N bytes' }`.
   */
  expected?: unknown;
  /**
   * What runs now (redacted), absent when the field was removed, or when `added` is set (a field
   * another manager added: its value is never shown). Longer than 1 KiB of JSON: as `expected`.
   */
  actual?: unknown;
  /**
   * True for a field the run's manifest does not set that another field manager (`manager`) set
   * after the object was created, e.g. a container added with `kubectl edit`. Its live value is not
   * shown: it may hold a secret the redaction rules do not know.
   */
  added?: true;
  /** The field manager (managedFields) that owns the live value, e.g. `kubectl-scale`. */
  manager?: string;
  /** When that manager last wrote the object (managedFields time). */
  changedAt?: string;
};

/** An object a run applied that no longer matches. @public */
export type DriftObject = {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /**
   * `changed`: fields differ (`fields`); `missing`: the object is gone; `deleting`: its deletion was
   * requested (`kubectl delete`) and the API server still answers it, held by its finalizers (a PVC
   * a pod mounts, an object a controller finalizes) or in its grace period, until it is gone (see
   * `deletion`).
   */
  state: 'changed' | 'missing' | 'deleting';
  fields: DriftField[];
  /**
   * For `deleting`: when the object was marked for deletion (its `metadata.deletionTimestamp`) and
   * the finalizers that hold it until they are removed (the first 10; none: it is in its grace period).
   */
  deletion?: { timestamp: string; finalizers: string[] };
  /**
   * True for an object of a tenant's baseline that a tenant run applied besides its releases (its
   * ResourceQuota, LimitRange, default-deny NetworkPolicy, tenant resources): the tenant's next run
   * restores it; re-applying a release does not.
   */
  baseline?: boolean;
};

/**
 * Fields of an applied object that drift did not compare: the run's manifest holds their values
 * redacted (they hold secrets, e.g. a Secret's data), so whether they still match is not known.
 * @public
 */
export type DriftNotCompared = {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** How many fields (or parts of the object holding such a field) were not compared. */
  count: number;
  /** Their paths, as {@link DriftField.path} (the first 20). */
  fields: string[];
};

/**
 * Drift of the latest succeeded release or manifests run on a target: the live objects compared
 * with the manifests it applied (fields set by controllers or defaulted by the API server do not count).
 * @public
 */
export type RunDrift = {
  runId: string;
  target: RunTarget;
  entityRef?: string;
  /**
   * `in-sync`: every field compared matches; fields drift could not compare are listed in
   * `notCompared`, never counted as matching.
   */
  status: 'in-sync' | 'drifted' | 'unknown';
  /** When the current status was first observed. */
  since: string;
  checkedAt: string;
  objects: DriftObject[];
  /**
   * Objects with fields that were not compared (their values are stored redacted). Absent when
   * every field the run applied was compared.
   */
  notCompared?: DriftNotCompared[];
  /**
   * The action that recorded the run (`POST /runs/record`) when the manifest compared is what that
   * action reported, not what kubechart applied: its record stands beside, never in place of, the
   * drift of the runs kubechart executed. Absent for runs kubechart executed.
   */
  reportedByAction?: string;
  /**
   * Why the status is `unknown` (cluster unreachable, manifest redacted…), and, whatever the status,
   * which fields were not compared (`in sync except 1 field that holds a secret…`).
   */
  message?: string;
};

/** `GET /runs/:id/diff/:other`. @public */
export type RunDiff = {
  from: string;
  to: string;
  /** Unified diff of the (redacted) values as YAML. */
  values: string;
  /** Unified diff of the (redacted) manifests. */
  manifest: string;
  /**
   * Secret values (`***`) the run hiding more of them holds in its values and manifest. They are
   * stored redacted, so the diff cannot compare them: a changed secret does not show.
   */
  hiddenSecrets?: number;
  /**
   * Why a diff was not computed, by the part it concerns: beyond 2,000 changed lines, or 2 s of
   * work, the backend gives up, and it does not try texts too large to diff (more than 15,000 lines
   * or 1,000,000 characters, values of more than 10,000 keys and list items); that part's text is a
   * `# diff not shown: …` line, not a diff.
   * Absent when both were computed (and from backends older than the field).
   */
  notComputed?: { values?: string; manifest?: string };
};

/** Severity of a policy rule. @public */
export type PolicySeverity = 'error' | 'warning' | 'info';

/** Policy mode: `enforce` blocks on a failed error rule, `warn` only reports, `off` skips. @public */
export type PolicyMode = 'enforce' | 'warn' | 'off';

/** One rule evaluated on one object. @public */
export type PolicyResult = {
  ruleId: string;
  severity: PolicySeverity;
  passed: boolean;
  object: {
    apiVersion?: string;
    kind: string;
    name: string;
    namespace?: string;
  };
  message: string;
  fix: string;
  /** Set when a configured policy exception covers this result: it stays in the report but does not count. */
  exempt?: { reason: string };
  /** The Helm release whose manifests held the object (chart and tenant runs). */
  release?: string;
};

/** A chart as a run pulled it: the one package every helm call of the run used. @public */
export type PolicyChartArtifact = {
  release: string;
  chart: string;
  version: string;
  /** `sha256:<hex>` of the chart package. */
  digest: string;
  /** Where it came from: a chart name of the chart directories, `<chart> from <repo>` or an oci:// reference. */
  source: string;
};

/** Result of checking rendered manifests against the chart policy. @public */
export type PolicyReport = {
  mode: PolicyMode;
  /** True when no rule at severity `error` failed. */
  passed: boolean;
  /** True when the report blocks installation: mode `enforce` and not passed, or, in any mode, a `run-scope` or `valid-object` failure. */
  blocking: boolean;
  /** Failed results by severity; `exempted` counts failed results covered by an exception. */
  summary: {
    objects: number;
    errors: number;
    warnings: number;
    infos: number;
    exempted?: number;
  };
  results: PolicyResult[];
  /** The charts checked (chart and tenant runs, dry runs, `POST /policy/check`), one per release. */
  charts?: PolicyChartArtifact[];
};

/** What a page of runs shows of a run's policy report: its mode, outcome and counts, no results. @public */
export type PolicySummary = Pick<
  PolicyReport,
  'mode' | 'passed' | 'blocking' | 'summary'
>;

/** The {@link PolicySummary} of a report. @public */
export function summarizePolicyReport(report: PolicyReport): PolicySummary {
  const { mode, passed, blocking, summary } = report;
  return { mode, passed, blocking, summary };
}

/** One workload in a health answer. @public */
export type WorkloadHealth = {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  namespace: string;
  name: string;
  ready: number;
  desired: number;
  status: 'healthy' | 'degraded' | 'failed';
  reason?: string;
};

/**
 * Something that needs attention in a cluster. A pod whose container fails is labelled by what
 * fails: `crash-loop` (CrashLoopBackOff), `image-pull` (ErrImagePull, ImagePullBackOff,
 * InvalidImageName, ErrImageNeverPull…), `config-error` (CreateContainerConfigError: a ConfigMap,
 * Secret or key it reads is missing) or `container-failing` (any other reason, e.g.
 * CreateContainerError; `reason` names it). @public
 */
export type HealthAlert = {
  type:
    | 'warning-event'
    | 'crash-loop'
    | 'image-pull'
    | 'config-error'
    | 'container-failing'
    | 'node-not-ready';
  namespace?: string;
  object: string;
  reason: string;
  message: string;
  at?: string;
};

/** `GET /clusters/:name/health`. @public */
export type ClusterHealth = {
  cluster: string;
  status: 'ok' | 'degraded' | 'error';
  message: string;
  version?: string;
  nodes: { ready: number; total: number };
  workloads: {
    healthy: number;
    degraded: number;
    failed: number;
    /** The worst workloads behind (at most 50), of those in namespaces the caller may read. */
    items: WorkloadHealth[];
    /**
     * How many of those worst workloads `items` leaves out because they are in namespaces the
     * caller may not read (absent from older backends, which named every one).
     */
    hidden?: number;
  };
  /**
   * Fractions 0..1 of the capacity new pods can use: the allocatable CPU and memory of the nodes that
   * are Ready and not cordoned (`spec.unschedulable`), against the usage (metrics API) or requests
   * of the pods on them and of pods not yet on a node; 1 when no node takes pods. `source` says
   * whether from the metrics API or from requests/allocatable. `at`: when the metrics API was read
   * (source `metrics`); usage older than a few refresh intervals is not shown, the answer falls back
   * to requests (absent from older backends). `excludedNodes`: how many nodes' capacity is left out
   * (not Ready, or cordoned; absent from older backends, which counted every node's).
   */
  utilisation: {
    cpu: number;
    memory: number;
    source: 'metrics' | 'requests';
    at?: string;
    excludedNodes?: number;
  };
  /**
   * The first alerts (at most 50): nodes not Ready, then failing pods, then the newest warning
   * events; of those, the ones in namespaces the caller may read and the ones about nodes.
   */
  alerts: HealthAlert[];
  /** How many alerts there are in all, of which `alerts` holds the first (absent from older backends). */
  alertsTotal?: number;
  /**
   * How many of the first alerts `alerts` leaves out because the caller may not read their
   * namespace (absent from older backends, which sent every one).
   */
  alertsHidden?: number;
  observedAt: string;
  /**
   * In an `error` answer: until when the health cache followed the cluster (the last time a list,
   * watch event, bookmark or clean watch end proved current the first of its informers that fail now,
   * or that wait to list again). Absent from other answers, and from older backends.
   */
  lastSeenAt?: string;
};

/** `GET /clusters` item. @public */
export type ClusterSummary = {
  name: string;
  url: string;
  status: 'ok' | 'degraded' | 'error' | 'unknown';
  message?: string;
};

/** A tenant as listed by `GET /tenants`. @public */
export type Tenant = {
  code: string;
  cluster: string;
  namespace: string;
  createdAt?: string;
  /** Status of the most recent tenant run. */
  lastRunStatus?: RunStatus;
  lastRunId?: string;
  /** Lifecycle of the tenant itself. */
  status?: 'provisioning' | 'active' | 'failed' | 'deleting' | 'deleted';
  releases: string[];
  /** Catalog entity of the tenant (the `entityRef` of its tenant run). */
  entityRef?: string;
  /** Owning group and display name, as given to the tenant run. */
  owner?: string;
  displayName?: string;
};

/** `GET /tenants/:code/health`. @public */
export type TenantHealth = {
  tenant: string;
  cluster: string;
  namespace: string;
  /**
   * `unknown` (answered with 503) while the health cache of the tenant's cluster does not follow the
   * cluster (a list or watch fails): `message` says why, `releases`, `quota` and `urls` are empty,
   * and `lastSeenAt` says until when the cache followed the cluster; `unknown` too when the tenant's
   * namespace cannot be read. `unhealthy` when the namespace does not exist (`quota` and `urls`
   * empty) or is terminating, whatever its releases say.
   */
  status: 'healthy' | 'degraded' | 'unhealthy' | 'unknown';
  /**
   * Why the status is `unknown`, or why the tenant is worse than its releases say: its namespace
   * does not exist or is terminating (`unhealthy`); pods with failing containers, or failed Jobs,
   * that cannot be attributed to a release (a CronJob's Job, a pod of no release; at least
   * `degraded`); its ResourceQuota is used up for a resource (at least `degraded`: new objects of
   * it are refused).
   */
  message?: string;
  /**
   * Per release: its workloads' pods that are Ready of those it runs or asks for (pods that ended are
   * not counted), and its status. A release is healthy when every workload's rollout is complete
   * (one scaled to zero included), degraded while a rollout is unfinished or stuck, or while a Job
   * of it has failed or a pod of it (its Job's, one Helm made) has a failing container; unhealthy
   * with no pod Ready; `no-workloads` when it has no Deployment, StatefulSet or DaemonSet and
   * nothing of it fails (it does not make the tenant unhealthy). `reason` says why, when there is
   * something to say.
   */
  releases: Array<{
    name: string;
    readyPods: number;
    totalPods: number;
    status: 'healthy' | 'degraded' | 'unhealthy' | 'no-workloads';
    reason?: string;
  }>;
  quota: { hard: Record<string, string>; used: Record<string, string> };
  urls: string[];
  /**
   * Why `urls` may be incomplete: listing the namespace's Ingresses (or its HTTPRoutes, where the
   * cluster serves them) failed. Absent when they were listed, and from older backends.
   */
  urlsError?: string;
  /** When the answer was given (in an `unknown` answer too, whose content is not the cluster's). */
  observedAt: string;
  /**
   * In an `unknown` answer: until when the health cache followed the cluster (the last time a list,
   * watch event, bookmark or clean watch end proved current the first of the informers it reads that
   * fail now, or that wait to list again). Absent when it never followed it, and from other answers.
   */
  lastSeenAt?: string;
};

/** `GET /metrics/summary`. @public */
export type MetricsSummary = {
  /**
   * `platform`: every run and tenant (a caller who may read everything). `readable`: the runs and
   * tenants the caller may read, under a conditional read decision.
   */
  scope: 'platform' | 'readable';
  runs: { byStatus: Record<string, number>; byKind: Record<string, number> };
  tenants: { byStatus: Record<string, number>; total: number };
  provisioningDurationMs: {
    min: number;
    avg: number;
    p95: number;
    max: number;
    count: number;
  };
  recentFailures: Array<{
    id: string;
    kind: RunKind;
    at: string;
    reason: string;
    entityRef?: string;
  }>;
};

/** Body of `POST /runs/record`: a run executed by the caller, recorded in history. @public */
export type RecordRunRequest = {
  kind: RunKind;
  target: RunTarget;
  entityRef?: string;
  template?: string;
  /** Name of the action that executes the run, e.g. `acme:redis:create`. */
  action?: string;
  /** Input; redacted before it is stored. */
  input?: Record<string, unknown>;
  onBehalfOf?: string;
};

/** Body of `POST /runs/:id/events` (recorded runs only). @public */
export type AppendRunEventsRequest = {
  events: Array<{
    level?: 'info' | 'warn' | 'error';
    message: string;
    step?: string;
    stepStatus?: 'started' | 'succeeded' | 'skipped' | 'failed';
  }>;
};

/** Body of `POST /runs/:id/finish` (recorded runs only). @public */
export type FinishRunRequest = {
  status: 'succeeded' | 'failed';
  failureReason?: string;
  helmRevision?: number;
  /** Rendered manifest; Secret data is redacted before it is stored. */
  manifest?: string;
  /** Values; secret keys are redacted before they are stored. */
  values?: Record<string, unknown>;
};

/**
 * Answer of `POST /runs/preview`: what a run would do, validated and rendered, with the chart
 * policy report — nothing applied, nothing recorded. Used for scaffolder dry runs.
 * @public
 */
export type RunPreview = {
  kind: RunKind;
  target: RunTarget;
  /** Rendered manifests (charts and tenant releases), Secret data redacted. */
  manifest?: string;
  /** Policy report of what would be applied (chart, tenant and manifests runs). */
  policyReport?: PolicyReport;
};

/**
 * Distinct approvers who approved so far (what "n of m approvals" counts); a rejection ends the
 * request, so it never counts towards it.
 * @public
 */
export function approvalCount(
  approval: Pick<RunApproval, 'decisions'>,
): number {
  return new Set(
    approval.decisions.filter(d => d.decision === 'approve').map(d => d.by),
  ).size;
}
