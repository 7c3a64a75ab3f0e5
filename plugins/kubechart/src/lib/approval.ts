import type { RunApproval } from '@kubechart/plugin-kubechart-common';

/**
 * Distinct approvers who approved so far (what "n of m approvals" counts); a rejection ends the
 * request, so it never counts towards it.
 */
export function approvalCount(approval: RunApproval): number {
  return new Set(
    approval.decisions.filter(d => d.decision === 'approve').map(d => d.by),
  ).size;
}
