import { InputError } from '@backstage/errors';
import {
  CreateRunRequest,
  ReleaseSpec,
  Run,
} from '@kubechart/plugin-kubechart-common';
import { RunStore } from '../database/RunStore';
import { resolveReleaseSource } from './chartCheck';
import { EngineSettings } from './settings';

type RollbackRequest = Extract<CreateRunRequest, { kind: 'rollback' }>;

/** The most rollbacks in a row followed back to the run that installed a revision. */
const MAX_ROLLBACKS_FOLLOWED = 20;

/** The tenant runs read at a time when a tenant release's sources are checked. */
const TENANT_RUNS_PAGE = 100;

/** The release spec `run` installed `release` from, if it is a chart or tenant run that did. */
function releaseSpecOf(
  run: Pick<Run, 'kind' | 'input'>,
  release: string,
): ReleaseSpec | undefined {
  if (run.kind === 'chart') return run.input.release as ReleaseSpec | undefined;
  if (run.kind !== 'tenant') return undefined;
  const specs = run.input.releases;
  return Array.isArray(specs)
    ? (specs as ReleaseSpec[]).find(r => r?.name === release)
    : undefined;
}

/** How a refusal names a release's chart source. */
function describeSource(spec: ReleaseSpec): string {
  const chart = `chart ${spec.chart}${spec.version ? ` ${spec.version}` : ''}`;
  if (spec.repo) return `${chart} of ${spec.repo}`;
  return spec.chart?.includes('://')
    ? chart
    : `${chart} of the chart directories`;
}

/** The InputError of `spec` when `kubechart.helm` no longer allows it, else undefined. */
async function refusedSource(
  spec: ReleaseSpec | undefined,
  settings: EngineSettings,
): Promise<Error | undefined> {
  try {
    await resolveReleaseSource(spec ?? { name: '', chart: '' }, settings);
    return undefined;
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
}

/**
 * Refuses (InputError, 400, naming the rule and the run) a rollback to a revision whose chart came
 * from a source `kubechart.helm.chartDirectories` and `allowedRepositories` no longer allow, as a chart
 * run from it would be refused now. The revision's source is that of the run that left the release at
 * it: `fromRunId`, else the newest run KubeChart executed that did; a rollback run's is that of the
 * revision it returned to. When no chart or rollback run left it (a tenant's release: its tenant runs
 * record no revision), every source the tenant's runs installed the release from is checked (fail
 * closed). A revision no run of KubeChart's installed has no source to check: the chart policy checks
 * its record as the rollback runs.
 */
export async function checkRollbackChartSource(
  request: RollbackRequest,
  deps: { store: RunStore; settings: EngineSettings },
): Promise<void> {
  const { store, settings } = deps;
  const { cluster, namespace, release } = request;
  const target = { cluster, namespace, release };
  const notRolledBack = `Release ${release} in ${namespace} was not rolled back: revision ${request.revision}`;
  let revision = request.revision;
  let fromRunId = request.fromRunId;
  let before: string | undefined;
  for (let followed = 0; ; followed++) {
    const named = fromRunId ? await store.getRun(fromRunId) : undefined;
    // A fromRunId of another release or revision is refused as the rollback is submitted.
    const run =
      named &&
      named.target.cluster === cluster &&
      named.target.namespace === namespace &&
      named.target.release === release &&
      named.helmRevision === revision
        ? named
        : await store.findRevisionRun(target, revision, before);
    if (!run) break;
    if (run.kind === 'rollback') {
      if (followed >= MAX_ROLLBACKS_FOLLOWED)
        throw new InputError(
          `${notRolledBack} is the last of more than ${MAX_ROLLBACKS_FOLLOWED} rollbacks in a row (the newest by run ${run.id}), so the chart source it was installed from is not looked for further and cannot be checked against kubechart.helm; nothing was rolled back. Deploy the chart from an allowed source with a chart run.`,
        );
      revision = Number(run.input.revision);
      if (!Number.isInteger(revision))
        throw new InputError(
          `${notRolledBack} was made by rollback run ${run.id}, which recorded no revision it returned to, so the chart source it was installed from cannot be checked against kubechart.helm; nothing was rolled back. Deploy the chart from an allowed source with a chart run.`,
        );
      fromRunId =
        typeof run.input.fromRunId === 'string'
          ? run.input.fromRunId
          : undefined;
      before = run.createdAt;
      continue;
    }
    const spec = releaseSpecOf(run, release);
    const refused = await refusedSource(spec, settings);
    if (refused)
      throw new InputError(
        `${notRolledBack} was installed from ${
          spec ? describeSource(spec) : 'a chart source it did not record'
        } by run ${run.id}, and ${
          refused.message
        }; nothing was rolled back. Deploy the chart from an allowed source with a chart run.`,
      );
    return;
  }
  await checkTenantReleaseSources(request, deps);
}

/** The tenant-run fallback of {@link checkRollbackChartSource}. */
async function checkTenantReleaseSources(
  request: RollbackRequest,
  deps: { store: RunStore; settings: EngineSettings },
): Promise<void> {
  const { store, settings } = deps;
  const { cluster, namespace, release, revision } = request;
  const tenant = (await store.getTenants()).find(
    t => t.cluster === cluster && t.namespace === namespace,
  );
  if (!tenant) return;
  let cursor: string | undefined;
  do {
    const page = await store.listRuns(
      { cluster, tenant: tenant.code, kind: 'tenant', status: 'succeeded' },
      { cursor, limit: TENANT_RUNS_PAGE },
    );
    for (const item of page.items) {
      if (item.action) continue;
      const spec = releaseSpecOf(item, release);
      if (!spec) continue;
      const refused = await refusedSource(spec, settings);
      if (refused)
        throw new InputError(
          `Release ${release} in ${namespace} was not rolled back: revision ${revision} may have been installed from ${describeSource(
            spec,
          )} by tenant run ${
            item.id
          } (no run recorded which one installed it, so every source tenant ${
            tenant.code
          }'s runs installed the release from is checked), and ${
            refused.message
          }; nothing was rolled back. Deploy the chart from an allowed source with a chart run.`,
        );
    }
    cursor = page.nextCursor;
  } while (cursor);
}
