import type {
  CreateRunRequest,
  Run,
  RunInput,
} from '@kubechart/plugin-kubechart-common';

/** The rollback request for a run, or undefined when the run has no revision to return to. */
export function rollbackRequest(run: Run): CreateRunRequest | undefined {
  const { cluster, namespace, release } = run.target;
  if (
    run.status !== 'succeeded' ||
    run.helmRevision === undefined ||
    !release
  ) {
    return undefined;
  }
  return {
    kind: 'rollback',
    cluster,
    namespace,
    release,
    revision: run.helmRevision,
    entityRef: run.entityRef,
  };
}

/** The request that starts a failed run again with the same input; undefined otherwise. */
export function retryRequest(run: Run): CreateRunRequest | undefined {
  if (run.status !== 'failed' || run.kind === 'custom') {
    return undefined;
  }
  const input = { ...run.input, kind: run.kind } as RunInput;
  return {
    ...input,
    entityRef: run.entityRef,
    template: run.template,
  };
}
