import {
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
} from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';

/**
 * The readable label of a status: the run statuses of the approval gate and a release's
 * `no-workloads` read as words ("awaiting approval", "no workloads"); every other status is shown
 * as it is.
 */
export function useStatusLabel(): (status: string) => string {
  const { t } = useTranslationRef(kubechartTranslationRef);
  return status => {
    switch (status) {
      case 'awaiting-approval':
        return t('status.awaitingApproval');
      case 'approved':
        return t('status.approved');
      case 'no-workloads':
        return t('status.noWorkloads');
      default:
        return status;
    }
  };
}

/**
 * A status with its icon; understands run statuses (`succeeded`, `failed`, `awaiting-approval`, …)
 * and health statuses (`ok`, `healthy`, `degraded`, `error`, `unhealthy`, …).
 * @public
 */
export function RunStatus(props: { status: string }) {
  const { status } = props;
  const label = useStatusLabel()(status);
  switch (status) {
    case 'succeeded':
    case 'ok':
    case 'healthy':
    case 'active':
      return <StatusOK>{label}</StatusOK>;
    case 'failed':
    case 'error':
    case 'unhealthy':
      return <StatusError>{label}</StatusError>;
    // A run waiting for people stands out from one waiting for the engine.
    case 'awaiting-approval':
    case 'degraded':
    case 'deleting':
      return <StatusWarning>{label}</StatusWarning>;
    case 'running':
    case 'provisioning':
      return <StatusRunning>{label}</StatusRunning>;
    default:
      return <StatusPending>{label}</StatusPending>;
  }
}
