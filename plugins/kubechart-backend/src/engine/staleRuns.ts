import { LoggerService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  ReleaseSpec,
  Run,
  TENANT_CREDENTIALS_SECRET,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterRegistry,
  REDACTED,
  parseManifests,
  readChartYaml,
} from '@kubechart/plugin-kubechart-node';
import path from 'node:path';
import { canonicalJson } from '../approvals/plan';
import { RunStore, StaleRun } from '../database/RunStore';
import { compareObject, formatPath } from '../drift/compare';
import { KubeClient } from '../lib/KubeClient';
import {
  StoredHelmRelease,
  readHelmRelease,
  readLatestHelmRelease,
} from '../lib/helmRelease';
import { describeKubeError } from '../lib/kubeErrors';
import { describeNotReady, evaluateNamespace } from '../lib/readiness';
import { resolveReleaseSource } from './chartCheck';
import { deployerReadingUser } from './deployer';
import { withHooks } from './helm3Hooks';
import { mergeValues } from './executors';
import { asEnded, expectedReleases, releasesToPrune } from './runOutcomes';
import { EngineSettings } from './settings';

/**
 * What was observed about a stale run, in words: who held it, when it was last heard of, and which
 * instance took its lease over. E.g. "heartbeat lost: backend instance a last recorded one at
 * 2026-12-02T22:30:01.000Z, 9s before this check (stale after 2s); lease taken over by backend instance b".
 */
export function describeLostHeartbeat(
  run: StaleRun,
  options: { now: number; staleAfterSeconds: number; reconciler: string },
): string {
  const last = run.heartbeatAt ? Date.parse(run.heartbeatAt) : undefined;
  const when =
    last === undefined
      ? 'never'
      : `at ${run.heartbeatAt}, ${Math.max(
          0,
          Math.round((options.now - last) / 1000),
        )}s before this check`;
  let holder = 'no backend instance claimed the run; it was last heard of';
  if (run.action)
    holder = `the action ${run.action} that recorded this run last reported`;
  else if (run.executor)
    holder = `backend instance ${run.executor} last recorded a heartbeat`;
  return `heartbeat lost: ${holder} ${when} (stale after ${options.staleAfterSeconds}s); lease taken over by backend instance ${options.reconciler}`;
}

export type StaleRunDeps = {
  store: RunStore;
  clusters: ClusterRegistry;
  settings: EngineSettings;
  logger: LoggerService;
  client(cluster: string): KubeClient;
  /**
   * A client acting as the deployer of `namespace`, which reads what runs write there (Helm release
   * records are Secrets, which the engine's own identity does not read). Default: a new one.
   */
  scopedClient?(
    cluster: string,
    namespace: string,
  ): KubeClient | Promise<KubeClient>;
  /** This instance: the one taking the leases over. */
  instanceId: string;
  /** Runs this instance executes itself (never reconciled here). */
  isActive(runId: string): boolean;
  onRunChanged?(run: Run): void;
};

/** What the cluster shows of a stale run's own change: `shown` only when it shows all of it. */
type Observation = { shown: boolean; evidence: string };

/** At most this many objects are named one by one in a reason. */
const MAX_NAMED = 10;

function nameObjects(names: string[]): string {
  const more = names.length - MAX_NAMED;
  return `${names.slice(0, MAX_NAMED).join(', ')}${
    more > 0 ? ` and ${more} more` : ''
  }`;
}

/** A whole SemVer 2.0 version: what helm pulls exactly, where anything else is a range it resolves. */
const EXACT_VERSION =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/**
 * The chart (name, and version when it asks for one) a release of a run's request names, as helm
 * resolves it; a string when that cannot be told without what helm resolved for the run (its reason).
 * A repository chart is its name; an `oci://` reference the last segment of its path, its tag (helm
 * writes a version's `+` as `_` in a tag) the version unless one is given; a local chart the name of
 * the Chart.yaml of the chart directory it resolves to in `kubechart.helm.chartDirectories` (read
 * within the bounds a run reads it with), whose version helm takes as given (a range is refused
 * there). A version range of a remote chart, and a local chart package (`.tgz`), are not resolved here.
 * @internal
 */
