import { InputError } from '@backstage/errors';
import type { CreateRunRequest, Run } from '@kubechart/plugin-kubechart-common';
import { REDACTED } from '@kubechart/plugin-kubechart-node';

/** Revisions of a release with the time each was written (`helm history`). */
export type ReleaseHistory = (release: {
  cluster: string;
  namespace: string;
  release: string;
}) => Promise<Array<{ revision: number; updated: string }>>;

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
 * a manifest with redacted values, a run without a Helm revision, a tenant release not named.
 */
export async function reapplyRequest(
  run: Run,
  options: { release?: string; history: ReleaseHistory },
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
  switch (run.kind) {
    case 'chart':
    case 'rollback': {
      if (!run.target.release || !run.helmRevision)
        throw new InputError(
          `Run ${run.id} recorded no Helm revision to roll back to`,
        );
      return {
        kind: 'rollback',
        ...common,
        release: run.target.release,
        revision: run.helmRevision,
      };
    }
    case 'tenant': {
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
      const end = Date.parse(run.finishedAt ?? run.createdAt);
      const revisions = (
        await options.history({ cluster, namespace, release })
      ).filter(h => Date.parse(h.updated) <= end + 1000);
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
