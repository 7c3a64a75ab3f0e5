import Tooltip from '@material-ui/core/Tooltip';
import { useTenantHealth } from '../../hooks';
import { RunStatus, useStatusLabel } from '../RunStatus';

/** Live health of one tenant inside the tenants table. */
export function TenantHealthCell(props: { tenant: string; cluster: string }) {
  const { value, loading, error } = useTenantHealth(
    props.tenant,
    props.cluster,
  );
  const statusLabel = useStatusLabel();
  if (value) {
    // A release without workloads has no pods to count: its status says so, in words.
    const ready = value.releases
      .map(
        r =>
          `${r.name}${
            r.status === 'no-workloads'
              ? `: ${statusLabel(r.status)}`
              : ` ${r.readyPods}/${r.totalPods}`
          }${r.reason ? ` (${r.reason})` : ''}`,
      )
      .join(', ');
    return (
      <Tooltip
        title={
          [value.message, ready].filter(Boolean).join(' · ') || value.status
        }
      >
        <span>
          <RunStatus status={value.status} />
        </span>
      </Tooltip>
    );
  }
  if (loading) {
    return <RunStatus status="pending" />;
  }
  return (
    <Tooltip title={error?.message ?? ''}>
      <span>
        <RunStatus status="unknown" />
      </span>
    </Tooltip>
  );
}