export async function requestedChart(
  release: ReleaseSpec,
  settings: EngineSettings,
): Promise<{ name: string; version?: string } | string> {
  const { chart, repo } = release;
  let version = release.version;
  const remote = chart.startsWith('oci://') || repo !== undefined;
  let name = chart;
  if (chart.startsWith('oci://')) {
    const last = chart.slice(chart.lastIndexOf('/') + 1);
    const [reference] = last.split('@');
    const colon = reference.indexOf(':');
    name = colon < 0 ? reference : reference.slice(0, colon);
    const tag = colon < 0 ? '' : reference.slice(colon + 1).replace(/_/g, '+');
    if (tag && version !== undefined && tag !== version)
      return `its chart reference is tagged ${tag}, which is not the version ${version} it asks for`;
    if (tag) version = tag;
  } else if (repo === undefined) {
    let source;
    try {
      source = await resolveReleaseSource(release, settings);
    } catch (e) {
      return `its chart ${chart} cannot be read: ${(e as Error).message}`;
    }
    if (source.type !== 'directory')
      return `its chart ${chart} cannot be read: it is not a local chart`;
    if (source.chart.endsWith('.tgz'))
      return `it asked for the chart package ${path.basename(
        source.chart,
      )}, whose Chart.yaml is not read here, and recorded no chart helm pulled`;
    let meta: Record<string, unknown> | undefined;
    try {
      // Within the bounds a run reads it with (pullChart).
      meta = await readChartYaml(
        source.chart,
        `Chart.yaml of chart ${path.basename(source.chart)}`,
      );
    } catch (e) {
      // A refusal names the file and the bound; any other error's text names the server's file system.
      if (e instanceof InputError)
        return `its chart ${chart} cannot be read: ${e.message}`;
      return `its chart ${chart} cannot be read: its Chart.yaml could not be read`;
    }
    if (!meta)
      return `its chart ${chart} cannot be read: its Chart.yaml could not be read`;
    const named = meta.name;
    if (typeof named !== 'string' || !named)
      return `its chart ${chart} cannot be read: its Chart.yaml has no name`;
    name = named;
  }
  if (remote && version !== undefined && !EXACT_VERSION.test(version))
    return `it asked for version range ${version} and recorded no chart helm resolved it to`;
  return { name, version };
}

/**
 * Why a release deployed after a stale run started is not what the run asked for, or cannot be
 * compared with it; undefined when its chart (name, and version when the run pinned one) and values
 * are the run's. The values are what helm stores as the release's config, the user-supplied values:
 * a chart run's `release.values`; a tenant run's release values with what the engine adds
 * (`kubechart.tenant`, `.namespace`, and the generated `.credentials`, read from the tenant's
 * credentials Secret); for a rollback, the chart, values and manifest (hooks included, which helm
 * copies as they are) of the revision it returns to. The chart is the one helm resolved, as the
 * engine compares it before an upgrade: the chart the run recorded it pulled for the release (its
 * policy report), else the one its request names (`requestedChart`).
 * Fails closed: values the run's record hides (redacted secret values) are never taken as equal, and a
 * chart that cannot be resolved here (a version range, a chart package) is not taken as the run's.
 */
