import { ConflictError, InputError } from '@backstage/errors';
import type {
  CreateRunRequest,
  DriftObject,
  Run,
} from '@kubechart/plugin-kubechart-common';
import { REDACTED } from '@kubechart/plugin-kubechart-node';

/**
 * Revisions of a release with the time each was written and its chart, `<name>-<version>`
 * (`helm history`).
 */
export type ReleaseHistory = (release: {
  cluster: string;
  namespace: string;
  release: string;
}) => Promise<Array<{ revision: number; updated: string; chart?: string }>>;

/**
 * Whether a revision was written by the time `run` ended (helm's clock and ours may differ by a
 * second): a revision written later is another run's, or a release installed again since.
 */
function writtenBy(run: Run, revision: { updated: string }): boolean {
  const end = Date.parse(run.finishedAt ?? run.createdAt);
  return Date.parse(revision.updated) <= end + 1000;
}

/**
 * Checks that revision `run.helmRevision` of the run's release is still the one the run left: written
 * before the run ended, of the chart the run applied (a chart run). A release deleted and installed
 * again numbers its revisions anew, so the number alone may name another release's revision.
 * Throws ConflictError (409) otherwise.
 */
async function checkRunRevision(
  run: Run,
  release: string,
  revision: number,
  history: ReleaseHistory,
): Promise<void> {
  const { cluster, namespace } = run.target;
  const refuse = (why: string) =>
    new ConflictError(
      `Revision ${revision} of release ${release} in ${namespace} is not the one run ${run.id} left: ${why}; it cannot be applied again as that run`,
    );
  const entry = (await history({ cluster, namespace, release })).find(
    h => h.revision === revision,
  );
  if (!entry) throw refuse('the release has no such revision now');
  if (!writtenBy(run, entry)) {
    throw refuse(
      `it was written at ${entry.updated}, after the run ended (${
        run.finishedAt ?? run.createdAt
      })`,
    );
  }
  if (run.kind !== 'chart') return;
  const chart = run.policyReport?.charts?.find(c => c.release === release);
  if (!chart)
    throw refuse('the run recorded no chart to compare the revision’s with');
  const applied = `${chart.chart}-${chart.version}`;
  if (entry.chart !== applied) {
    throw refuse(
      `it holds chart ${
        entry.chart ?? '(unknown)'
      }, the run applied ${applied}`,
    );
  }
}

/**
 * Refuses (409) to apply `run` again while drift last saw an object it applied being deleted
 * (`deleting`: its deletion was requested and finalizers or its grace period hold it): the API server
 * takes a change to such an object, so the new run would end `succeeded` while the object goes away.
 */
function refuseWhileDeleting(run: Run, drift: DriftObject[] = []): void {
  // A tenant's baseline has a refusal of its own (re-applying a release does not touch it).
  const deleting = drift.filter(o => o.state === 'deleting' && !o.baseline);
  if (!deleting.length) return;
  const [first] = deleting;
  const finalizers = first.deletion?.finalizers ?? [];
  const held = finalizers.length
    ? `held by the finalizers ${finalizers.join(', ')}`
    : 'in its grace period';
  const more =
    deleting.length > 1
      ? ` (and ${deleting.length - 1} more being deleted)`
      : '';
  throw new ConflictError(
    `${first.kind} ${first.name}${
      first.namespace ? ` in ${first.namespace}` : ''
    }, which run ${run.id} applied, is being deleted (marked for deletion at ${
      first.deletion?.timestamp ?? 'an unknown time'
    }, ${held})${more}: applying the run again would not keep it, and would be reported as done while it goes away; wait until it is gone (its drift shows it missing), then apply the run again`,
  );
}

/** Kinds of runs that can be applied again. */
export const REAPPLICABLE_KINDS: ReadonlyArray<Run['kind']> = [
  'chart',
  'rollback',
  'tenant',
  'manifests',
];

/**
 * The run that applies `run` again, as a normal run request (it goes through the engine, its locks,
 * policy and approvals): a release is rolled back to the revision the run left it at; a manifests
 * run's stored manifest is applied again. Throws InputError (400) when that cannot be done exactly:
 * a manifest with redacted values, a run without a Helm revision, a tenant release not named; and
 * ConflictError (409) when the release's revision of that number is no longer the run's, or when
 * `drift` (the run's drifted objects as last recorded) names objects of a tenant run's baseline: a
 * release rolled back does not restore its quota, limits or network policy; the tenant's next run does;
 * and ConflictError when `drift` shows an object of the run being deleted (see refuseWhileDeleting).
 */
export async function reapplyRequest(
  run: Run,
  options: {
    release?: string;
    history: ReleaseHistory;
    drift?: DriftObject[];
  },
): Promise<CreateRunRequest> {
  const { cluster, namespace } = run.target;
  const common = {
    cluster,
    namespace,
    ...(run.entityRef ? { entityRef: run.entityRef } : {}),
  };
  if (run.status !== 'succeeded')
    throw new InputError(
      `Run ${run.id} did not succeed (${run.status}); only a succeeded run can be applied again`,
    );
  refuseWhileDeleting(run, options.drift);
  switch (run.kind) {
    case 'chart':
    case 'rollback': {
      if (!run.target.release || !run.helmRevision)
        throw new InputError(
          `Run ${run.id} recorded no Helm revision to roll back to`,
        );
      await checkRunRevision(
        run,
        run.target.release,
        run.helmRevision,
        options.history,
      );
      return {
        kind: 'rollback',
        ...common,
        release: run.target.release,
        revision: run.helmRevision,
      };
    }
    case 'tenant': {
      const baseline = (options.drift ?? []).filter(o => o.baseline);
      if (baseline.length) {
        throw new ConflictError(
          `The baseline of tenant run ${run.id} drifted (${baseline
            .map(o => `${o.kind}/${o.name} ${o.state}`)
            .join(
              ', ',
            )}): re-applying the run rolls back a release and does not restore it; submit the tenant again, which restores its quota, limits, network policy and tenant resources`,
        );
      }
      const releases = (
        (run.input.releases as Array<{ name?: unknown }> | undefined) ?? []
      ).map(r => String(r?.name ?? ''));
      const release =
        options.release ?? (releases.length === 1 ? releases[0] : undefined);
      if (!release || !releases.includes(release)) {
        throw new InputError(
          `Name the release of tenant run ${
            run.id
          } to apply again (body: {"release": …}): one of ${
            releases.join(', ') || 'none'
          }`,
        );
      }
      // The revision the tenant run left the release at: the last one written before it ended.
      const revisions = (
        await options.history({ cluster, namespace, release })
      ).filter(h => writtenBy(run, h));
      const revision = revisions.sort((a, b) => b.revision - a.revision)[0]
        ?.revision;
      if (!revision)
        throw new InputError(
          `Release ${release} in ${namespace} has no revision written by run ${run.id}`,
        );
      return { kind: 'rollback', ...common, release, revision };
    }
    case 'manifests': {
      const manifests = run.manifest ?? '';
      if (!manifests.trim())
        throw new InputError(
          `Run ${run.id} recorded no manifest to apply again`,
        );
      if (manifests.includes(REDACTED)) {
        throw new InputError(
          `The stored manifest of run ${run.id} has redacted values (Secret data or secret-looking values): it cannot be applied again as stored; submit the manifests again`,
        );
      }
      return { kind: 'manifests', ...common, manifests };
    }
    default:
      throw new InputError(
        `A ${
          run.kind
        } run cannot be applied again; only ${REAPPLICABLE_KINDS.join(
          ', ',
        )} runs can`,
      );
  }
}
