import { InputError } from '@backstage/errors';
import {
  PolicyReport,
  RollbackRunInput,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterDiscovery,
  PolicyEngine,
  collectManifestSecretValues,
  collectSecretValues,
  parseManifests,
  releasePolicyReport,
} from '@kubechart/plugin-kubechart-node';
import { readHelmRelease } from '../lib/helmRelease';
import { KubeClient } from '../lib/KubeClient';
import { withHooks } from './helm3Hooks';
import { RunScope, toPolicyScope } from './scope';

/**
 * The manifest helm stored for one revision of a release, its hooks included (helm runs the
 * revision's hooks on rollback): what a rollback to that revision applies, and the values it was
 * installed with (their secret values are to be removed from whatever is shown or stored). Read from
 * the revision's `helm.sh/release.v1` Secret (helm's default storage); undefined when there is none.
 */
export async function readRevision(
  client: KubeClient,
  namespace: string,
  release: string,
  revision: number,
): Promise<{ manifest: string; config: Record<string, unknown> } | undefined> {
  const stored = await readHelmRelease(client, namespace, release, revision);
  return stored
    ? {
        manifest: withHooks(String(stored.manifest), stored.hooks),
        config: stored.config,
      }
    : undefined;
}

/** The manifest of {@link readRevision}. */
export async function readRevisionManifest(
  client: KubeClient,
  namespace: string,
  release: string,
  revision: number,
): Promise<string | undefined> {
  return (await readRevision(client, namespace, release, revision))?.manifest;
}

/**
 * The revision a rollback returns to, judged by the current chart policy with the run's scope
 * (`run-scope` included unless switched off for tests): its manifest and report, or undefined when
 * the revision has no release record to judge. `client` acts as the namespace's deployer.
 */
export async function judgeRollbackRevision(
  deps: {
    policy: PolicyEngine;
    discovery: ClusterDiscovery;
    enforceRunScope: boolean;
  },
  client: KubeClient,
  input: Pick<
    RollbackRunInput,
    'cluster' | 'namespace' | 'release' | 'revision'
  >,
  scope: RunScope,
): Promise<
  | { manifest: string; report: PolicyReport; config: Record<string, unknown> }
  | undefined
> {
  const revision = await readRevision(
    client,
    input.namespace,
    input.release,
    input.revision,
  );
  if (revision === undefined) return undefined;
  const { manifest, config } = revision;
  // Read as helm reads the stored text when it rolls back (YAML 1.1: `hostNetwork: yes` is true);
  // a record helm would read otherwise (U+2028 and the like, a `---` line only helm splits at) is
  // refused, so no forged record rolls back to objects the policy did not see.
  const objects = parseManifests(manifest);
  const options = deps.enforceRunScope
    ? {
        scope: toPolicyScope(
          scope,
          await deps.discovery.lookup(input.cluster, objects),
        ),
      }
    : {};
  return {
    manifest,
    config,
    report: releasePolicyReport(
      deps.policy.check(objects, options),
      input.release,
    ),
  };
}

/**
 * The secret values a rollback may show: those of the revision it returns to, and of the release's
 * latest revision (what it replaces, shown on the other side of a diff), their Secrets' values included.
 */
export function rollbackSecretValues(
  ...configsAndManifests: Array<
    { config?: Record<string, unknown>; manifest?: string } | undefined
  >
): string[] {
  const out = new Set<string>();
  for (const r of configsAndManifests) {
    if (!r) continue;
    for (const s of collectSecretValues(r.config ?? {})) out.add(s);
    if (r.manifest) {
      // Every object is read, however many (the limit of a policy check is no limit here). A
      // manifest that cannot be read is refused: its Secrets' values are not known, so it is not
      // shown (redactManifest shows the documents of it that parse on their own).
      let objects: unknown[];
      try {
        objects = parseManifests(r.manifest);
      } catch (e) {
        throw new InputError(
          `The secret values of a release manifest cannot be collected: ${
            e instanceof Error ? e.message : String(e)
          }; nothing of it is shown`,
        );
      }
      // More secret values than MAX_SECRET_VALUES is refused (400), never shown unscrubbed.
      for (const s of collectManifestSecretValues(objects)) out.add(s);
    }
  }
  return [...out];
}