async function differenceFromRequest(
  run: Run,
  name: string,
  latest: StoredHelmRelease,
  scoped: KubeClient,
  settings: EngineSettings,
): Promise<string | undefined> {
  const { namespace } = run.target;
  const input = run.input as Record<string, any>;
  const notAsked = (why: string) => `is not what this run asked for: ${why}`;
  const unknown = (why: string) =>
    `cannot be compared with what this run asked for: ${why}`;
  let chart: string | undefined;
  let version: string | undefined;
  let values: Record<string, unknown>;
  let asked = 'the run asked for';
  let askedVersion = (v: string) => `${asked} ${v}`;
  let theirs = "the run's";
  /** A rollback's: the manifest (hooks included) of the revision it returns to, which helm copies. */
  let manifest: string | undefined;
  if (run.kind === 'rollback') {
    const revision = input.revision;
    const target = Number.isInteger(revision)
      ? await readHelmRelease(scoped, namespace, name, revision)
      : undefined;
    if (!target)
      return unknown(
        `revision ${revision}, which this rollback returns to, has no Helm release record`,
      );
    chart = target.chart.name;
    version = target.chart.version;
    values = target.config;
    manifest = withHooks(String(target.manifest), target.hooks);
    asked = `revision ${revision}, which this rollback returns to, has`;
    theirs = `those of revision ${revision}, which this rollback returns to`;
  } else {
    const release: Record<string, any> | undefined =
      run.kind === 'tenant'
        ? (Array.isArray(input.releases) ? input.releases : []).find(
            (r: { name?: unknown }) => r?.name === name,
          )
        : input.release;
    if (
      !release ||
      typeof release.chart !== 'string' ||
      (release.repo !== undefined && typeof release.repo !== 'string') ||
      (release.version !== undefined && typeof release.version !== 'string')
    )
      return unknown(`the run's record does not hold its chart`);
    values = release.values ?? {};
    // The request is stored redacted: a hidden value cannot be told from another.
    if (canonicalJson(values).includes(REDACTED))
      return unknown(`the run's record hides some of its values (${REDACTED})`);
    // What helm resolved for this run, recorded before it installs: a range's version, a package's name.
    const pulled = new Map(
      (run.policyReport?.charts ?? [])
        .filter(c => c.release === name)
        .map(c => [`${c.chart}\0${c.version}`, c]),
    );
    if (pulled.size > 1)
      return unknown(
        `it recorded more than one chart pulled for release ${name}`,
      );
    const [recorded] = pulled.values();
    if (recorded) {
      chart = recorded.chart;
      version = recorded.version;
      asked = 'the run pulled';
      const requested = release.version;
      askedVersion = v =>
        `the run pulled version ${v}${
          requested !== undefined && requested !== v ? ` for ${requested}` : ''
        }`;
    } else {
      const requested = await requestedChart(release as ReleaseSpec, settings);
      if (typeof requested === 'string') return unknown(requested);
      chart = requested.name;
      version = requested.version;
    }
    if (run.kind === 'tenant') {
      const names: string[] = Array.isArray(input.credentials)
        ? input.credentials
        : [];
      let credentials: Record<string, string> | undefined;
      if (names.length) {
        const secret = await scoped.read<any>({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: TENANT_CREDENTIALS_SECRET, namespace },
        });
        const data: Record<string, string> = secret?.data ?? {};
        const missing = names.filter(c => typeof data[c] !== 'string');
        if (missing.length)
          return unknown(
            `its generated credentials ${missing.join(
              ', ',
            )} are not in Secret ${TENANT_CREDENTIALS_SECRET}`,
          );
        credentials = Object.fromEntries(
          names.map(c => [c, Buffer.from(data[c], 'base64').toString('utf8')]),
        );
      }
      values = mergeValues(values, {
        kubechart: {
          tenant: input.tenant,
          namespace,
          ...(credentials ? { credentials } : {}),
        },
      });
    }
  }
  if (latest.chart.name !== chart)
    return notAsked(`its chart is ${latest.chart.name}, ${asked} ${chart}`);
  if (version !== undefined && latest.chart.version !== version)
    return notAsked(
      `its chart ${chart} is at version ${latest.chart.version}, ${askedVersion(
        version,
      )}`,
    );
  if (canonicalJson(latest.config) !== canonicalJson(values))
    return notAsked(`its values differ from ${theirs}`);
  // The same chart and values may render other objects (a chart changed without a new version, a
  // post-renderer): a rollback's revision holds exactly what it returns to.
  if (
    manifest !== undefined &&
    withHooks(String(latest.manifest), latest.hooks) !== manifest
  )
    return notAsked(
      `its manifest differs from that of revision ${input.revision}, which this rollback returns to`,
    );
  return undefined;
}

/**
 * Chart, rollback and tenant runs: every release's latest Helm release record is `deployed` and was
 * written by this run (the revision it recorded, or deployed after it started with the chart and
 * values it asked for), and the workloads of the namespace (of the release, for a chart or
 * rollback) are Ready.
 */
