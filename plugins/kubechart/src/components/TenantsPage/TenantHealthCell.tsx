import Tooltip from '@material-ui/core/Tooltip';
import { useTenantHealth } from '../../hooks';
import { RunStatus } from '../RunStatus';

/** Live health of one tenant inside the tenants table. */
export function TenantHealthCell(props: { tenant: string }) {
  const { value, loading, error } = useTenantHealth(props.tenant);
  if (value) {
    const ready = value.releases
      .map(r =>
        r.status === 'no-workloads'
          ? `${r.name}: ${r.reason ?? r.status}`
          : `${r.name} ${r.readyPods}/${r.totalPods}${
              r.reason ? ` (${r.reason})` : ''
            }`,
      )
      .join(', ');
    return (
      <Tooltip title={ready || value.status}>
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
