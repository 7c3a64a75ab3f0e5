import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CreateRunRequest,
  PolicyReport,
  ReleaseSpec,
} from '@kubechart/plugin-kubechart-common';
import {
  ChartArtifact,
  HelmCli,
  KubeObject,
  PolicyCheckOptions,
  PolicyEngine,
  ResolvedChartSource,
  findUnknownValues,
  parseManifestsInTurns,
  pullChart,
  readChartCrds,
  releasePolicyReport,
  resolveChartSource,
} from '@kubechart/plugin-kubechart-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineSettings } from './settings';

/** Where a release's chart may come from: `kubechart.helm.chartDirectories` and `allowedRepositories`. */
export function resolveReleaseSource(
  release: ReleaseSpec,
  settings: EngineSettings,
): Promise<ResolvedChartSource> {
  return resolveChartSource(
    { chart: release.chart, repo: release.repo, version: release.version },
    {
      chartDirectories: settings.chartDirectories,
      allowedRepositories: settings.allowedRepositories,
    },
  );
}

/** Refuses (InputError naming the rule, so a 400) a request whose chart sources break the rules. */
export async function checkRequestChartSources(
  request: CreateRunRequest,
  settings: EngineSettings,
): Promise<void> {
  let releases: ReleaseSpec[] = [];
  if (request.kind === 'tenant') releases = request.releases;
  else if (request.kind === 'chart') releases = [request.release];
  for (const r of releases) await resolveReleaseSource(r, settings);
}

/** A private work directory for one run or check; removed by `dispose`. */
export async function createWorkDir(): Promise<{
  dir: string;
  dispose(): Promise<void>;
}> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubechart-run-'));
  await fs.chmod(dir, 0o700);
  return { dir, dispose: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** A release pulled, rendered and checked: what the install then uses. */
export type CheckedRelease = {
  artifact: ChartArtifact;
  /** `helm template` output of the pinned package (hooks included, crds/ not). */
  rendered: string;
  /** The chart's crds/ manifests, which helm applies without templating or post-rendering. */
  crds: string;
  /** Rendered objects and CRDs, as checked. */
  objects: KubeObject[];
  /** The release's report: results named by release, the chart digest, unknown values as warnings. */
  report: PolicyReport;
};

export type ChartCheckDeps = {
  helm: HelmCli;
  policy: PolicyEngine;
  settings: EngineSettings;
  logger?: LoggerService;
};

/**
 * Pulls a release's chart once into `workDir` (pinned), renders it from that package, and checks the
 * rendered objects together with the chart's crds/ manifests; values keys the chart does not know
 * (`userValues`: what the caller gave, not what the engine adds) are warnings.
 */
export async function pullRenderAndCheck(
  deps: ChartCheckDeps,
  options: {
    release: ReleaseSpec;
    namespace: string;
    values: Record<string, unknown>;
    userValues: Record<string, unknown>;
    workDir: string;
    /** The policy options (run scope) for these objects. */
    checkOptions(objects: KubeObject[]): Promise<PolicyCheckOptions>;
  },
): Promise<CheckedRelease> {
  const { helm, policy, settings, logger } = deps;
  const { release, namespace, values, workDir } = options;
  const source = await resolveReleaseSource(release, settings);
  const artifact = await pullChart({
    helm,
    source,
    release: release.name,
    workDir,
    // helm's own text may name internal addresses: it goes to the backend log only.
    onFetchError: message =>
      logger?.warn(
        `Chart of release ${release.name} could not be fetched: ${message}`,
      ),
  });
  const rendered = await helm.template({
    release: release.name,
    namespace,
    values,
    chart: artifact.archive,
  });
  const crds = await readChartCrds(artifact.directory);
  // A document per turn of the event loop: what a chart renders from user values may be megabytes.
  const objects = [
    ...(await parseManifestsInTurns(rendered)),
    ...(crds ? await parseManifestsInTurns(crds) : []),
  ];
  const report = await policy.checkInTurns(
    objects,
    await options.checkOptions(objects),
  );
  const unknownValues = await findUnknownValues(
    options.userValues,
    artifact.directory,
  );
  return {
    artifact,
    rendered,
    crds,
    objects,
    report: releasePolicyReport(report, release.name, {
      chart: {
        release: release.name,
        chart: artifact.name,
        version: artifact.version,
        digest: artifact.digest,
        source: artifact.source,
      },
      unknownValues,
    }),
  };
}
