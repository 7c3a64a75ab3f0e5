import {
  ChartRunInput,
  CreateRunRequest,
  KUBECHART_TENANT_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ManifestsRunInput,
  PolicyReport,
  ReleaseSpec,
  RollbackRunInput,
  Run,
  TENANT_CREDENTIALS_SECRET,
  TenantDeleteRunInput,
  TenantRunInput,
} from '@kubechart/plugin-kubechart-common';
import { isError } from '@backstage/errors';
import {
  ClusterDiscovery,
  ClusterRegistry,
  HelmCli,
  KubeObject,
  PolicyEngine,
  HelmHook,
  PolicyCheckOptions,
  PostRenderDecision,
  ProtectedObject,
  findInstallTimeInputs,
  TenantResourceProvider,
  collectManifestSecretValues,
  formatPolicyFailures,
  labelObject,
  mergePolicyReports,
  parseManifestsInTurns,
  MAX_POLICY_OBJECTS,
  redactValues,
  releasePolicyReport,
  startPostRenderGate,
  HELM_YAML_SCHEMA,
  effectiveNamespace,
} from '@kubechart/plugin-kubechart-node';
import { LoggerService } from '@backstage/backend-plugin-api';
import yaml from 'js-yaml';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BaselineObject, RunStore } from '../database/RunStore';
import { KubeClient } from '../lib/KubeClient';
import {
  StoredHelmRelease,
  CurrentHelmReleases,
  isRecordTakenError,
  readCurrentHelmReleases,
  readLatestHelmRelease,
} from '../lib/helmRelease';
import { canonicalJson } from '../approvals/plan';
import {
  ApprovedManifest,
  approvedManifestOf,
  describeManifestDifference,
} from '../approvals/approvedManifest';
import {
  approvedRevisionOf,
  unboundRevisionReason,
} from '../approvals/approvedRevision';
import { createWorkDir, pullRenderAndCheck } from './chartCheck';
import { RunFailure } from './errors';
import { helm3HookRefusal, uncheckedHooks, withHooks } from './helm3Hooks';
import { RunContext } from './RunContext';
import {
  checkDeleteHooks,
  checkReleaseOwnership,
  deleteHookPolicyProblems,
  isDeleteHook,
  releaseOwnershipProblems,
} from './releaseOwnership';
import { uninstallChecked } from './releaseUninstall';
import {
  CreatedRevision,
  LaterRecord,
  RevisionCreations,
  judgeRollbackRecord,
  rollbackSecretValues,
  watchCreatedRevisions,
} from './rollbackRevision';
import { deployerAccount, deployerUser, ensureDeployer } from './deployer';
import {
  RunScope,
  TenantNaming,
  TenantSnapshot,
  checkTenantNamespace,
  groupKind,
  objectOwnershipResults,
  tenantCodeNamer,
  toPolicyScope,
  withRefusals,
} from './scope';
import {
  ReleaseRecordWatch,
  ReleaseRecordWatchFailure,
  watchReleaseRecords,
} from './releaseRecordWatch';
import { EngineSettings } from './settings';
import { TenantChanges } from './tenantChanges';
import { waitForReady } from './waitForReady';
import { ingressHostsOption } from './ingressHostsInUse';
import {
  declaredManifestSecretValues,
  declaredSecretValues,
  redactDeclaredSecrets,
} from './declaredSecrets';

type Deps = {
  logger?: LoggerService;
  helm: HelmCli;
  policy: PolicyEngine;
  clusters: ClusterRegistry;
  store: RunStore;
  settings: EngineSettings;
  tenantResources: TenantResourceProvider[];
  discovery: ClusterDiscovery;
  client(cluster: string): KubeClient;
  /** A client of the cluster that impersonates the deployer ServiceAccount of `namespace`. */
  scopedClient(cluster: string, namespace: string): KubeClient;
};

/**
 * A chart or tenant run's private work dir (its pulled charts), the policy report of each release,
 * and each release's redacted manifest: what was applied, or, when the release failed or was
 * refused, what was rendered or refused (kept so the run shows what was judged).
 */
type RunWork = {
  dir: string;
  reports: Map<string, PolicyReport>;
  manifests: Map<string, string>;
  /** For an approved run: the chart digest of each release in the approved plan. */
  approvedCharts?: Record<string, string>;
  /** For an approved run: each release's rendered objects in the approved plan, normalised. */
  approvedManifests?: Record<string, ApprovedManifest>;
  /** Credentials a tenant run generated (or read) at install, which its plan shows as placeholders. */
  generated?: string[];
  /**
   * The tenant resources no chart, hook or what helm sends may replace (run-scope), asked of the
   * providers once per run: the same for every release of a tenant run.
   */
  protectedObjects?: Promise<ProtectedObject[]>;
};

/** What the engine resolved for a run before it started. */
export type RunExecution = {
  scope: RunScope;
  /** For a tenant run on an existing tenant: what it changes. */
  changes?: TenantChanges;
  /**
   * The caller held `kubechart.tenants.admin`, so the per-owner tenant budget does not apply to the
   * tenant run (absent, as in approvals recorded before this field: it applies).
   */
  tenantAdmin?: boolean;
  /**
   * For a tenant run: its tenant when the run was requested. An approved run starts only while the
   * tenant is as it was (see `describeTenantChange`).
   */
  tenantAtRequest?: TenantSnapshot;
  /**
   * Whom the run's messages about other tenants are for: its requester, as the request that started
   * it was checked (see `TenantNaming`). Not kept with an approval: a kept approved run started
   * without its requester names no other tenant.
   */
  naming?: TenantNaming;
  /**
   * The requester's ownership refs when the run was requested (every kind): a kept approved run's
   * requester owns at most those when it starts (absent, as in approvals recorded before this was
   * saved for every kind: all of its groups now).
   */
  requesterRefs?: string[];
  /**
   * For a run released by approval: the chart digest of each release in the approved plan. The
   * release is installed only from a chart with that digest (set when the approved run starts).
   */
  approvedCharts?: Record<string, string>;
  /**
   * For a run released by approval: each release's rendered objects in the approved plan, normalised
   * (`approvedManifestOf`). The post-render gate lets helm apply only the same objects.
   */
  approvedManifests?: Record<string, ApprovedManifest>;
  /**
   * For a rollback released by approval: the digest of the release record of the revision it returns
   * to in the approved plan (`approvedRevisionOf`). Nothing is rolled back to a record without it.
   */
  approvedRevision?: string;
  /**
   * For a rollback requested from a run of the release's history (`fromRunId`): that run and the
   * digest of the release record it recorded for its revision (`approvedRevisionOf`). Nothing is
   * rolled back to a record without it.
   */
  boundRevision?: { runId: string; digest: string };
};

/**
 * Annotation of a tenant Namespace naming the tenant's owner (an entity ref), kept up to date by each
 * tenant run. Namespaces are cluster-scoped, so a tenant's deployer cannot change it; the assistant
 * reads it to tell which owner a namespace belongs to.
 */
export const KUBECHART_OWNER_ANNOTATION = 'kubechart.io/owner';

/** Marks the objects a tenant run keeps in its namespace (quota, limits, network policy). */
export const TENANT_RESOURCE_ANNOTATION = 'kubechart.io/tenant-resource';

/** `obj` (each item of a List) annotated {@link TENANT_RESOURCE_ANNOTATION}. */
function markTenantResource(obj: KubeObject): void {
  const items = (obj as { items?: unknown }).items;
  if (Array.isArray(items)) {
    items.forEach(item => {
      if (item && typeof item === 'object')
        markTenantResource(item as KubeObject);
    });
    return;
  }
  obj.metadata = {
    ...obj.metadata,
    annotations: {
      ...obj.metadata?.annotations,
      [TENANT_RESOURCE_ANNOTATION]: 'true',
    },
  };
}

/** The namespace label Pod Security admission enforces a standard by. */
const POD_SECURITY_ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** Deep merge, `b` wins. */
export function mergeValues(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] =
      isPlainObject(v) && isPlainObject(out[k])
        ? mergeValues(out[k] as any, v)
        : v;
  }
  return out;
}

/** The most records {@link laterRecordsWritten} names. */
const MAX_NAMED_LATER_RECORDS = 5;

/**
 * Why a chart run that installed `revision` of `release` (or a rollback that wrote it, `returnedTo`
 * the revision it returns to) is not done: records of the release were created after its helm's
 * (`later`, not empty), by someone else.
 */
function laterRecordsWritten(
  release: string,
  namespace: string,
  revision: number,
  later: LaterRecord[],
  returnedTo?: number,
): string {
  const named = later.slice(0, MAX_NAMED_LATER_RECORDS).map(r => {
    const secret = `Secret ${r.secret}${r.gone ? ', deleted since' : ''}`;
    return r.revision === undefined
      ? secret
      : `revision ${r.revision} (${secret})`;
  });
  const more =
    later.length > named.length
      ? ` and ${later.length - named.length} more`
      : '';
  const wrote =
    returnedTo === undefined
      ? `helm installed revision ${revision}`
      : `helm rolled it back to revision ${returnedTo} as revision ${revision}`;
  return `Release ${release} in ${namespace}: ${wrote}, but ${
    later.length === 1
      ? 'a later release record was'
      : `${later.length} later release records were`
  } written by someone else before this run finished: ${named.join(
    ', ',
  )}${more}. What the release runs now may be what someone else applied, not what this run checked; this run's history holds revision ${revision} as its helm wrote it. The run is not reported as done.`;
}

/** Why a release must be (re)installed, or undefined when the deployed one already matches. */
function upgradeReason(
  status: StoredHelmRelease | undefined,
  chartName: string,
  version: string | undefined,
  values: Record<string, unknown>,
): string | undefined {
  if (!status) return 'not installed yet';
  if (status.status !== 'deployed') return `release status is ${status.status}`;
  if (status.chart.name !== chartName)
    return `chart changes from ${status.chart.name}`;
  if (version && status.chart.version !== version)
    return `chart version changes from ${status.chart.version}`;
  if (canonicalJson(status.config) !== canonicalJson(values))
    return 'values changed';
  return undefined;
}

/** The steps of each run kind. */
export class Executors {
  constructor(private readonly deps: Deps) {}

  async run(
    run: Run,
    request: CreateRunRequest,
    ctx: RunContext,
    exec: RunExecution,
  ): Promise<void> {
    ctx.log(`scope: ${exec.scope.reason}`, 'info', 'scope');
    if (request.kind !== 'tenant' && request.kind !== 'chart')
      return this.runOther(run, request, ctx, exec);
    const { dir, dispose } = await createWorkDir();
    const work: RunWork = {
      dir,
      reports: new Map(),
      manifests: new Map(),
      approvedCharts: exec.approvedCharts,
      approvedManifests: exec.approvedManifests,
    };
    try {
      return request.kind === 'tenant'
        ? await this.tenant(run, request, ctx, exec, work)
        : await this.chart(run, request, ctx, exec.scope, work);
    } finally {
      await dispose();
    }
  }

  private runOther(
    run: Run,
    request: CreateRunRequest,
    ctx: RunContext,
    exec: RunExecution,
  ): Promise<void> {
    switch (request.kind) {
      case 'manifests':
        return this.manifests(run, request, ctx, exec.scope, exec.naming);
      case 'rollback':
        return this.rollback(
          run,
          request,
          ctx,
          exec.scope,
          exec.approvedRevision,
          exec.boundRevision,
        );
      case 'tenant-delete':
        return this.tenantDelete(run, request, ctx, exec.scope, exec.naming);
      default:
        throw new RunFailure(`Unsupported run kind ${(request as any).kind}`);
    }
  }

