import { LoggerService } from '@backstage/backend-plugin-api';
import { runPagePath } from '@kubechart/plugin-kubechart-common';
import type { NotificationService } from '@backstage/plugin-notifications-node';
import type { ApprovalNotifier } from '../engine/RunEngine';

/** Where a run opens in the app: its own page (a tenant's entity exists only once its run applied). */
const runLink = (run: { id: string }) => runPagePath(run.id);

const describeTarget = (run: {
  kind: string;
  target: { cluster: string; namespace: string; release?: string };
}) =>
  `${run.kind} run on ${run.target.cluster}/${run.target.namespace}${
    run.target.release ? ` (release ${run.target.release})` : ''
  }`;

/**
 * Approval notifications through Backstage notifications: approvers (their groups resolve to
 * members) when a run needs them, the requester when someone decided.
 */
export function createApprovalNotifier(
  notifications: NotificationService,
  logger: LoggerService,
): ApprovalNotifier {
  return {
    async approvalRequested(run, approvers) {
      await notifications.send({
        recipients: {
          type: 'entity',
          entityRef: approvers,
          excludeEntityRef: run.actor,
        },
        payload: {
          title: `Approval requested: ${describeTarget(run)}`,
          description: `${run.actor} asks to apply a ${describeTarget(
            run,
          )}, protected by approval rule ${
            run.approval?.rule
          }. Review the plan and approve or reject it before ${
            run.approval?.expiresAt
          }.`,
          link: runLink(run),
          severity: 'high',
          topic: 'kubechart-approvals',
          scope: `kubechart-approval:${run.id}`,
        },
      });
      logger.info(
        `Run ${run.id} awaits approval by ${approvers.join(
          ', ',
        )}; notified them`,
      );
    },
    async decisionTaken(run, decision) {
      await notifications.send({
        recipients: {
          type: 'entity',
          entityRef: run.actor,
          excludeEntityRef: decision.by,
        },
        payload: {
          title: `${
            decision.decision === 'approve' ? 'Approved' : 'Rejected'
          } by ${decision.by}: ${describeTarget(run)}`,
          description: decision.comment,
          link: runLink(run),
          severity: decision.decision === 'approve' ? 'normal' : 'high',
          topic: 'kubechart-approvals',
        },
      });
    },
    async approvalWithdrawn(run) {
      if (!run.approval) return;
      // The same scope as the request: the approvers' notice of it now says it was withdrawn.
      await notifications.send({
        recipients: {
          type: 'entity',
          entityRef: run.approval.approvers,
          excludeEntityRef: run.actor,
        },
        payload: {
          title: `Approval request withdrawn: ${describeTarget(run)}`,
          description: run.failureReason,
          link: runLink(run),
          severity: 'normal',
          topic: 'kubechart-approvals',
          scope: `kubechart-approval:${run.id}`,
        },
      });
    },
  };
}