async function observeReleases(
  run: Run,
  client: KubeClient,
  scoped: KubeClient,
  /** Where the run's local charts are (`kubechart.helm.chartDirectories`). */
  settings: EngineSettings,
  /** Releases of a tenant run whose step ended as kept unchanged (`skipped`) in the run's own log. */
  leftUnchanged: Set<string> = new Set(),
  /** Releases a tenant run with `pruneReleases` was to uninstall: each must be gone. */
  pruned: string[] = [],
): Promise<Observation> {
  const { namespace, release } = run.target;
  if ((await client.namespacePhase(namespace)) === 'absent')
    return { shown: false, evidence: `namespace ${namespace} does not exist` };
  const releases = expectedReleases(run);
  if (releases.length === 0)
    return {
      shown: false,
      evidence:
        'this run installs no Helm release, so the cluster holds no record of its outcome to compare with',
    };
  // Both times come from the executing backend's clock: it claimed the run and ran helm.
  const since = run.startedAt ?? run.createdAt;
  const deployed: string[] = [];
  const problems: string[] = [];
  for (const name of releases) {
    const latest = await readLatestHelmRelease(scoped, namespace, name);
    if (!latest) {
      problems.push(`release ${name} is not installed`);
      continue;
    }
    const at = latest.deployedAt ? ` deployed at ${latest.deployedAt}` : '';
    if (latest.status !== 'deployed') {
      problems.push(
        `release ${name} revision ${latest.version} is ${latest.status}`,
      );
    } else if (
      run.kind !== 'tenant' &&
      run.helmRevision !== undefined &&
      latest.version === run.helmRevision
    ) {
      deployed.push(
        `release ${name} revision ${latest.version}, the one this run recorded`,
      );
    } else if (run.kind === 'tenant' && leftUnchanged.has(name)) {
      // The run found the release deployed with its chart and values and kept it, while it held
      // the namespace's lock (still held: a stale run's locks outlive it), so no run changed it since.
      deployed.push(
        `release ${name} revision ${latest.version}, which this run left unchanged (already deployed with its chart and values)`,
      );
    } else if (
      latest.deployedAt &&
      Date.parse(latest.deployedAt) >= Date.parse(since)
    ) {
      // Deployed after the run started, by this run only if it is what the run asked for: someone
      // else may have deployed the release meanwhile (the run's backend died before helm ran).
      const differs = await differenceFromRequest(
        run,
        name,
        latest,
        scoped,
        settings,
      );
      const which = `release ${name} revision ${latest.version}${at}, after this run started`;
      if (differs) problems.push(`${which}, ${differs}`);
      else deployed.push(which);
    } else {
      problems.push(
        `release ${name} is at revision ${latest.version},${
          at || ' with no deployment time'
        }, before this run started at ${since}`,
      );
    }
  }
  const gone: string[] = [];
  for (const name of pruned) {
    const latest = await readLatestHelmRelease(scoped, namespace, name);
    if (latest && latest.status !== 'uninstalled')
      problems.push(
        `release ${name}, which this run prunes, is still installed`,
      );
    else gone.push(name);
  }
  const readiness = evaluateNamespace(await client.snapshot(namespace), {
    release,
  });
  const present = new Set(readiness.workloads.map(w => w.release));
  const missing = releases.filter(r => !present.has(r));
  const notReady =
    describeNotReady(readiness) ||
    (readiness.workloads.length === 0 ? 'no workloads found' : '');
  if (notReady) problems.push(notReady);
  if (missing.length)
    problems.push(`releases without workloads: ${missing.join(', ')}`);
  if (problems.length) return { shown: false, evidence: problems.join('. ') };
  return {
    shown: true,
    evidence: `${deployed.join(', ')}${
      gone.length
        ? `; ${nameObjects(
            gone.map(r => `release ${r}`),
          )}, which this run prunes, ${
            gone.length > 1 ? 'are' : 'is'
          } not installed`
        : ''
    }; every workload is Ready`,
  };
}

