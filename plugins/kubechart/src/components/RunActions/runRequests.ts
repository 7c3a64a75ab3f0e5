import type {
  CreateRunRequest,
  Run,
  RunInput,
} from '@kubechart/plugin-kubechart-common';

/**
 * The rollback request for a run, or undefined when the run has no revision to return to: it did
 * not succeed, has no release or revision, or its revision is the release's current one
 * (`isCurrentRevision` true or still unknown). A run that recorded its release record
 * (`rollbackBound`) is named (`fromRunId`): the backend rolls back only to the release record that
 * run installed, and refuses (409) when the release's revision of that number is another one now
 * (revision numbers restart after an uninstall). Any other run (one from before the backend recorded
 * it) cannot be named, the backend would refuse it: its revision is asked for by number only, and the
 * confirmation says that it cannot be checked.
 */
export function rollbackRequest(
  run: Run,
  isCurrentRevision: boolean | undefined,
): CreateRunRequest | undefined {
  const { cluster, namespace, release } = run.target;
  if (
    run.status !== 'succeeded' ||
    run.helmRevision === undefined ||
    !release ||
    isCurrentRevision !== false
  ) {
    return undefined;
  }
  return {
    kind: 'rollback',
    cluster,
    namespace,
    release,
    revision: run.helmRevision,
    ...(run.rollbackBound === true ? { fromRunId: run.id } : {}),
    entityRef: run.entityRef,
  };
}

/**
 * The request that starts a failed run again with the same input; undefined otherwise. A run the
 * policy refused is not retried: the same input would be refused the same way.
 */
export function retryRequest(run: Run): CreateRunRequest | undefined {
  if (
    run.status !== 'failed' ||
    run.kind === 'custom' ||
    run.policyReport?.blocking
  ) {
    return undefined;
  }
  const input = { ...run.input, kind: run.kind } as RunInput;
  return {
    ...input,
    entityRef: run.entityRef,
    template: run.template,
  };
}

/** The marker the backend puts in place of secret values. */
export const REDACTED = '***';

/**
 * True when a run's recorded input had secrets redacted: starting it again from history would
 * send the marker instead of the secret, so such a run must be re-run from its template.
 */
export function hasRedactedSecrets(value: unknown): boolean {
  if (value === REDACTED) {
    return true;
  }
  if (Array.isArray(value)) {
    return value.some(hasRedactedSecrets);
  }
  if (value && typeof value === 'object') {
    return Object.values(value).some(hasRedactedSecrets);
  }
  return false;
}
