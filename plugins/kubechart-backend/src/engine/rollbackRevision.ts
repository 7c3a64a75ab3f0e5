import { PolicyReport, RollbackRunInput } from '@kubechart/plugin-kubechart-common';
import { ClusterDiscovery, PolicyEngine, parseManifests, releasePolicyReport } from '@kubechart/plugin-kubechart-node';
import { readHelmRelease } from '../lib/helmRelease';
import { KubeClient } from '../lib/KubeClient';
import { hooksManifest } from './helm3Hooks';
import { RunScope, toPolicyScope } from './scope';

/**
 * The manifest helm stored for one revision of a release, its hooks included (helm runs the
 * revision's hooks on rollback): what a rollback to that revision applies. Read from the revision's
 * `helm.sh/release.v1` Secret (helm's default storage); undefined when there is none.
 */
export async function readRevisionManifest(client: KubeClient, namespace: string, release: string, revision: number): Promise<string | undefined> {
  const stored = await readHelmRelease(client, namespace, release, revision);
  return stored ? String(stored.manifest) + hooksManifest(stored.hooks) : undefined;
}

/**
 * The revision a rollback returns to, judged by the current chart policy with the run's scope
 * (`run-scope` included unless switched off for tests): its manifest and report, or undefined when
 * the revision has no release record to judge. `client` acts as the namespace's deployer.
 */
export async function judgeRollbackRevision(
  deps: { policy: PolicyEngine; discovery: ClusterDiscovery; enforceRunScope: boolean },
  client: KubeClient,
  input: Pick<RollbackRunInput, 'cluster' | 'namespace' | 'release' | 'revision'>,
  scope: RunScope,
): Promise<{ manifest: string; report: PolicyReport } | undefined> {
  const manifest = await readRevisionManifest(client, input.namespace, input.release, input.revision);
  if (manifest === undefined) return undefined;
  const objects = parseManifests(manifest);
  const options = deps.enforceRunScope ? { scope: toPolicyScope(scope, await deps.discovery.lookup(input.cluster, objects)) } : {};
  return { manifest, report: releasePolicyReport(deps.policy.check(objects, options), input.release) };
}