/**
 * Manifests runs: every object of the run's stored manifest is in the cluster with what the
 * manifest sets (values redacted in the stored manifest, Secret data among them, are not compared).
 */
async function observeManifest(
  run: Run,
  client: KubeClient,
  scoped: (namespace: string) => KubeClient | Promise<KubeClient>,
): Promise<Observation> {
  if (!run.manifest?.trim())
    return {
      shown: false,
      evidence: 'nothing to compare: the run recorded no manifest',
    };
  if (run.manifest.includes('# (document not shown'))
    return {
      shown: false,
      evidence:
        "nothing to compare: a document of the run's manifest was not stored",
    };
  const objects = parseManifests(run.manifest);
  if (objects.length === 0)
    return { shown: false, evidence: "the run's manifest holds no object" };
  const missing: string[] = [];
  const differing: string[] = [];
  const found: string[] = [];
  for (const o of objects) {
    const name = `${o.kind}/${o.metadata?.name}`;
    const ns = o.metadata?.namespace;
    // Namespaced objects are read as that namespace's deployer, which applied them.
    const live = await (ns ? await scoped(ns) : client).read<any>(o as any);
    if (!live) {
      missing.push(name);
      continue;
    }
    // Compared as drift compares what a run applied with what runs (redacted values skipped).
    const [first] = compareObject(o as Record<string, any>, live);
    if (first)
      differing.push(
        `${name} differs from the run's manifest at ${formatPath(
          first.segments,
        )}`,
      );
    else found.push(name);
  }
  const problems = [
    ...(missing.length
      ? [
          `${nameObjects(missing)} ${
            missing.length > 1 ? 'are' : 'is'
          } not in the cluster`,
        ]
      : []),
    ...differing.slice(0, MAX_NAMED),
  ];
  if (problems.length) return { shown: false, evidence: problems.join('. ') };
  return { shown: true, evidence: `${nameObjects(found)} as in its manifest` };
}

/**
 * Reconciles runs left `pending`/`running` whose heartbeat is stale. A run is marked succeeded only
 * when the cluster shows its own change: for chart, rollback and tenant runs each release's latest
 * Helm revision deployed by this run (after it started, or the revision it recorded) with every
 * workload Ready; for manifests runs every object of its stored manifest, as stored. Otherwise it
 * fails with what was observed (whose heartbeat was lost since when, which instance took the lease
 * over) and what the cluster shows: its outcome is not known, so it is never taken as a success.
 * Safe on several replicas: the final, fenced update happens once per run and bumps its lease epoch,
 * so a late executor can no longer write.
 */
