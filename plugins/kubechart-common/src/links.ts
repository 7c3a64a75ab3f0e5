/**
 * Path of an entity's deployment-history tab in the Backstage app, e.g.
 * `/catalog/default/component/shop/deployment-history`; with a run id, the run opened in it.
 * Undefined for something that is not an entity ref.
 * @public
 */
export function deploymentHistoryPath(
  entityRef: string,
  runId?: string,
): string | undefined {
  const m = /^([^:/]+):(?:([^/]+)\/)?([^/]+)$/.exec(entityRef);
  if (!m) return undefined;
  const [, kind, namespace = 'default', name] = m;
  const path = `/catalog/${encodeURIComponent(namespace)}/${encodeURIComponent(
    kind.toLocaleLowerCase('en-US'),
  )}/${encodeURIComponent(name)}/deployment-history`;
  return runId ? `${path}?run=${encodeURIComponent(runId)}` : path;
}

/**
 * Path of a run's own page in the Backstage app, `/kubechart/runs?run=<id>`: it opens any run,
 * also one whose entity is not in the catalog yet (approval requests link here).
 * @public
 */
export function runPagePath(runId: string): string {
  return `/kubechart/runs?run=${encodeURIComponent(runId)}`;
}