  /**
   * A chart directory of `kubechart.helm.chartDirectories` holding the release's chart, else the
   * reference as given. Runs pull their charts through `pullRenderAndCheck` instead.
   * @deprecated kept for callers that render without pulling; to be removed.
   */
  resolveChart(r: ReleaseSpec): {
    chart: string;
    repo?: string;
    version?: string;
  } {
    if (!r.repo && !r.chart.startsWith('oci://') && !r.chart.includes('/')) {
      for (const dir of this.deps.settings.chartDirectories) {
        const candidate = path.join(dir, r.chart);
        if (existsSync(path.join(candidate, 'Chart.yaml')))
          return { chart: candidate, version: r.version };
      }
    }
    return { chart: r.chart, repo: r.repo, version: r.version };
  }

  private async step<T>(
    ctx: RunContext,
    name: string,
    fn: () => Promise<T | 'skipped'>,
    message?: (r: T | 'skipped') => string,
  ): Promise<T | 'skipped'> {
    ctx.step(name, 'started');
    try {
      const r = await fn();
      ctx.step(
        name,
        r === 'skipped' || r === 'unchanged' ? 'skipped' : 'succeeded',
        message?.(r),
      );
      return r;
    } catch (e) {
      ctx.step(name, 'failed', `${name} failed`);
      throw e;
    }
  }