export async function recoverStaleRuns(deps: StaleRunDeps): Promise<number> {
  const { store, settings, logger } = deps;
  const now = Date.now();
  const staleBefore = now - settings.staleAfterSeconds * 1000;
  // A recorded run's action renews its lease with every post: its lifetime bounds how long it holds
  // its namespace.
  const maxLifetime = settings.recordedRunMaxSeconds;
  const recordedBefore = maxLifetime ? now - maxLifetime * 1000 : undefined;
  const stale = await store.findStaleRuns(new Date(staleBefore), {
    ...(recordedBefore !== undefined
      ? { recordedBefore: new Date(recordedBefore) }
      : {}),
  });
  // As approval plans read (deployerReadingUser): the deployer from before
  // kubechart.tenant.deployer.namespace in a namespace no run has moved it out of yet.
  const scopedClient = async (cluster: string, namespace: string) =>
    (await deps.scopedClient?.(cluster, namespace)) ??
    new KubeClient(
      deps.clusters.kubeConfig(cluster, {
        impersonate: await deployerReadingUser(
          deps.client(cluster),
          namespace,
          settings,
        ),
      }),
    );
  /** Reconciles one stale run; false when another replica did it first. */
  const reconcile = async (run: StaleRun): Promise<boolean> => {
    const heartbeatAt = run.heartbeatAt ? Date.parse(run.heartbeatAt) : NaN;
    // Alive (its heartbeat fresh) but recorded longer ago than a recorded run may last.
    const overdue =
      !!run.action &&
      recordedBefore !== undefined &&
      heartbeatAt >= staleBefore &&
      Date.parse(run.createdAt) < recordedBefore;
    const lost = overdue
      ? `lifetime exceeded: the action ${run.action} recorded this run at ${
          run.createdAt
        }, ${Math.max(
          0,
          Math.round((now - Date.parse(run.createdAt)) / 1000),
        )}s before this check; a recorded run may last at most ${maxLifetime}s (kubechart.recovery.recordedRunMaxSeconds); ended by backend instance ${
          deps.instanceId
        }, its locks released`
      : describeLostHeartbeat(run, {
          now,
          staleAfterSeconds: settings.staleAfterSeconds,
          reconciler: deps.instanceId,
        });
    let status: 'succeeded' | 'failed' = 'failed';
    let reason = lost;
    let shows = '';
    const { cluster, namespace } = run.target;
    const canCheck =
      !run.action &&
      ['tenant', 'chart', 'manifests', 'rollback'].includes(run.kind) &&
      deps.clusters.has(cluster);
    const neverStarted = run.status === 'pending' && !run.action;
    const code = run.input.tenant;
    const tenantRecord =
      (run.kind === 'tenant' || run.kind === 'tenant-delete') &&
      typeof code === 'string'
        ? (await store.getTenants(code)).find(x => x.cluster === cluster)
        : undefined;
    const pruned = neverStarted
      ? []
      : await releasesToPrune(store, run, tenantRecord);
    // What a tenant-delete leaves its tenant, as the end of the run would: deleted once the
    // namespace is gone.
    let deletedTenant: 'deleted' | 'failed' | undefined;
    /** When its namespace was found gone, recorded on the run: drift ends its tenant's runs there. */
    let namespaceGoneAt: string | undefined;
    if (neverStarted) {
      // Claiming a run makes it `running` before anything is executed.
      reason += '; it never started executing: nothing was applied';
    } else if (canCheck) {
      try {
        const client = deps.client(cluster);
        const seen =
          run.kind === 'manifests'
            ? await observeManifest(run, client, ns =>
                scopedClient(cluster, ns),
              )
            : await observeReleases(
                run,
                client,
                await scopedClient(cluster, namespace),
                settings,
                run.kind === 'tenant'
                  ? await releasesLeftUnchanged(store, run.id)
                  : undefined,
                pruned,
              );
        if (seen.shown) {
          status = 'succeeded';
          shows = seen.evidence;
        } else {
          reason += `; the cluster shows: ${seen.evidence}; the run's outcome is not known`;
        }
      } catch (e) {
        reason += `; the cluster could not be checked: ${describeKubeError(
          e,
          cluster,
        )}; the run's outcome is not known`;
      }
    } else if (
      run.kind === 'tenant-delete' &&
      tenantRecord?.lastRunId === run.id
    ) {
      deletedTenant = 'failed';
      let seen: string;
      try {
        const phase = deps.clusters.has(cluster)
          ? await deps.client(cluster).namespacePhase(namespace)
          : undefined;
        if (phase === 'absent') {
          deletedTenant = 'deleted';
          namespaceGoneAt = new Date().toISOString();
        }
        if (phase === undefined)
          seen = `cluster ${cluster} is not configured, so namespace ${namespace} could not be checked`;
        else
          seen =
            phase === 'absent'
              ? `namespace ${namespace} does not exist`
              : `namespace ${namespace} still exists (${phase})`;
      } catch (e) {
        seen = `the cluster could not be checked: ${describeKubeError(
          e,
          cluster,
        )}`;
      }
      reason += `; ${seen}: tenant ${code} is recorded as ${deletedTenant}${
        deletedTenant === 'failed' ? '; delete it again' : ''
      }`;
    }
    const finished = await store.finishRun(
      run.id,
      status,
      status === 'failed'
        ? {
            failureReason: reason,
            ...(namespaceGoneAt ? { namespaceGoneAt } : {}),
          }
        : {},
      { fence: true },
    );
    if (!finished) return false; // another replica reconciled it first
    // Its action is alive, yet nothing kubechart runs holds its target: its locks go now, not once
    // its heartbeat is old (which the action's posts would put off for ever).
    if (overdue) {
      try {
        await store.releaseLocks(run.id);
      } catch (e) {
        logger.error(
          `Recorded run ${run.id} was ended (lifetime exceeded), but its locks could not be released; the action's next post or the lock takeover after kubechart.recovery.releaseLocksAfterSeconds frees them: ${e}`,
        );
      }
    }
    // The end is recorded: nothing that follows may keep the listener, and with it the run's
    // run-finished audit event, from hearing of it. What fails is logged; the scheduled outcome pass
    // settles the tenant and emits the event when they were not.
    const endedAt = Date.now();
    const patch = status === 'failed' ? { failureReason: reason } : {};
    const afterEnd = (what: string, e: unknown) =>
      logger.error(
        `Stale run ${run.id} was reconciled as ${status}, but ${what}: ${e}`,
      );
    try {
      await store.appendEvents(run.id, [
        {
          type: 'status',
          level: status === 'failed' ? 'error' : 'info',
          message:
            status === 'succeeded'
              ? `Reconciled (${lost}): the cluster shows this run's change: ${shows}`
              : `Run failed: ${reason}`,
        },
      ]);
    } catch (e) {
      afterEnd('its last log line could not be recorded', e);
    }
    if (
      (run.kind === 'tenant' || run.kind === 'tenant-delete') &&
      typeof code === 'string'
    ) {
      try {
        const t = (await store.getTenants(code)).find(
          x => x.cluster === run.target.cluster,
        );
        const before = neverStarted
          ? await store.getTenantBefore(run.id)
          : undefined;
        if (t && t.lastRunId === run.id && before !== undefined) {
          // It applied nothing: the tenant is what it was before this run claimed it (none: not live).
          await store.upsertTenant(
            before ?? { ...t, status: 'deleted', lastRunId: run.id },
          );
        } else if (t && run.kind === 'tenant')
          await store.upsertTenant({
            ...t,
            status: status === 'succeeded' ? 'active' : 'failed',
            lastRunId: run.id,
            // Succeeded, the cluster showed each release it prunes gone: no longer the tenant's.
            releases:
              status === 'succeeded'
                ? t.releases.filter(r => !pruned.includes(r))
                : t.releases,
          });
        else if (t && deletedTenant && t.lastRunId === run.id)
          await store.upsertTenant({ ...t, status: deletedTenant });
      } catch (e) {
        afterEnd(
          `its tenant ${code} could not be updated; the scheduled outcome pass settles it`,
          e,
        );
      }
    }
    let after: Run | undefined;
    try {
      after = await store.getRun(run.id);
    } catch (e) {
      afterEnd(
        'it could not be read back; its listener is told what was recorded',
        e,
      );
      after = asEnded(run, status, patch, endedAt);
    }
    try {
      if (after) deps.onRunChanged?.(after);
    } catch (e) {
      afterEnd('its listener failed', e);
    }
    logger.info(`Reconciled stale run ${run.id} as ${status}: ${lost}`);
    return true;
  };
  let n = 0;
  for (const run of stale) {
    if (deps.isActive(run.id)) continue;
    // One run whose outcome cannot be recorded (or checked) must not stop the runs listed after it,
    // of every user, from being reconciled: it is logged and tried again at the next check. Only
    // what comes before its end is recorded throws here (see `reconcile`): the run is still active.
    try {
      if (await reconcile(run)) n++;
    } catch (e) {
      logger.error(
        `Could not reconcile stale run ${run.id}; the next check tries again while it is active: ${e}`,
      );
    }
  }
  return n;
}

/** The releases a tenant run's own log says it kept unchanged: steps `release:<name>` ended `skipped`. */
async function releasesLeftUnchanged(
  store: StaleRunDeps['store'],
  runId: string,
): Promise<Set<string>> {
  const kept = new Set<string>();
  for (const e of await store.getEvents(runId, { limit: 5000 })) {
    if (
      e.type === 'step' &&
      e.stepStatus === 'skipped' &&
      e.step?.startsWith('release:')
    )
      kept.add(e.step.slice('release:'.length));
  }
  return kept;
}
