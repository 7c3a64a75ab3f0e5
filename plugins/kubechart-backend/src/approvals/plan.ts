import {
  CreateRunRequest,
  RunPreview,
} from '@kubechart/plugin-kubechart-common';
import { createHash, randomBytes } from 'node:crypto';
import type { ApprovedManifest } from './approvedManifest';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** JSON with object keys sorted, so equal values give equal text. */
export const canonicalJson = (v: unknown) =>
  JSON.stringify(v, (_k, x) =>
    isPlainObject(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map(k => [k, x[k]]),
        )
      : x,
  );

/** What of a request is part of its plan: everything but who relays it and from which template. */
export function planInput(request: CreateRunRequest): Record<string, unknown> {
  const {
    template: _template,
    onBehalfOf: _onBehalfOf,
    ...input
  } = request as CreateRunRequest & Record<string, unknown>;
  return input;
}

/** What a plan is made of: the input, what it renders to and the cluster state it starts from. */
export type PlanParts = {
  request: CreateRunRequest;
  /** The preview: rendered manifests (Secret data redacted, so charts that generate secrets stay stable), the chart digests and the policy verdict. */
  preview: RunPreview;
  /** Deployed Helm revision of each release the run changes (`null`: not installed). */
  revisions: Record<string, number | null>;
  /**
   * For a chart or tenant run: each release's rendered objects, normalised, which what helm is about
   * to apply must match (the preview's manifest holds them all, so the plan's hash covers them).
   */
  manifests?: Record<string, ApprovedManifest>;
  /**
   * For a rollback: the digest of the release record of the revision it returns to
   * (`approvedRevisionOf`), which the run rolls back to only while the record still has it.
   */
  revision?: string;
};

export const newPlanSalt = () => randomBytes(16).toString('hex');

/**
 * The plan's fingerprint, `sha256:<hex>`. Approval is bound to it: the run executes only if the
 * same request renders the same manifests from the same charts onto the same release revisions (a
 * rollback: to the same release record). Salted per run, since the input may hold secret values.
 */
export function planHash(parts: PlanParts, salt: string): string {
  const report = parts.preview.policyReport;
  const text = canonicalJson({
    input: planInput(parts.request),
    target: parts.preview.target,
    manifest: parts.preview.manifest ?? null,
    charts: (report?.charts ?? []).map(c => ({
      release: c.release,
      digest: c.digest,
      version: c.version,
    })),
    policy: report
      ? {
          blocking: report.blocking,
          passed: report.passed,
          summary: report.summary,
        }
      : null,
    revisions: parts.revisions,
    // Absent for every other kind: their plans hash as they did before rollbacks were bound.
    revision: parts.revision,
  });
  return `sha256:${createHash('sha256')
    .update(salt)
    .update('\n')
    .update(text)
    .digest('hex')}`;
}

/** Which part of a plan changed, for the reason a changed plan is not applied: its stored (redacted) manifest tells whether the rendering did. */
export function describePlanChange(
  approvedManifest: string | undefined,
  after: PlanParts,
): string {
  return (approvedManifest ?? '') !== (after.preview.manifest ?? '')
    ? 'the rendered manifests differ from the approved ones'
    : 'the input, a chart or a deployed release revision differs from the approved plan';
}