  /**
   * The tenant's namespace with its labels and owner annotation: created, or brought up to date when
   * KubeChart created it for this tenant. One that exists without the tenant's label is refused
   * before anything is changed (`checkTenantNamespace`), naming another tenant only as `naming` may.
   */
  private async ensureTenantNamespace(
    client: KubeClient,
    target: { cluster: string; namespace: string; tenant: string },
    labels: Record<string, string>,
    owner: string,
    naming: TenantNaming | undefined,
  ) {
    const metadata = { name: target.namespace };
    await checkTenantNamespace(
      await client.read({ apiVersion: 'v1', kind: 'Namespace', metadata }),
      target,
      'tenant',
      tenantCodeNamer(naming, target.cluster, this.deps.store),
    );
    return client.ensure({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        ...metadata,
        labels,
        annotations: { [KUBECHART_OWNER_ANNOTATION]: owner },
      },
    });
  }

  /**
   * One release: the chart pulled once into the run's work dir, rendered and checked (crds/ and
   * unknown values included); on helm 3 the hooks rendered against the cluster are checked too; then
   * installed from that package through the post-render gate. Skipped when the deployed release
   * already has the same chart and values and its release record holds what this run rendered and
   * checked (`recordDifference`). Returns the revision and the redacted manifest.
   */
  private async installRelease(
    run: Run,
    ctx: RunContext,
    scope: RunScope,
    release: ReleaseSpec,
    values: Record<string, unknown>,
    work: RunWork,
    /**
     * Told of the revision the run leaves the release at and its record's digest, once known: the
     * revision helm wrote, its record as helm first wrote it (told before the run fails as someone
     * else wrote a later one), or the deployed one kept as it was checked. What a chart run's history holds.
     */
    onRevision?: (at: { revision: number; digest: string }) => Promise<unknown>,
  ): Promise<{ revision?: number; manifest: string; skipped: boolean }> {
    const { helm, policy, store, clusters, settings } = this.deps;
    const { cluster, defaultNamespace: namespace } = scope;
    const prefix = `[${release.name}]`;
    // Each of helm's streams scrubbed as one text: a secret value over lines is hidden whole.
    const onLine = ctx.helmOutput(prefix, `release:${release.name}`);
    // The policy's run-scope rule blocks in every mode; switched off only by a test-only setting.
    // The chart's own CRDs tell the scope of its custom resources before the cluster serves them.
    let chartCrds: KubeObject[] = [];
    const checkOptions = async (objs: KubeObject[]) =>
      settings.enforceRunScope
        ? {
            scope: toPolicyScope(
              scope,
              await this.deps.discovery.lookup(cluster, [
                ...objs,
                ...chartCrds,
              ]),
              await (work.protectedObjects ??= this.tenantResourceObjects(
                run,
                scope,
              )),
            ),
            ...(await ingressHostsOption(this.deps, cluster, objs)),
          }
        : {};
    const checked = await pullRenderAndCheck(this.deps, {
      release,
      namespace,
      values,
      userValues: release.values ?? {},
      workDir: work.dir,
      checkOptions,
    });
    const { artifact, objects, rendered } = checked;
    // Secrets the chart makes itself (a generated password): their values are removed wherever else
    // it copies them, every value, whatever its key (as a rollback of the release removes them).
    ctx.addSecrets(collectManifestSecretValues(objects));
    chartCrds = checked.crds ? await parseManifestsInTurns(checked.crds) : [];
    // What this release is judged on; replaced by what helm was refused or what it applied.
    // Redacted a document per turn of the event loop: what helm renders may be megabytes.
    const keep = async (manifest: string) =>
      work.manifests.set(
        release.name,
        await ctx.redactManifestInTurns(manifest),
      );
    await keep(checked.crds ? `${checked.crds}---\n${rendered}` : rendered);
    ctx.log(
      `${prefix} chart ${artifact.name} ${artifact.version} (${artifact.source}) pulled once for this run: ${artifact.digest}`,
      'info',
      `release:${release.name}`,
    );
    const record = (report: PolicyReport) => {
      work.reports.set(release.name, report);
      return store.updateRun(run.id, {
        policyReport: mergePolicyReports([...work.reports.values()]),
      });
    };
    await record(checked.report);
    // An approved run installs the chart its approvers saw, whatever the repository serves now.
    const approvedDigest = work.approvedCharts?.[release.name];
    if (work.approvedCharts && approvedDigest !== artifact.digest) {
      throw new RunFailure(
        `The chart of release ${release.name} (${artifact.name} ${
          artifact.version
        }) is not the approved one: it was pulled with digest ${
          artifact.digest
        }, the approved plan has ${
          approvedDigest ?? 'no chart for this release'
        }; the release was not installed. Submit the change again for a new approval.`,
      );
    }
    this.enforce(
      ctx,
      checked.report,
      `release ${release.name}`,
      `release:${release.name}`,
      `${prefix} `,
      'nothing was installed',
    );
    const isNamespaced = await this.deps.discovery.lookup(cluster, objects);
    const kubeconfig = clusters.kubeconfigYaml(cluster);
    // helm acts as the namespace's deployer, so the API server refuses what the scope check missed.
    // Cluster-scoped kinds the platform allows (and the caller may use) are beyond a namespaced role:
    // a chart with them is installed by the engine's own identity.
    const clusterScoped = objects.filter(
      o => isNamespaced(String(o.apiVersion), String(o.kind)) === false,
    );
    const allowed =
      clusterScoped.length > 0 &&
      clusterScoped.every(o =>
        scope.allowedClusterScopedKinds.includes(
          groupKind(String(o.apiVersion), String(o.kind)),
        ),
      );
    const impersonate = allowed
      ? undefined
      : { user: deployerUser(namespace, settings) };
    if (!impersonate) {
      ctx.log(
        `${prefix} installed by the engine's identity: it has allowed cluster-scoped objects (${clusterScoped
          .map(o => `${o.kind}/${o.metadata?.name}`)
          .join(', ')})`,
        'warn',
        `release:${release.name}`,
      );
    }
    const status = await readLatestHelmRelease(
      this.deps.scopedClient(cluster, namespace),
      namespace,
      release.name,
    );
    // A tenant's objects and pods carry its label, which its catalog entity selects.
    const labels: Record<string, string> = scope.tenant
      ? { [KUBECHART_TENANT_LABEL]: scope.tenant }
      : {};
    let why = upgradeReason(status, artifact.name, artifact.version, values);
    if (!why) {
      // The release record is a Secret in the release's namespace, which its admins and workloads may
      // write: what it says was applied is recorded only when it is what this run rendered and checked.
      const recorded = withHooks(status!.manifest, status!.hooks);
      const differs = await this.recordDifference(
        recorded,
        rendered,
        labels,
        work.generated,
        checkOptions,
      );
      if (!differs) {
        ctx.log(
          `${prefix} release is deployed at revision ${
            status!.version
          } with the same chart and values; nothing to do`,
          'info',
          `release:${release.name}`,
        );
        await keep(recorded || rendered);
        await onRevision?.({
          revision: status!.version,
          digest: approvedRevisionOf(status!),
        });
        return {
          revision: status!.version,
          manifest: work.manifests.get(release.name)!,
          skipped: true,
        };
      }
      why = `the release record's manifest differs from the chart's render`;
      ctx.log(
        `${prefix} release is deployed at revision ${
          status!.version
        } with the same chart and values, but ${why} (${differs}); upgrading, so that what is recorded is what was checked and applied`,
        'warn',
        `release:${release.name}`,
      );
    }
    // helm's upgrade deletes what its current record names and the render does not, and updates what
    // both name, without asking whose it is: the record (a Secret the namespace's users may write) may
    // name only this release's objects, as when it is uninstalled. At the gate, once helm has read it,
    // a record written since is refused.
    const checkedRecords = await this.checkCurrentRecords(
      ctx,
      scope,
      release.name,
      !impersonate,
      'upgraded',
    );
    const target = {
      release: release.name,
      namespace,
      values,
      kubeconfig,
      impersonate,
      chart: artifact.archive,
    };
    // The policy (run-scope included) judges again what helm is about to send, after `lookup` and,
    // on helm 4, hooks; a refusal makes helm apply nothing, and what it approved is what is stored.
    let refused: PolicyReport | undefined;
    let refusedManifest: string | undefined;
    /** On helm 3: the hooks its server dry run rendered, checked before the install. */
    let checkedHooks: HelmHook[] = [];
    /** Why the install was refused as not the approved plan's rendering. */
    let renderedOtherwise: string | undefined;
    /** Why the install was refused as its release record was written since it was checked. */
    let recordsChanged: string | undefined;
    /**
     * The release's records watched from their check on, as the identity helm runs as (see
     * `watchReleaseRecords`), which the gate asks whether any changed since.
     */
    let recordsWatch: ReleaseRecordWatch | undefined;
    const recordsChangedSince = async (): Promise<string | undefined> => {
      if (!recordsWatch) return 'its release records are not followed';
      try {
        const change = await recordsWatch.changedSince();
        return change && `Secret ${change.secret} was ${change.was}`;
      } catch (e) {
        return `whether a record was written cannot be told: ${
          (e as Error)?.message ?? e
        }`;
      }
    };
    // An approved run's plan is helm's offline render, a first install; helm renders again to apply,
    // as an upgrade, with `lookup` and the cluster's capabilities. It applies only what the plan showed.
    const notApproved = async (
      sent: KubeObject[],
    ): Promise<string | undefined> => {
      if (!work.approvedManifests) return undefined;
      const approved = work.approvedManifests[release.name];
      if (!approved)
        return `Release ${release.name} was not installed: the approved plan has no rendering of it; nothing was applied.`;
      // helm 3 hands its post-renderer no hooks: those its server dry run rendered (checked above) stand in.
      const hooks = checkedHooks.length
        ? await parseManifestsInTurns(
            checkedHooks.map(h => h.manifest).join('\n---\n'),
          )
        : [];
      return describeManifestDifference(
        release.name,
        approved,
        approvedManifestOf([...sent, ...hooks], labels, work.generated),
      );
    };
    // helm installs a chart's crds/ before it renders, so before the gate, and reads them otherwise than
    // the check might: the engine always passes --skip-crds, and where helm would install them (a first
    // install, or one over an uninstalled release's history) installs the checked CRDs itself once the
    // gate approved the install. What the check did not read is never installed.
    const crdsOnApproval =
      (!status || status.status === 'uninstalled') && chartCrds.length > 0;
    let crdsInstalled = false;
    const gateCheckFor =
      (install: boolean) =>
      async (manifest: string): Promise<PostRenderDecision> => {
        const change = install ? await recordsChangedSince() : undefined;
        if (change) {
          recordsChanged = `The release record of ${
            release.name
          } in ${namespace} changed after it was checked and before helm applied the release (${change}): helm may have read a record that was not checked; ${ctx.refusalOutcome(
            'nothing was applied',
          )}. Submit the run again.`;
          return { approved: false, reason: recordsChanged };
        }
        // A document per turn of the event loop: helm's output may be megabytes.
        const sent = await parseManifestsInTurns(manifest);
        const difference = install ? await notApproved(sent) : undefined;
        if (difference) {
          renderedOtherwise = difference;
          refusedManifest = manifest;
          return { approved: false, reason: difference };
        }
        const verdict = await policy.checkInTurns(
          sent,
          await checkOptions(sent),
        );
        if (!verdict.blocking) {
          if (install && crdsOnApproval && !crdsInstalled) {
            await this.installChartCrds(ctx, cluster, release.name, chartCrds);
            crdsInstalled = true;
          }
          return { approved: true };
        }
        refused = verdict;
        refusedManifest = manifest;
        return {
          approved: false,
          reason: `Chart policy (${
            verdict.mode
          }) refused what helm was about to apply:\n${formatPolicyFailures(
            verdict,
          )}`,
        };
      };
    const recordRefusal = async () => {
      if (refusedManifest) await keep(refusedManifest);
      if (refused)
        await record(
          mergePolicyReports([
            checked.report,
            releasePolicyReport(refused, release.name),
          ])!,
        );
    };
    const { major, version } = await helm.version();
    const helm3 = major < 4;
    // The server dry run every helm 3 install starts with (below) came with helm 3.13.
    const minor = Number(/^v?\d+\.(\d+)/.exec(version)?.[1]);
    if (helm3 && !(minor >= 13)) {
      throw new RunFailure(
        `helm ${version} cannot render release ${release.name} against the cluster (--dry-run=server needs helm 3.13 or later), which the engine needs to check the hooks helm 3 runs; nothing was applied. Use helm 3.13 or later, or helm 4 (kubechart.helm.binary).`,
      );
    }
    const inputs = helm3
      ? await findInstallTimeInputs(artifact.directory)
      : undefined;
    // A chart may have hooks when its templates name them, its render shows them, or its output
    // depends on the cluster, DNS, randomness or the clock (a hook may appear only against the cluster).
    const mayHaveHooks =
      !!inputs &&
      (inputs.hookTemplates.length > 0 ||
        inputs.calls.length > 0 ||
        inputs.unreadable.length > 0 ||
        objects.some(
          o => o.metadata?.annotations?.['helm.sh/hook'] !== undefined,
        ));
    // helm 3 does not pass hooks through the post-renderer, and the check's offline render is a first
    // install with helm's default capabilities: an upgrade (`.Release.IsUpgrade`, `.Release.Revision`)
    // or the cluster (`.Capabilities`) may render hooks it did not show, under an annotation no
    // template spells out. So every helm 3 install and upgrade is first rendered by a server dry run
    // (lookup included, its main manifests through the same gate), which shows the hooks as helm
    // renders them now; they are checked first, and the release is refused when helm 3's own render at
    // install could differ. Hooks helm runs anyway are checked after the fact.
    let dryRun = helm3;
    /** The main manifests as the server dry run sent them through the gate. */
    let dryApproved: string[] = [];
    if (helm3) {
      const dryGate = await startPostRenderGate({ check: gateCheckFor(false) });
      try {
        checkedHooks = await helm.renderHooks({
          ...target,
          postRenderer: dryGate,
        });
      } catch (e) {
        await recordRefusal();
        if (refused || !crdsOnApproval) throw e;
        // helm 3 cannot dry run custom resources of the chart's own CRDs before they are installed.
        if (mayHaveHooks) {
          throw new RunFailure(
            `helm 3 cannot render release ${
              release.name
            } against the cluster before its chart's CRDs exist, and the engine must see its hooks as the cluster renders them (its templates may render hooks or use ${
              inputs!.calls.map(c => c.fn).join(', ') || 'packaged subcharts'
            }); nothing was applied. Install it with helm 4 (kubechart.helm.binary), whose post-renderer checks hooks as they are applied. helm said: ${
              (e as Error).message
            }`,
          );
        }
        // A first install whose templates name no hook and call nothing that reads the cluster, DNS,
        // randomness or the clock renders at install as `helm template` does with the cluster's
        // capabilities (its API versions and version, which `.Capabilities` reads): rendered so, it
        // must hold no hook, or helm 3 would run one the policy never saw.
        const hooks = await this.hooksWithClusterCapabilities(
          cluster,
          namespace,
          release.name,
          values,
          artifact.archive,
        );
        if (hooks.length) {
          throw new RunFailure(
            `helm 3 cannot render release ${
              release.name
            } against the cluster before its chart's CRDs exist, and rendered with the cluster's API versions it has hooks (${hooks.join(
              ', ',
            )}); nothing was applied. Install it with helm 4 (kubechart.helm.binary), whose post-renderer checks hooks as they are applied. helm said: ${
              (e as Error).message
            }`,
          );
        }
        dryRun = false;
        ctx.log(
          `${prefix} helm 3 cannot render this first install against the cluster before the chart's CRDs exist; rendered with the cluster's API versions it has no hook, so it installs without the server dry run`,
          'warn',
          `release:${release.name}`,
        );
      } finally {
        dryApproved = dryGate.approved;
        await dryGate.close();
      }
    }
    if (dryRun) {
      if (checkedHooks.length) {
        const hookObjects = await parseManifestsInTurns(
          checkedHooks.map(h => h.manifest).join('\n---\n'),
        );
        const verdict = releasePolicyReport(
          await policy.checkInTurns(
            hookObjects,
            await checkOptions(hookObjects),
          ),
          release.name,
        );
        ctx.log(
          `${prefix} checked ${
            checkedHooks.length
          } hook(s) as helm 3 renders them now (${checkedHooks
            .map(h => `${h.kind}/${h.name}`)
            .join(', ')})`,
          'info',
          `release:${release.name}`,
        );
        if (verdict.blocking) {
          // Kept: the main manifests as the server dry run sent them, and the refused hooks.
          await keep(
            [...dryApproved, ...checkedHooks.map(h => h.manifest)].join(
              '\n---\n',
            ),
          );
          await record(mergePolicyReports([checked.report, verdict])!);
          this.enforce(
            ctx,
            verdict,
            `the hooks of release ${release.name}`,
            `release:${release.name}`,
            `${prefix} `,
          );
        }
      }
      const refusal = helm3HookRefusal(
        release.name,
        checkedHooks,
        inputs!,
        this.deps.settings.helm3HookInputs,
      );
      if (refusal) throw new RunFailure(refusal);
    }
    ctx.log(
      `${prefix} helm upgrade --install (${why})`,
      'info',
      `release:${release.name}`,
    );
    // Outside a tenant no labels, but the gate still writes the manifests out as helm reads them
    // (YAML 1.1: `yes` is true), so helm applies exactly the values the policy judged.
    const gate = await startPostRenderGate({
      check: gateCheckFor(true),
      labels,
    });
    let result;
    /**
     * The release's records created from before helm runs, as the identity helm runs as: the first is
     * helm's record of this upgrade, as helm first wrote it (see `recordWritten`).
     */
    let creations: RevisionCreations | undefined;
    try {
      // Every change since the records were checked, seen from the check's list on: helm would delete
      // or take over what a record written meanwhile names.
      recordsWatch = await this.watchCheckedRecords(
        ctx,
        scope,
        release.name,
        checkedRecords,
        !impersonate,
        'upgrades it',
      );
      creations = await watchCreatedRevisions(
        impersonate
          ? this.deps.scopedClient(cluster, namespace)
          : this.deps.client(cluster),
        namespace,
        release.name,
        undefined,
        undefined,
        {
          what: `The release record helm writes for release ${
            release.name
          } in ${namespace} cannot be told from one written by someone else while helm ${
            impersonate
              ? "runs as the namespace's deployer"
              : "runs with the engine's identity"
          }`,
          outcome: ctx.refusalOutcome('nothing was applied'),
        },
      );
      result = await helm.upgradeInstall({
        ...target,
        onLine,
        postRenderer: gate,
        skipCrds: true,
      });
    } catch (e) {
      creations?.close();
      await recordRefusal();
      if (recordsChanged) throw new RunFailure(recordsChanged);
      if (renderedOtherwise) throw new RunFailure(renderedOtherwise);
      const taken = await this.nextRecordTaken(
        ctx,
        scope,
        release.name,
        e,
        async () => (await helm.status(target))?.version,
        'upgraded',
      );
      if (taken) throw new RunFailure(taken);
      throw e;
    } finally {
      recordsWatch?.close();
      await gate.close();
    }
    const written = await this.recordWritten(
      release.name,
      namespace,
      creations!,
      result.revision,
      // What the gate approved stands for what was applied when helm's record cannot be told.
      () => keep(gate.approved.join('---\n') || rendered),
    );
    await onRevision?.({ revision: written.version, digest: written.digest });
    ctx.log(
      `${prefix} installed revision ${written.version}`,
      'info',
      `release:${release.name}`,
    );
    // What helm recorded as applied, as it first wrote its record (post-rendered, without the
    // file-name annotations helm 4 adds for its post-renderer and removes before applying), its hooks
    // included; the gate's approvals when helm recorded nothing.
    const applied = written.manifest || gate.approved.join('---\n') || rendered;
    if (helm3) {
      // Hooks helm 3 ran that differ from the checked ones are checked now; a policy failure fails the run and says so.
      await this.checkRanHooks(
        ctx,
        release.name,
        uncheckedHooks(written.hooks, checkedHooks),
        checked.report,
        record,
        checkOptions,
      );
    }
    // The chart's CRDs, when the engine installed them.
    const sent = crdsInstalled ? `${checked.crds}---\n${applied}` : applied;
    // helm renders again to apply: a generated value differs from the checked render's.
    ctx.addSecrets(
      collectManifestSecretValues(await parseManifestsInTurns(applied)),
    );
    await keep(sent);
    if (written.later.length) {
      throw new RunFailure(
        laterRecordsWritten(
          release.name,
          namespace,
          written.version,
          written.later,
        ),
      );
    }
    return {
      revision: written.version,
      manifest: work.manifests.get(release.name)!,
      skipped: false,
    };
  }

  /**
   * The revision `helm upgrade --install` reports it wrote (`revision`), as helm first wrote its
   * record: the first record created since before helm ran (`creations`, closed here), whatever the
   * release's latest record is once helm has exited, or what was written to helm's since. A
   * RunFailure when that record cannot be told (after `keepApproved`): helm applied the release, but
   * which revision holds what it applied is not known.
   */
  private async recordWritten(
    release: string,
    namespace: string,
    creations: RevisionCreations,
    revision: number,
    keepApproved: () => Promise<unknown>,
  ): Promise<CreatedRevision & { later: LaterRecord[] }> {
    try {
      return await creations.createdFirst(revision);
    } catch (e) {
      await keepApproved();
      throw new RunFailure(
        `Release ${release} in ${namespace}: helm reports it installed revision ${revision}, but the release record it wrote cannot be told from one written by someone else (${
          isError(e) ? e.message : String(e)
        }); this run records what the chart policy approved as what it applied, and no revision of its own. The run is not reported as done.`,
      );
    } finally {
      creations.close();
    }
  }

  /**
   * Before helm upgrades or rolls back a release: the records helm may act on as its current one name
   * only this release's objects (`releaseOwnershipProblems`, as an uninstall checks them), or the run
   * is refused naming the others, before helm runs. Returns the release's records as checked
   * (`readCurrentHelmReleases`), which are watched from then on (`watchCheckedRecords`).
   */
  private async checkCurrentRecords(
    ctx: RunContext,
    scope: RunScope,
    release: string,
    asEngine: boolean,
    outcome: 'upgraded' | 'rolled back',
  ): Promise<CurrentHelmReleases> {
    const { cluster, defaultNamespace: namespace, tenant } = scope;
    const scoped = this.deps.scopedClient(cluster, namespace);
    const records = await readCurrentHelmReleases(scoped, namespace, release);
    // helm writes its record of the new revision as the one after the last record it lists, and fails
    // when a Secret of that name exists: one it does not list (not labelled as a record) is not its.
    const next = Math.max(0, ...records.all.map(r => r.version)) + 1;
    const nextSecret = `sh.helm.release.v1.${release}.v${next}`;
    if (
      await scoped.read({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: nextSecret, namespace },
      })
    ) {
      throw new RunFailure(
        `Release ${release} in ${namespace} was not ${outcome}: the Secret ${nextSecret}, where helm writes its record of the next revision (${next}), exists and was not among the release's records when they were checked (labelled name=${release},owner=helm): helm did not write it, and would fail to write its own record; ${ctx.refusalOutcome(
          outcome === 'upgraded'
            ? 'nothing was applied'
            : 'nothing was rolled back',
        )}. The Secret is in the namespace; delete it and try again.`,
      );
    }
    // helm's `upgrade --install` installs anew over a release whose last record it lists is
    // `uninstalled`, deleting nothing; otherwise it upgrades from the record labelled deployed even
    // below an uninstalled one. helm skips a record it cannot decode, so any other record may be the
    // one it acts on: every record is checked, but for an upgrade those uninstalled and not labelled
    // deployed, which helm never upgrades from.
    const current =
      outcome === 'upgraded'
        ? records.all.filter(
            r => r.status !== 'uninstalled' || r.labelledDeployed,
          )
        : records.all;
    const seen = new Set<string>();
    const read: KubeObject[][] = [];
    for (const r of current) {
      try {
        // A document per turn of the event loop: a record's manifest may be megabytes.
        read.push(await parseManifestsInTurns(r.manifest));
      } catch (e) {
        // What helm would delete or change cannot be known: refused, never guessed.
        throw new RunFailure(
          `Release ${release} in ${namespace} was not ${outcome}: its release record (${
            r.secret
          }, revision ${r.version}) cannot be read as manifests (${
            e instanceof Error ? e.message : String(e)
          }), so what helm would delete or change cannot be checked; ${ctx.refusalOutcome(
            'nothing was applied',
          )}. The release record is a Secret in the namespace; correct or delete it and try again.`,
        );
      }
    }
    const objects = read.flat().filter(o => {
      // The same object in several revisions is read once.
      const key = [
        o.apiVersion,
        o.kind,
        o.metadata?.namespace,
        o.metadata?.name,
      ].join('|');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (objects.length === 0) return records;
    // Read with the identity helm acts as: the namespace's deployer may read what it would delete
    // there, and the engine's own identity holds no rights on a tenant's objects unless helm runs as it.
    const problems = await releaseOwnershipProblems(
      asEngine
        ? this.deps.client(cluster)
        : this.deps.scopedClient(cluster, namespace),
      await this.deps.discovery.lookup(cluster, objects),
      { release, namespace, tenant },
      objects,
    );
    if (problems.length > 0) {
      throw new RunFailure(
        `Release ${release} in ${namespace} was not ${outcome}: its release record (${current
          .map(r => `${r.secret}, revision ${r.version}`)
          .join(
            '; ',
          )}) names objects that are not this release's, which helm would delete or change${
          asEngine ? " with the engine's identity" : ''
        }: ${problems.join('; ')}; ${ctx.refusalOutcome(
          'nothing was applied',
        )}. The release record is a Secret in the namespace; correct or delete it and try again.`,
      );
    }
    return records;
  }

  /**
   * Why helm failed (`error`) when it failed as the Secret it writes its record of the new revision
   * to existed (`isRecordTakenError`: helm applied nothing); undefined when it failed otherwise. helm numbers that record after the last record of the release it can read
   * (`helmLast`, asked only then): the Secret of that name, when it exists, is named as what helm
   * found there, which helm did not write.
   */
  private async nextRecordTaken(
    ctx: RunContext,
    scope: RunScope,
    release: string,
    error: unknown,
    helmLast: () => Promise<number | undefined>,
    outcome: 'upgraded' | 'rolled back',
  ): Promise<string | undefined> {
    if (!isRecordTakenError(error)) return undefined;
    const { cluster, defaultNamespace: namespace } = scope;
    const last = await helmLast().catch(() => undefined);
    const name =
      last !== undefined && Number.isInteger(last) && last >= 0
        ? `sh.helm.release.v1.${release}.v${last + 1}`
        : undefined;
    const found =
      name &&
      (await this.deps
        .scopedClient(cluster, namespace)
        .read({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace },
        })
        .catch(() => undefined));
    return `Release ${release} in ${namespace} was not ${outcome}: helm could not write ${
      found
        ? `its record of revision ${last! + 1}, as the Secret ${name}`
        : 'its record of the new revision, as a Secret of its name'
    } existed before helm wrote it (helm: release: already exists). helm numbers its record after the last record of the release it can read: a record it cannot read, or a Secret not labelled as one, holds that name, and helm did not write it; ${ctx.refusalOutcome(
      outcome === 'upgraded'
        ? 'nothing was applied'
        : 'nothing was rolled back',
    )}. The release record is a Secret in the namespace; correct or delete it and try again.`;
  }

  /**
   * Watches a release's records from their check on (`watchReleaseRecords`), as the identity helm
   * runs as (`asEngine`, or the namespace's deployer), which writes the marker Secrets too. A rollback
   * allows helm's pruning of its history. A watch that cannot be opened refuses the run before helm
   * runs; a marker left behind is logged.
   */
  private async watchCheckedRecords(
    ctx: RunContext,
    scope: RunScope,
    release: string,
    checked: CurrentHelmReleases,
    asEngine: boolean,
    action: 'upgrades it' | 'rolls it back',
  ): Promise<ReleaseRecordWatch> {
    const { cluster, defaultNamespace: namespace } = scope;
    const upgrade = action === 'upgrades it';
    const step = upgrade ? `release:${release}` : `rollback:${release}`;
    try {
      return await watchReleaseRecords(
        asEngine
          ? this.deps.client(cluster)
          : this.deps.scopedClient(cluster, namespace),
        namespace,
        release,
        checked,
        {
          pruning: upgrade
            ? undefined
            : { current: checked.current.map(r => r.secret) },
          onMarkerLeft: message =>
            ctx.log(`[${release}] ${message}`, 'warn', step),
          onStaleMarkerDeleted: message =>
            ctx.log(`[${release}] ${message}`, 'info', step),
        },
      );
    } catch (e) {
      const forbidden =
        e instanceof ReleaseRecordWatchFailure && e.forbidden && !asEngine;
      throw new RunFailure(
        `The release records of ${release} in ${namespace} cannot be followed while helm ${action} ${
          asEngine
            ? "with the engine's identity"
            : "as the namespace's deployer"
        }: ${(e as Error)?.message ?? e}${
          forbidden
            ? `; the deployer may not watch Secrets in ${namespace} (its ClusterRole, kubechart.tenant.deployer.clusterRole, needs the \`watch\` verb on Secrets there)`
            : ''
        }; ${ctx.refusalOutcome(
          upgrade ? 'nothing was applied' : 'nothing was rolled back',
        )}.`,
      );
    }
  }

  /**
   * Why a release record's manifest (`recorded`: its manifest and hooks) is not what this run
   * rendered (`rendered`, hooks included) and may not be kept as what the run applied; undefined when
   * it is. The record is read from the release's namespace, where its admins and workloads may write
   * it: it must pass the policy as the render did (run-scope included) and hold the same objects,
   * normalised as an approved plan is compared with what helm applies (the gate's labels, the file-name
   * annotation helm 4 adds, order and layout; redacted values, which the recorded manifest does not
   * show, aside). Anything else, or a record that cannot be read, is a difference.
   */
  private async recordDifference(
    recorded: string,
    rendered: string,
    labels: Record<string, string>,
    generated: string[] | undefined,
    checkOptions: (objs: KubeObject[]) => Promise<PolicyCheckOptions>,
  ): Promise<string | undefined> {
    let stored: KubeObject[];
    try {
      stored = await parseManifestsInTurns(recorded);
    } catch {
      return 'it cannot be read as manifests';
    }
    const expected = approvedManifestOf(
      await parseManifestsInTurns(rendered),
      labels,
      generated,
    );
    const found = approvedManifestOf(stored, labels, generated);
    if (expected.digest !== found.digest) {
      const keys = [
        ...new Set([
          ...Object.keys(expected.objects),
          ...Object.keys(found.objects),
        ]),
      ].sort();
      const first = keys.find(k => expected.objects[k] !== found.objects[k]);
      if (first === undefined) return 'its objects are not the render’s';
      // The name comes from the record, whatever its length.
      const named = first.length > 200 ? `${first.slice(0, 200)}…` : first;
      if (!(first in expected.objects)) return `${named} is not in the render`;
      if (!(first in found.objects)) return `${named} of the render is missing`;
      return `${named} differs`;
    }
    const verdict = await this.deps.policy.checkInTurns(
      stored,
      await checkOptions(stored),
    );
    if (verdict.blocking) {
      const failed = [
        ...new Set(
          verdict.results
            .filter(r => !r.passed && !r.exempt && r.severity === 'error')
            .map(r => `${r.ruleId} ${r.object.kind}/${r.object.name}`),
        ),
      ];
      return failed.length
        ? `the policy refuses it (${failed.slice(0, 3).join(', ')}${
            failed.length > 3 ? ', …' : ''
          })`
        : 'the policy refuses it';
    }
    return undefined;
  }

  /** The hooks (`Kind/name`) a chart renders with a cluster's capabilities, offline. */
  private async hooksWithClusterCapabilities(
    cluster: string,
    namespace: string,
    release: string,
    values: Record<string, unknown>,
    chart: string,
  ): Promise<string[]> {
    const capabilities = await this.deps.discovery.capabilities(cluster);
    const rendered = await this.deps.helm.template({
      release,
      namespace,
      values,
      chart,
      ...capabilities,
    });
    return (await parseManifestsInTurns(rendered))
      .filter(o => o.metadata?.annotations?.['helm.sh/hook'] !== undefined)
      .map(o => `${o.kind}/${o.metadata?.name}`);
  }

  /**
   * Installs a chart's (checked, allowed) CRDs with the engine's identity, as helm would before
   * rendering, and waits until the API server serves them (Established), so helm finds their kinds.
   */
  private async installChartCrds(
    ctx: RunContext,
    cluster: string,
    release: string,
    crds: KubeObject[],
  ) {
    const client = this.deps.client(cluster);
    for (const crd of crds) {
      const outcome = await client.applyIfChanged(crd as any);
      ctx.log(
        `[${release}] ${crd.kind}/${crd.metadata?.name} from the chart's crds/: ${outcome}`,
        'info',
        `release:${release}`,
      );
    }
    const deadline = Date.now() + 60_000;
    for (const crd of crds.filter(c => c.kind === 'CustomResourceDefinition')) {
      for (;;) {
        const live = await client.read<any>(crd as any);
        if (
          live?.status?.conditions?.some(
            (c: any) => c.type === 'Established' && c.status === 'True',
          )
        )
          break;
        if (Date.now() > deadline)
          throw new RunFailure(
            `CustomResourceDefinition ${crd.metadata?.name} of release ${release} was not established within 60s`,
          );
        await new Promise(r => setTimeout(r, 200));
      }
    }
  }

  /** Hooks helm 3 ran that were not the ones checked: checked now; breaking the policy fails the run. */
  private async checkRanHooks(
    ctx: RunContext,
    release: string,
    unchecked: HelmHook[],
    report: PolicyReport,
    record: (report: PolicyReport) => Promise<unknown>,
    checkOptions: (objs: KubeObject[]) => Promise<PolicyCheckOptions>,
  ) {
    if (!unchecked.length) return;
    const names = unchecked.map(h => `${h.kind}/${h.name}`).join(', ');
    const objects = await parseManifestsInTurns(
      unchecked.map(h => h.manifest).join('\n---\n'),
    );
    const verdict = releasePolicyReport(
      await this.deps.policy.checkInTurns(objects, await checkOptions(objects)),
      release,
    );
    ctx.log(
      `[${release}] helm 3 ran hook(s) ${names} other than the ones checked before the install; checked them as they ran`,
      'warn',
      `release:${release}`,
    );
    if (verdict.blocking) {
      await record(mergePolicyReports([report, verdict])!);
      this.enforce(
        ctx,
        verdict,
        `the hooks helm 3 ran for release ${release} (${names}), which differ from the ones checked before the install and had already run`,
        `release:${release}`,
        `[${release}] `,
        'the release is installed and must be reviewed',
      );
    }
  }

  private async tenant(
    run: Run,
    input: TenantRunInput,
    ctx: RunContext,
    exec: RunExecution,
    work: RunWork,
  ) {
    const { settings, tenantResources } = this.deps;
    const { cluster } = input;
    const namespace = run.target.namespace;
    const client = this.deps.client(cluster);
    const labels = {
      [KUBECHART_TENANT_LABEL]: input.tenant,
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    };
    // The tenant resources KubeChart keeps: no manifests run may take them over (object-ownership).
    const meta = (name: string) => ({
      name,
      namespace,
      labels,
      annotations: { [TENANT_RESOURCE_ANNOTATION]: 'true' },
    });
    // The API server's Pod Security admission refuses pods beyond the standard, also those a
    // workload holding rights in the namespace creates itself, which no chart policy sees.
    const namespaceLabels = {
      ...labels,
      ...(settings.podSecurityEnforce
        ? { [POD_SECURITY_ENFORCE_LABEL]: settings.podSecurityEnforce }
        : {}),
    };

    await this.step(
      ctx,
      'validate',
      async () => 'validated',
      () =>
        `tenant ${input.tenant}, ${input.releases.length} release(s) on ${cluster}`,
    );
    if (exec.changes) {
      const { lines } = exec.changes;
      ctx.log(
        lines.length
          ? `updating tenant ${input.tenant}: ${lines.join('; ')}`
          : `updating tenant ${input.tenant}: owner, display name, quota and releases unchanged`,
        'info',
        'changes',
      );
    }
    await this.step(
      ctx,
      'namespace',
      async () => {
        // The owner the run recorded for the tenant when it started (a move included).
        const owner = (await this.deps.store.getTenants(input.tenant)).find(
          t => t.cluster === cluster,
        )?.owner;
        if (!owner) {
          throw new RunFailure(
            `Tenant ${input.tenant} on cluster ${cluster} has no recorded owner; nothing was changed`,
          );
        }
        return this.ensureTenantNamespace(
          client,
          { cluster, namespace, tenant: input.tenant },
          namespaceLabels,
          owner,
          exec.naming,
        );
      },
      r => `namespace ${namespace}: ${r}`,
    );
    await this.step(
      ctx,
      'deployer',
      () => ensureDeployer(client, namespace, labels, settings),
      r => String(r),
    );
    // The quota, limits and default-deny policy are KubeChart's whole: a key anyone added to their spec since
    // (the deployer, an admin of the namespace, may open the policy) is taken out again (`updated`).
    // What is applied besides the releases, recorded on the run: drift compares it with the live objects.
    const baseline: BaselineObject[] = [];
    const ensureWhole = (object: KubeObject) => {
      baseline.push({ object, wholeSpec: true });
      // What drift calls in sync is kept: the labels and annotations it ignores stay.
      return client.ensure(object as any, {
        wholeSpec: true,
        ignoreAdded: settings.driftIgnoreAddedFields,
      });
    };
    await this.step(
      ctx,
      'resource-quota',
      () =>
        ensureWhole({
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: meta('kubechart-quota'),
          spec: { hard: { ...settings.defaultQuota, ...input.quota?.hard } },
        }),
      r => `ResourceQuota kubechart-quota: ${r}`,
    );
    await this.step(
      ctx,
      'limit-range',
      () =>
        ensureWhole({
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: meta('kubechart-limits'),
          spec: {
            limits: [
              {
                type: 'Container',
                default: {
                  ...settings.defaultLimits,
                  ...input.quota?.defaultLimits,
                },
                defaultRequest: {
                  ...settings.defaultRequests,
                  ...input.quota?.defaultRequests,
                },
              },
            ],
          },
        }),
      r => `LimitRange kubechart-limits: ${r}`,
    );
    await this.step(
      ctx,
      'network-policy',
      () =>
        ensureWhole({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: meta('kubechart-default-deny'),
          spec: {
            podSelector: {},
            policyTypes: ['Ingress'],
            ingress: [
              { from: [{ podSelector: {} }] },
              {
                from: [
                  {
                    namespaceSelector: {
                      matchLabels: {
                        'kubernetes.io/metadata.name':
                          settings.ingressNamespace,
                      },
                    },
                  },
                ],
              },
            ],
          },
        }),
      r =>
        `NetworkPolicy kubechart-default-deny (same namespace and ${settings.ingressNamespace} allowed): ${r}`,
    );
    for (const provider of tenantResources) {
      await this.step(
        ctx,
        `resources:${provider.name}`,
        async () => {
          const objects = await provider.resources({
            tenant: input.tenant,
            namespace,
            cluster,
            input,
          });
          // The values of the Secrets it makes are removed wherever else the stored baseline copies
          // them (a ConfigMap's `DATABASE_URL`, `DB_DSN`): a provider is the platform team's code, and
          // every value it puts in a Secret is a secret, whatever its key (short ones aside, which
          // would blank every `true`; see collectManifestSecretValues).
          ctx.addSecrets(collectManifestSecretValues(objects));
          const outcomes = [];
          for (const o of objects) {
            const obj = structuredClone(o);
            obj.metadata = {
              ...obj.metadata,
              namespace: effectiveNamespace(obj, namespace),
            };
            // Like the releases' objects, they carry the tenant's label (its catalog entity selects it).
            labelObject(obj, { [KUBECHART_TENANT_LABEL]: input.tenant });
            // KubeChart keeps them (a chart may not write them); the mark tells the other plugins
            // (the assistant's guard) not to change them either, as for the built-in ones.
            markTenantResource(obj);
            baseline.push({ object: obj, wholeSpec: false });
            outcomes.push(
              `${o.kind}/${o.metadata?.name}: ${await client.applyIfChanged(
                obj as any,
              )}`,
            );
          }
          return outcomes.join(', ') || 'nothing to apply';
        },
        r => String(r),
      );
    }
    // Redacted once every tenant resource is known: a Secret's value is removed from every object.
    await this.deps.store.updateRun(run.id, {
      baseline: baseline.map(b => ({
        ...b,
        object: ctx.redactObject(b.object),
      })),
    });
    let credentials: Record<string, string> = {};
    if (input.credentials?.length) {
      credentials = (await this.step(
        ctx,
        'credentials',
        () =>
          this.ensureCredentials(
            this.deps.scopedClient(cluster, namespace),
            namespace,
            labels,
            input.credentials!,
            ctx,
          ),
        () =>
          `Secret ${TENANT_CREDENTIALS_SECRET}: ${
            input.credentials!.length
          } credential(s)`,
      )) as Record<string, string>;
      work.generated = Object.values(credentials);
    }
    const storedValues: Record<string, unknown> = {};
    await this.recordingReleases(run, storedValues, work, async () => {
      for (const release of input.releases) {
        const values = mergeValues(release.values ?? {}, {
          kubechart: {
            tenant: input.tenant,
            namespace,
            ...(input.credentials?.length ? { credentials } : {}),
          },
        });
        ctx.addSecrets(values);
        ctx.addSecrets(declaredSecretValues(input));
        storedValues[release.name] = redactDeclaredSecrets(
          redactValues(values),
          declaredSecretValues(input),
        );
        await this.step(ctx, `release:${release.name}`, async () => {
          const r = await this.installRelease(
            run,
            ctx,
            exec.scope,
            release,
            values,
            work,
          );
          return r.skipped ? 'skipped' : r;
        });
      }
    });
    // The releases the tenant's record holds (as this run claimed it) that its spec does not.
    for (const name of exec.changes?.droppedReleases ?? []) {
      if (input.pruneReleases) {
        await this.step(
          ctx,
          `uninstall:${name}`,
          async () =>
            (await this.uninstallRelease(
              cluster,
              namespace,
              input.tenant,
              name,
              ctx,
              run,
              exec.scope,
            ))
              ? 'uninstalled'
              : 'skipped',
          r =>
            `release ${name}: ${
              r === 'skipped'
                ? 'was not installed'
                : 'uninstalled (pruneReleases)'
            }`,
        );
        // Recorded until now: a run that fails before this point leaves it for the next one to prune.
        await this.deps.store.removeTenantRelease(
          cluster,
          input.tenant,
          name,
          run.id,
        );
      } else {
        ctx.log(
          `release ${name} is no longer in the spec and was kept; submit with pruneReleases: true to uninstall it`,
          'warn',
          'changes',
        );
      }
    }
    await this.step(
      ctx,
      'wait',
      () =>
        waitForReady({
          client,
          cluster,
          namespace,
          timeoutMs:
            (input.waitTimeoutSeconds ?? settings.waitTimeoutSeconds) * 1000,
          pollIntervalMs: settings.waitPollIntervalMs,
          failFastMs: settings.failFastSeconds * 1000,
          ctx,
          step: 'wait',
        }),
      r => (r === 'skipped' ? '' : `${r.workloads.length} workload(s) Ready`),
    );
  }

  /**
   * Installs a run's releases and records its (redacted) values and manifests whether they were
   * applied or not: a refused or failed release keeps the values and the manifest it was judged on
   * (what helm was refused, or what was rendered), so the run shows what was refused.
   */
  private async recordingReleases<T>(
    run: Run,
    values: Record<string, unknown>,
    work: RunWork,
    install: () => Promise<T>,
  ): Promise<T> {
    const save = () => {
      const manifest = [...work.manifests.values()].join('---\n');
      return this.deps.store.updateRun(run.id, {
        values,
        ...(manifest ? { manifest } : {}),
      });
    };
    try {
      const result = await install();
      await save();
      return result;
    } catch (e) {
      // The run's own failure is what it reports, even when recording what it was judged on fails.
      await save().catch(err =>
        this.deps.logger?.warn(
          `Could not record the values and manifest of failed run ${run.id}: ${err}`,
        ),
      );
      throw e;
    }
  }

  /**
   * Uninstalls a tenant's release, as `helm uninstall` would, with the identity its install used (see
   * `installRelease`); false when the release did not exist. A release whose record holds
   * cluster-scoped objects, all of kinds the cluster allows, was installed by the engine's own
   * identity, beyond the deployer's namespaced role, and is uninstalled by it; every other release as
   * the namespace's deployer. The record is a Secret its namespace's admins and workloads may write,
   * so the engine first checks every record on the live cluster, read as the identity that acts
   * (`checkReleaseOwnership`, as an upgrade checks it): every object it names that exists carries this
   * release's helm ownership annotations (a cluster-scoped one also this tenant's label), a namespaced
   * one is in the release's namespace; the deployer deletes no cluster-scoped object; and no delete
   * hook would run as the engine, nor replace an object that is no hook (`checkDeleteHooks`), nor be
   * refused by the chart policy for the namespace or be of an RBAC or NetworkPolicy kind
   * (`deleteHookPolicyProblems`). Otherwise nothing is uninstalled and the objects are named. Then the
   * engine uninstalls from what it checked (`uninstallChecked`), never letting helm read the records
   * again: the delete hooks of the checked record run as the deployer, its objects are deleted each
   * only while its uid is the one checked, and the records each only while unchanged since the check;
   * a record rewritten or written after the check, or an object replaced, fails the run naming it.
   */
  private async uninstallRelease(
    cluster: string,
    namespace: string,
    tenant: string,
    release: string,
    ctx: RunContext,
    run: Run,
    scope: RunScope,
  ): Promise<boolean> {
    const { settings, discovery } = this.deps;
    const allowedKinds = settings.allowedClusterScopedKinds[cluster] ?? [];
    const deployerClient = this.deps.scopedClient(cluster, namespace);
    // What helm acts on: the record it finds as current, read as it reads it. helm skips a record it
    // cannot decode, so any record may be the one it finds: every record is checked.
    const { all: current } = await readCurrentHelmReleases(
      deployerClient,
      namespace,
      release,
    );
    // helm finds no release to uninstall.
    if (current.length === 0) return false;
    const refused = (why: string) =>
      new RunFailure(
        `Release ${release} in ${namespace} was not uninstalled: its release record (${current
          .map(r => `${r.secret}, revision ${r.version}`)
          .join(
            '; ',
          )}) ${why}. The release record is a Secret in the namespace: correct it, or delete it and remove what this release installed yourself, then try again.`,
      );
    const parsed = async (manifest: string) => {
      try {
        return await parseManifestsInTurns(manifest);
      } catch (e) {
        // What helm would delete cannot be known: refused, never guessed.
        throw refused(
          `cannot be read as manifests (${
            e instanceof Error ? e.message : String(e)
          }), so what helm would delete cannot be checked`,
        );
      }
    };
    const objects: KubeObject[] = [];
    for (const r of current) objects.push(...(await parsed(r.manifest)));
    const hooks: KubeObject[] = [];
    for (const r of current)
      for (const h of r.hooks)
        hooks.push(
          ...(await parsed(h.manifest)).filter(o => isDeleteHook(h, o)),
        );
    const isNamespaced = await discovery.lookup(cluster, [
      ...objects,
      ...hooks,
    ]);
    const clusterScoped = objects.filter(
      o => isNamespaced(String(o.apiVersion), String(o.kind)) === false,
    );
    const asEngine =
      clusterScoped.length > 0 &&
      clusterScoped.every(o =>
        allowedKinds.includes(groupKind(String(o.apiVersion), String(o.kind))),
      );
    const owner = { release, namespace, tenant };
    let problems: string[];
    let objectUids = new Map<string, string>();
    let hookUids = new Map<string, string>();
    if (asEngine) {
      const checked = await checkReleaseOwnership(
        this.deps.client(cluster),
        isNamespaced,
        owner,
        objects,
      );
      ({ problems, uids: objectUids } = checked);
      problems.push(
        ...hooks.map(
          h =>
            `${h.kind}/${h.metadata?.name}: a delete hook, which would run as the engine's identity`,
        ),
      );
    } else {
      const checked = await checkReleaseOwnership(
        deployerClient,
        isNamespaced,
        owner,
        objects.filter(o => !clusterScoped.includes(o)),
      );
      const checkedHooks = await checkDeleteHooks(
        deployerClient,
        isNamespaced,
        namespace,
        hooks,
      );
      objectUids = checked.uids;
      hookUids = checkedHooks.uids;
      problems = [
        ...clusterScoped.map(
          o =>
            `${o.kind}/${o.metadata?.name}: cluster-scoped, which the namespace's deployer may not delete`,
        ),
        ...checked.problems,
        ...checkedHooks.problems,
        // helm creates the hooks as the deployer: checked as a chart's rendered objects are.
        ...(hooks.length > 0
          ? deleteHookPolicyProblems(
              hooks,
              await this.deps.policy.checkInTurns(
                hooks,
                settings.enforceRunScope
                  ? {
                      scope: toPolicyScope(
                        scope,
                        isNamespaced,
                        await this.tenantResourceObjects(run, scope),
                      ),
                      ...(await ingressHostsOption(this.deps, cluster, hooks)),
                    }
                  : {},
              ),
            )
          : []),
      ];
    }
    if (problems.length > 0) {
      throw refused(
        `${
          asEngine
            ? "holds cluster-scoped objects, which only the engine's identity may delete, and it does not hold only what this release installed"
            : "does not hold only what this release installed, which helm would delete as the namespace's deployer"
        }: ${problems.join('; ')}`,
      );
    }
    const step = `uninstall:${release}`;
    if (asEngine) {
      ctx.log(
        `[${release}] uninstalled by the engine's identity: it has allowed cluster-scoped objects (${clusterScoped
          .map(o => `${o.kind}/${o.metadata?.name}`)
          .join(', ')}), each checked to carry this release's ownership`,
        'warn',
        step,
      );
    }
    // The engine uninstalls from what it checked: `helm uninstall` would read the records again.
    await uninstallChecked({
      release,
      namespace,
      records: current,
      isNamespaced,
      objectUids,
      hookUids,
      client: asEngine ? this.deps.client(cluster) : deployerClient,
      deployer: deployerClient,
      waitTimeoutMs: settings.waitTimeoutSeconds * 1000,
      pollIntervalMs: settings.waitPollIntervalMs,
      // The whole uninstall, as helm's --timeout bounded `helm uninstall`.
      timeoutMs: settings.helmTimeoutSeconds * 1000,
      log: (message, level) => ctx.log(`[${release}] ${message}`, level, step),
      outcome: nothing => ctx.refusalOutcome(nothing),
    });
    return true;
  }

  /**
   * For runs into an existing namespace (chart, manifests, rollback): the namespace must exist (only a
   * tenant run or the platform creates namespaces) and gets its deployer if it has none yet.
   */
  private async prepareNamespace(
    ctx: RunContext,
    cluster: string,
    namespace: string,
  ) {
    const client = this.deps.client(cluster);
    await this.step(
      ctx,
      'namespace',
      async () => {
        if (!(await client.namespaceExists(namespace))) {
          throw new RunFailure(
            `Namespace ${namespace} does not exist on cluster ${cluster}; provision its tenant first`,
          );
        }
        return 'skipped';
      },
      () => `namespace ${namespace} exists`,
    );
    await this.step(
      ctx,
      'deployer',
      () =>
        ensureDeployer(
          client,
          namespace,
          { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          this.deps.settings,
        ),
      r => String(r),
    );
  }

  /** Logs the failed rules of a report and throws when it blocks. */
  private enforce(
    ctx: RunContext,
    report: PolicyReport,
    what: string,
    step: string,
    prefix = '',
    outcome = 'nothing was applied',
  ) {
    for (const r of report.results.filter(x => !x.passed)) {
      ctx.log(
        `${prefix}policy ${r.severity} [${r.ruleId}] ${r.object.kind}/${r.object.name}: ${r.message}`,
        r.severity === 'error' ? 'error' : 'warn',
        step,
      );
    }
    if (report.blocking) {
      // "nothing was …" only while the run has changed no cluster (an earlier release may be live).
      throw new RunFailure(
        // The mode in force: under warn or off only the rules that block in every mode block.
        `Chart policy (${report.mode}) blocked ${what}; ${ctx.refusalOutcome(
          outcome,
        )}:\n${formatPolicyFailures(report)}`,
      );
    }
  }

  /**
   * Reads the tenant's credentials Secret, generating only the credentials it lacks. Done as the
   * tenant's deployer: the engine's own identity never reads Secrets.
   */
  private async ensureCredentials(
    client: KubeClient,
    namespace: string,
    labels: Record<string, string>,
    names: string[],
    ctx: RunContext,
  ) {
    const existing = await client.read<any>({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: TENANT_CREDENTIALS_SECRET, namespace },
    });
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries<string>(existing?.data ?? {}))
      data[k] = Buffer.from(v, 'base64').toString('utf8');
    const missing = names.filter(n => !data[n]);
    for (const n of missing) data[n] = randomBytes(18).toString('base64url');
    ctx.addSecrets(Object.values(data));
    if (!existing || missing.length) {
      await client.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: TENANT_CREDENTIALS_SECRET, namespace, labels },
        type: 'Opaque',
        data: Object.fromEntries(
          Object.entries(data).map(([k, v]) => [
            k,
            Buffer.from(v).toString('base64'),
          ]),
        ),
      } as any);
      ctx.log(
        `generated ${missing.length} credential(s): ${missing.join(', ')}`,
        'info',
        'credentials',
      );
    }
    return Object.fromEntries(names.map(n => [n, data[n]]));
  }

  /**
   * The objects of the tenant resource providers in the run's tenant namespace, which no chart, hook
   * or manifest may replace (the built-in ones are in every policy scope, see `toPolicyScope`). They
   * are what the providers make of the tenant's input: this run's for a tenant run, else the last
   * tenant run's. Fails closed: a tenant whose providers cannot be asked is not deployed to.
   */
  private async tenantResourceObjects(
    run: Run,
    scope: RunScope,
  ): Promise<ProtectedObject[]> {
    const { tenantResources, store } = this.deps;
    const tenant = scope.tenant;
    if (!tenant || tenantResources.length === 0) return [];
    const namespace = scope.defaultNamespace;
    let input: TenantRunInput | undefined;
    if (run.kind === 'tenant') input = run.input as TenantRunInput;
    else {
      const record = (await store.getTenants(tenant)).find(
        t => t.code === tenant && t.cluster === scope.cluster,
      );
      const last = record?.lastRunId
        ? await store.getRun(record.lastRunId)
        : undefined;
      if (last?.kind === 'tenant') input = last.input as TenantRunInput;
    }
    if (!input) {
      throw new RunFailure(
        `The tenant resources of tenant ${tenant} on cluster ${scope.cluster} cannot be told (no tenant run of it is recorded), so the engine cannot keep this run from replacing them; nothing was applied. Run the tenant again, then this run.`,
      );
    }
    const out: ProtectedObject[] = [];
    for (const provider of tenantResources) {
      const objects = await provider.resources({
        tenant,
        namespace,
        cluster: scope.cluster,
        input,
      });
      for (const o of objects) {
        out.push({
          kind: String(o.kind ?? ''),
          name: String(o.metadata?.name ?? ''),
          namespace: effectiveNamespace(o, namespace),
        });
      }
    }
    return out;
  }

  private async chart(
    run: Run,
    input: ChartRunInput,
    ctx: RunContext,
    scope: RunScope,
    work: RunWork,
  ) {
    const { settings } = this.deps;
    const client = this.deps.client(input.cluster);
    const values = input.release.values ?? {};
    ctx.addSecrets(values);
    const declared = declaredSecretValues(input);
    ctx.addSecrets(declared);
    await this.prepareNamespace(ctx, input.cluster, input.namespace);
    const kept = redactDeclaredSecrets(redactValues(values), declared);
    await this.recordingReleases(run, kept, work, () =>
      this.step(ctx, `release:${input.release.name}`, () =>
        this.installRelease(
          run,
          ctx,
          scope,
          input.release,
          values,
          work,
          // The revision it leaves the release at, and its record's digest (as helm wrote it): what
          // "roll back to this run" returns to; recorded too when the run then fails as a later one
          // was written.
          at =>
            this.deps.store.updateRun(run.id, {
              helmRevision: at.revision,
              releaseRecordDigest: at.digest,
            }),
        ),
      ),
    );
    await this.step(ctx, 'wait', () =>
      waitForReady({
        client,
        cluster: input.cluster,
        namespace: input.namespace,
        release: input.release.name,
        timeoutMs:
          (input.waitTimeoutSeconds ?? settings.waitTimeoutSeconds) * 1000,
        pollIntervalMs: settings.waitPollIntervalMs,
        failFastMs: settings.failFastSeconds * 1000,
        ctx,
        step: 'wait',
      }),
    );
  }

  private async manifests(
    run: Run,
    input: ManifestsRunInput,
    ctx: RunContext,
    scope: RunScope,
    naming: TenantNaming | undefined,
  ) {
    const { settings, discovery } = this.deps;
    // Read as when it was submitted (the same bounds), a document per turn of the event loop.
    const parsed = await parseManifestsInTurns(input.manifests, {
      maxObjects: MAX_POLICY_OBJECTS,
    });
    // The values of the Secrets it applies are removed wherever else they appear (a ConfigMap, an
    // annotation), and so are the texts its caller declares secret (a template's task secrets).
    ctx.addSecrets(collectManifestSecretValues(parsed));
    ctx.addSecrets(declaredManifestSecretValues(input, parsed));
    const isNamespaced = await discovery.lookup(input.cluster, parsed);
    const namespacedKind = (o: KubeObject) =>
      isNamespaced(String(o.apiVersion), String(o.kind)) === true;
    // Namespaced objects without a namespace go to the run's namespace; cluster-scoped ones get none.
    const objects = parsed.map(o =>
      namespacedKind(o) && !o.metadata?.namespace
        ? { ...o, metadata: { ...o.metadata, namespace: input.namespace } }
        : o,
    );
    // In a tenant's namespace the objects (and their pods) carry the tenant's label, as its releases'
    // do, so the tenant's catalog entity selects them; a label naming another tenant is replaced.
    if (scope.tenant)
      objects.forEach(o =>
        labelObject(o, { [KUBECHART_TENANT_LABEL]: scope.tenant! }),
      );
    // The stored manifest is what is applied (namespaces and labels included), refused or not.
    const sent = objects
      // Written as helm and the policy read manifests (YAML 1.1), so a string such as "yes" stays quoted.
      .map(o =>
        yaml.dump(o, { schema: HELM_YAML_SCHEMA, noRefs: true, lineWidth: -1 }),
      )
      .join('---\n');
    const record = async (report: PolicyReport) =>
      this.deps.store.updateRun(run.id, {
        policyReport: ctx.redactDeep(report),
        manifest: await ctx.redactManifestInTurns(sent),
      });
    let report = await this.deps.policy.checkInTurns(
      objects,
      settings.enforceRunScope
        ? {
            scope: toPolicyScope(
              scope,
              isNamespaced,
              await this.tenantResourceObjects(run, scope),
            ),
            ...(await ingressHostsOption(this.deps, input.cluster, objects)),
          }
        : {},
    );
    if (report.results.some(r => r.ruleId === 'run-scope' && !r.passed)) {
      // Refused before the namespace is even looked at.
      await record(report);
      this.enforce(ctx, report, 'the manifests', 'policy');
    }
    await this.prepareNamespace(ctx, input.cluster, input.namespace);
    const scoped = this.deps.scopedClient(input.cluster, input.namespace);
    const engine = this.deps.client(input.cluster);
    // Apply is forced: refuse objects that already belong to someone else instead of taking them over.
    if (settings.enforceRunScope) {
      report = withRefusals(
        report,
        await objectOwnershipResults(
          objects.filter(namespacedKind),
          scope,
          o => scoped.read(o as any),
          undefined,
          tenantCodeNamer(naming, input.cluster, this.deps.store),
        ),
      );
    }
    await record(report);
    this.enforce(ctx, report, 'the manifests', 'policy');
    for (const o of objects) {
      // Allowed cluster-scoped kinds are beyond the deployer's namespaced role; the engine applies them.
      const client =
        namespacedKind(o) || !settings.enforceRunScope ? scoped : engine;
      await this.step(
        ctx,
        `apply:${o.kind}/${o.metadata?.name}`,
        async () => client.applyIfChanged(o as any),
        r => `${o.kind}/${o.metadata?.name}: ${r}`,
      );
    }
    // A Job or bare Pod it applied runs to an outcome of its own: the run succeeds only once each has
    // completed (or the Pod is Ready), and fails when one fails.
    const waitFor = new Map<string, Array<{ kind: string; name: string }>>();
    for (const o of objects) {
      const ns = o.metadata?.namespace;
      const job = o.kind === 'Job' && o.apiVersion === 'batch/v1';
      const pod = o.kind === 'Pod' && o.apiVersion === 'v1';
      if (!ns || !(job || pod)) continue;
      waitFor.set(ns, [
        ...(waitFor.get(ns) ?? []),
        { kind: String(o.kind), name: String(o.metadata?.name) },
      ]);
    }
    for (const [ns, waited] of waitFor) {
      const step = waitFor.size > 1 ? `wait:${ns}` : 'wait';
      await this.step(
        ctx,
        step,
        () =>
          waitForReady({
            client: engine,
            cluster: input.cluster,
            namespace: ns,
            objects: waited,
            timeoutMs: settings.waitTimeoutSeconds * 1000,
            pollIntervalMs: settings.waitPollIntervalMs,
            failFastMs: settings.failFastSeconds * 1000,
            ctx,
            step,
          }),
        r =>
          r === 'skipped' ? '' : `${r.workloads.length} Job(s) and Pod(s) done`,
      );
    }
  }

  /**
   * The revision a rollback returns to is judged by the current chart policy, `run-scope` included,
   * before helm rolls back: a revision that policy would refuse today is not brought back. It is
   * judged as the release's records were checked (`checked`), the list their watch starts from: a
   * record rewritten after that list is a change the watch sees. The report and the judged manifest
   * are recorded in the run; a revision without a release record to judge fails closed.
   * An approved rollback (`approved`: the digest of the record in its plan) returns only to the
   * record the approvers saw: one rewritten since is refused before it is judged or recorded, so the
   * run keeps the approved plan, and its approval ends as `changed` (nothing of it was applied).
   * A rollback from a history run (`bound`) returns only to the record that run recorded, likewise.
   * Resolves to the judged manifest (hooks included), which what helm applies must equal.
   */
  private async checkRollbackRevision(
    run: Run,
    input: RollbackRunInput,
    ctx: RunContext,
    scope: RunScope,
    checked: CurrentHelmReleases,
    approved: string | undefined,
    bound: RunExecution['boundRevision'],
  ) {
    const { policy, store, settings, discovery } = this.deps;
    const target = checked.all.find(r => r.version === input.revision);
    if (!target) {
      throw new RunFailure(
        `Revision ${input.revision} of release ${input.release} in ${input.namespace} has no Helm release record to check against the chart policy; nothing was rolled back`,
      );
    }
    if (approved !== undefined && approvedRevisionOf(target) !== approved) {
      await store
        .endExecutedApproval(run.id, 'changed')
        .catch(e =>
          ctx.log(
            `the approval of this run could not be recorded as changed: ${e}`,
            'warn',
            `rollback:${input.release}`,
          ),
        );
      throw new RunFailure(
        `Revision ${input.revision} of ${
          input.release
        } changed since it was approved; ${ctx.refusalOutcome(
          'nothing was rolled back',
        )}. Its release record ${
          target.secret
        } no longer holds the manifest, chart and values of the approved plan (the namespace's users may write it); request the rollback again for a new approval.`,
      );
    }
    if (bound && approvedRevisionOf(target) !== bound.digest) {
      throw new RunFailure(
        `${unboundRevisionReason(
          input,
          bound.runId,
          true,
        )}; ${ctx.refusalOutcome(
          'nothing was rolled back',
        )}. Choose the revision again from the release's history.`,
      );
    }
    const judged = await judgeRollbackRecord(
      {
        policy,
        discovery,
        clusters: this.deps.clusters,
        enforceRunScope: settings.enforceRunScope,
      },
      target,
      input,
      scope,
    );
    // Secret values of the revision returned to, and of the one it replaces (the highest), are
    // removed wherever they appear.
    const current = checked.all.reduce<StoredHelmRelease | undefined>(
      (top, r) => (top && top.version >= r.version ? top : r),
      undefined,
    );
    ctx.addSecrets(rollbackSecretValues(judged, current));
    const { manifest, report } = judged;
    await store.updateRun(run.id, {
      policyReport: ctx.redactDeep(report),
      manifest: await ctx.redactManifestInTurns(manifest),
    });
    this.enforce(
      ctx,
      report,
      `the rollback of ${input.release} to revision ${input.revision}`,
      'policy',
      `[${input.release}] `,
      'nothing was rolled back',
    );
    return manifest;
  }

  private async rollback(
    run: Run,
    input: RollbackRunInput,
    ctx: RunContext,
    scope: RunScope,
    approvedRevision?: string,
    boundRevision?: RunExecution['boundRevision'],
  ) {
    const { helm, clusters, store, settings } = this.deps;
    await this.prepareNamespace(ctx, input.cluster, input.namespace);
    const kubeconfig = clusters.kubeconfigYaml(input.cluster);
    const impersonate = { user: deployerUser(input.namespace, settings) };
    const history = await helm.history({
      release: input.release,
      namespace: input.namespace,
      kubeconfig,
      impersonate,
    });
    if (!history.some(h => h.revision === input.revision)) {
      throw new RunFailure(
        `Release ${input.release} in ${input.namespace} has no revision ${
          input.revision
        }; known revisions: ${
          history.map(h => h.revision).join(', ') || 'none'
        }`,
      );
    }
    // helm deletes what the current record names and the revision does not, as the upgrade does.
    const checked = await this.checkCurrentRecords(
      ctx,
      scope,
      input.release,
      false,
      'rolled back',
    );
    const judged = await this.checkRollbackRevision(
      run,
      input,
      ctx,
      scope,
      checked,
      approvedRevision,
      boundRevision,
    );
    // helm rolls back from the release's last record, writing the revision after it: the last one
    // checked (the records are watched from their check until helm writes its record, see below).
    const helmWrites = Math.max(0, ...checked.all.map(r => r.version)) + 1;
    const helmRecord = `sh.helm.release.v1.${input.release}.v${helmWrites}`;
    // helm reads the revision again, from a Secret the namespace's users may rewrite after the check:
    // what it creates and applies is compared with what was judged.
    const records = await watchCreatedRevisions(
      this.deps.scopedClient(input.cluster, input.namespace),
      input.namespace,
      input.release,
    );
    /**
     * The records from their check on, until helm writes its record of the rollback (having read what
     * it acts on): only helm's pruning of the history may change them meanwhile.
     */
    let checkedWatch: ReleaseRecordWatch | undefined;
    /** What changed of the records (`created`: helm's record of the rollback), in words naming only the release. */
    const recordsChanged = async (created?: string) => {
      try {
        const change = await checkedWatch!.changedSince(created);
        return (
          change && `a release record of ${input.release} was ${change.was}`
        );
      } catch (e) {
        return `whether a release record of ${
          input.release
        } was written cannot be told: ${(e as Error)?.message ?? e}`;
      }
    };
    try {
      checkedWatch = await this.watchCheckedRecords(
        ctx,
        scope,
        input.release,
        checked,
        false,
        'rolls it back',
      );
      // helm rollback has no post-render gate: a change up to here is refused before helm runs.
      const early = await recordsChanged();
      if (early) {
        throw new RunFailure(
          `Release ${input.release} in ${
            input.namespace
          } was not rolled back: its release records changed after they were checked (${early}), and helm would act on a record that was not checked; ${ctx.refusalOutcome(
            'nothing was rolled back',
          )}. Submit the run again.`,
        );
      }
      /** helm failed (an error, a timeout, a hook): it may have created and applied part of a revision. */
      let helmFailed: { error: unknown } | undefined;
      try {
        await this.step(ctx, `rollback:${input.release}`, async () => {
          await helm.rollback({
            release: input.release,
            namespace: input.namespace,
            revision: input.revision,
            kubeconfig,
            impersonate,
            onLine: ctx.helmOutput(`[${input.release}]`),
          });
          return 'done';
        });
      } catch (error) {
        helmFailed = { error };
      }
      let status: Awaited<ReturnType<typeof helm.status>>;
      try {
        status = await helm.status({
          release: input.release,
          namespace: input.namespace,
          kubeconfig,
          impersonate,
        });
      } catch (e) {
        throw helmFailed ? helmFailed.error : e;
      }
      // A failed helm that created no revision applied nothing of one: its error stands alone.
      const before = Math.max(0, ...history.map(h => h.revision));
      // Nor did one that found its record's name taken, whoever wrote the record there.
      const taken =
        helmFailed &&
        (await this.nextRecordTaken(
          ctx,
          scope,
          input.release,
          helmFailed.error,
          async () => Math.min(before, Number(status?.version ?? before)),
          'rolled back',
        ));
      if (taken) throw new RunFailure(taken);
      if (helmFailed && !(Number(status?.version) > before)) {
        throw helmFailed.error;
      }
      const message = (e: unknown) => (isError(e) ? e.message : String(e));
      /**
       * helm's record of the rollback, as helm first wrote it: the first record created since before
       * helm ran, revision `helmWrites`, written as a rollback's. Not the release's latest record once
       * helm has exited, which someone's `helm upgrade` by hand may have written (named in `later`).
       */
      let created: (CreatedRevision & { later: LaterRecord[] }) | undefined;
      let unconfirmed: string | undefined;
      try {
        const first = await records.createdFirst(helmWrites);
        if (first.status !== 'pending-rollback') {
          throw new RunFailure(
            `${helmRecord}, the first release record of ${input.release} created while it ran, was first written as ${first.status}, not as helm writes its record of a rollback (pending-rollback): someone else wrote it`,
          );
        }
        created = first;
      } catch (e) {
        // While helm has failed, its error is reported first, whatever else fails (see below).
        if (!(e instanceof RunFailure) && !helmFailed) throw e;
        unconfirmed = message(e);
      }
      // A change from the gate until helm wrote its record may be what helm acted on: it cannot be
      // undone, but the rollback is not reported as done.
      const lateChange = await recordsChanged(helmRecord);
      // What helm applied, its hooks included (as a chart run records it and the check judged it):
      // its record as helm first wrote it. When that cannot be told, the run keeps the judged
      // manifest it recorded, and no revision, manifest or values of another record.
      const applied = created?.manifest;
      const config = created?.config;
      const changed = created && applied !== judged ? created : undefined;
      try {
        if (created) {
          let shown = true;
          try {
            ctx.addSecrets(rollbackSecretValues({ config, manifest: applied }));
          } catch (e) {
            // A manifest the policy did not judge, and whose secret values cannot be told: not shown
            // (nor the judged one in its place).
            if (changed === undefined) throw e;
            shown = false;
          }
          let manifest = applied
            ? await ctx.redactManifestInTurns(applied)
            : undefined;
          if (!shown) manifest = '';
          await store.updateRun(run.id, {
            helmRevision: created.version,
            // The record as helm first wrote it, when it is the judged one: what a rollback from this
            // run's history row returns to.
            ...(!changed ? { releaseRecordDigest: created.digest } : {}),
            manifest,
            values:
              config && shown
                ? ctx.redactDeep(redactValues(config))
                : undefined,
          });
        }
      } catch (e) {
        if (!helmFailed) throw e;
        throw new RunFailure(`${message(helmFailed.error)}; ${message(e)}`);
      }
      let mismatch: string | undefined;
      if (changed) {
        mismatch = `Revision ${input.revision} of release ${input.release} changed after it was checked: helm applied a manifest the chart policy did not judge (revision ${changed.version}); the rollback is not reported as done`;
      } else if (unconfirmed !== undefined) {
        mismatch = `What helm applied for the rollback of ${input.release} to revision ${input.revision} cannot be confirmed to be the revision the chart policy judged: ${unconfirmed}; the rollback is not reported as done`;
      } else if (lateChange !== undefined) {
        mismatch = `The release records of ${input.release} in ${input.namespace} changed after they were checked and before helm wrote its record of the rollback (${lateChange}): helm may have acted on a record that was not checked; the rollback is not reported as done`;
      } else if (created?.later.length) {
        mismatch = laterRecordsWritten(
          input.release,
          input.namespace,
          created.version,
          created.later,
          input.revision,
        );
      }
      if (helmFailed) {
        const { error } = helmFailed;
        if (mismatch === undefined) throw error;
        throw new RunFailure(`${message(error)}; ${mismatch}`);
      }
      if (mismatch !== undefined) throw new RunFailure(mismatch);
    } finally {
      checkedWatch?.close();
      records.close();
    }
    // As a chart run: it succeeded only once the release's workloads are Ready.
    await this.step(ctx, 'wait', () =>
      waitForReady({
        client: this.deps.client(input.cluster),
        cluster: input.cluster,
        namespace: input.namespace,
        release: input.release,
        timeoutMs: settings.waitTimeoutSeconds * 1000,
        pollIntervalMs: settings.waitPollIntervalMs,
        failFastMs: settings.failFastSeconds * 1000,
        ctx,
        step: 'wait',
      }),
    );
  }

  private async tenantDelete(
    run: Run,
    input: TenantDeleteRunInput,
    ctx: RunContext,
    scope: RunScope,
    naming: TenantNaming | undefined,
  ) {
    const { store } = this.deps;
    const namespace = run.target.namespace;
    const client = this.deps.client(input.cluster);
    const tenant = (await store.getTenants(input.tenant)).find(
      t => t.cluster === input.cluster,
    );
    // Only the namespace KubeChart created for this tenant is deleted: nothing is uninstalled otherwise.
    await checkTenantNamespace(
      await client.read({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      }),
      { cluster: input.cluster, namespace, tenant: input.tenant },
      'tenant-delete',
      tenantCodeNamer(naming, input.cluster, this.deps.store),
    );
    const phase = await client.namespacePhase(namespace);
    if (phase === 'Active') {
      // The deployer reads and uninstalls the releases: a tenant from before its deployer moved to
      // kubechart.tenant.deployer.namespace has it in its namespace still.
      await this.step(
        ctx,
        'deployer',
        () =>
          ensureDeployer(
            client,
            namespace,
            {
              [KUBECHART_TENANT_LABEL]: input.tenant,
              [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
            },
            this.deps.settings,
          ),
        r => String(r),
      );
    }
    // Releases we recorded, plus any helm release stored in the namespace.
    const helmSecrets =
      phase !== 'absent'
        ? await this.deps
            .scopedClient(input.cluster, namespace)
            .core.listNamespacedSecret({
              namespace,
              labelSelector: 'owner=helm',
            })
        : { items: [] };
    const releases = new Set([
      ...(tenant?.releases ?? []),
      ...helmSecrets.items
        .map(s => s.metadata?.labels?.name)
        .filter((n): n is string => !!n),
    ]);
    for (const release of releases) {
      await this.step(ctx, `uninstall:${release}`, async () => {
        const removed = await this.uninstallRelease(
          input.cluster,
          namespace,
          input.tenant,
          release,
          ctx,
          run,
          scope,
        );
        return removed ? 'uninstalled' : 'skipped';
      });
    }
    await this.step(
      ctx,
      'namespace',
      async () =>
        (await client.deleteNamespace(namespace)) === 'absent'
          ? 'skipped'
          : 'deleted',
      r => `namespace ${namespace}: ${r}`,
    );
    // A deleted namespace stays Terminating until its contents are gone; the tenant is deleted only then.
    const { namespaceDeletionTimeoutSeconds, waitPollIntervalMs } =
      this.deps.settings;
    await this.step(
      ctx,
      'namespace-gone',
      async () => {
        const gone = await client.waitForNamespaceGone(namespace, {
          timeoutMs: namespaceDeletionTimeoutSeconds * 1000,
          pollIntervalMs: waitPollIntervalMs,
          onProgress: (ms, detail) =>
            ctx.log(
              `namespace ${namespace} is still terminating after ${Math.round(
                ms / 1000,
              )}s${detail ? `: ${detail}` : ''}`,
              'info',
              'namespace-gone',
            ),
        });
        if (!gone) {
          throw new RunFailure(
            `namespace ${namespace} is still terminating after ${namespaceDeletionTimeoutSeconds}s (kubechart.wait.namespaceDeletionTimeoutSeconds); check what blocks it (finalizers, remaining objects) and delete the tenant again`,
          );
        }
        return 'gone';
      },
      () => `namespace ${namespace} is gone`,
    );
    // Its deployer, in the deployers' namespace, outlives the namespace otherwise.
    const account = deployerAccount(namespace, this.deps.settings);
    await this.step(
      ctx,
      'deployer-deleted',
      async () =>
        (await client.delete({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: account,
        })) === 'absent'
          ? 'skipped'
          : 'deleted',
      r => `ServiceAccount ${account.name} in ${account.namespace}: ${r}`,
    );
    // Objects of the allowed cluster-scoped kinds outlive the namespace: any still labelled for the
    // tenant is named, and the tenant is not marked deleted while they remain.
    const allowedKinds =
      this.deps.settings.allowedClusterScopedKinds[input.cluster] ?? [];
    if (allowedKinds.length === 0) return;
    await this.step(
      ctx,
      'cluster-scoped',
      async () => {
        const { apiVersions } = await this.deps.discovery.capabilities(
          input.cluster,
        );
        const left: string[] = [];
        for (const allowed of allowedKinds) {
          const slash = allowed.lastIndexOf('/');
          const group = allowed.slice(0, slash);
          const kind = allowed.slice(slash + 1);
          // `<group>/<version>/<Kind>` (`<version>/<Kind>` for the core group), as discovery serves it.
          const served = apiVersions.find(v => {
            const parts = v.split('/');
            return group
              ? parts.length === 3 && parts[0] === group && parts[2] === kind
              : parts.length === 2 && parts[1] === kind;
          });
          if (!served) continue;
          const list = await client.objects.list(
            served.slice(0, served.lastIndexOf('/')),
            kind,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            `${KUBECHART_TENANT_LABEL}=${input.tenant}`,
          );
          left.push(...list.items.map(o => `${kind}/${o.metadata?.name}`));
        }
        if (left.length > 0) {
          throw new RunFailure(
            `tenant ${
              input.tenant
            }'s namespace ${namespace} is gone, but cluster-scoped objects labelled ${KUBECHART_TENANT_LABEL}=${
              input.tenant
            } remain: ${left.join(
              ', ',
            )}; they are in no release KubeChart uninstalled. Delete them (or take the label off) and delete the tenant again`,
          );
        }
        return 'none';
      },
      () => `no cluster-scoped objects of tenant ${input.tenant} remain`,
    );
  }
}
