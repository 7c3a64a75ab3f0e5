import { createHash } from 'node:crypto';
import type { StoredHelmRelease } from '../lib/helmRelease';
import { canonicalJson } from './plan';

/**
 * The digest of the release record a rollback returns to, `sha256:<hex>`: what `helm rollback`
 * copies into the revision it creates and applies (the manifest and hooks) and what that revision
 * keeps for later upgrades (the chart's name and version, the values), unredacted. An approved
 * rollback rolls back only to a record with the digest of its approved plan: the plan shows the
 * record's manifest with Secret data redacted and not its values, and the record is a Secret the
 * namespace's users may rewrite at any time.
 */
export function approvedRevisionOf(
  record: Pick<StoredHelmRelease, 'chart' | 'config' | 'manifest' | 'hooks'>,
): string {
  const text = canonicalJson({
    chart: { name: record.chart.name, version: record.chart.version },
    config: record.config,
    manifest: record.manifest,
    hooks: record.hooks,
  });
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * Why a rollback bound to the revision a history run installed (`fromRunId`, with the digest that run
 * recorded) does not go ahead: the release's record of that revision now is another one, or none.
 * Revision numbers restart once a release is uninstalled and installed again, and the record is a
 * Secret the namespace's users may rewrite. `recorded`: the release has a record of that revision now.
 */
export function unboundRevisionReason(
  input: { release: string; namespace: string; revision: number },
  fromRunId: string,
  recorded: boolean,
): string {
  const revision = `revision ${input.revision} of release ${input.release} in ${input.namespace}`;
  return !recorded
    ? `Release ${input.release} was not rolled back: ${revision} has no Helm release record now, so it is not the revision run ${fromRunId} installed`
    : `Release ${input.release} was not rolled back: ${revision} is not the revision run ${fromRunId} installed (its release record holds another manifest, chart or values: the release was uninstalled and installed again since, and revision numbers restarted, or the record was rewritten)`;
}
