import {
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
} from '@backstage/core-components';

/**
 * A status with its icon; understands run statuses (`succeeded`, `failed`, …) and health
 * statuses (`ok`, `healthy`, `degraded`, `error`, `unhealthy`, …).
 * @public
 */
export function RunStatus(props: { status: string }) {
  const { status } = props;
  switch (status) {
    case 'succeeded':
    case 'ok':
    case 'healthy':
    case 'active':
      return <StatusOK>{status}</StatusOK>;
    case 'failed':
    case 'error':
    case 'unhealthy':
      return <StatusError>{status}</StatusError>;
    case 'degraded':
    case 'deleting':
      return <StatusWarning>{status}</StatusWarning>;
    case 'running':
    case 'provisioning':
      return <StatusRunning>{status}</StatusRunning>;
    default:
      return <StatusPending>{status}</StatusPending>;
  }
}
