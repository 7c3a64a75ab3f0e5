import Typography from '@material-ui/core/Typography';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { ClusterHealth } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';

const MAX_ALERTS = 5;

/** The unhealthy workloads of a cluster with their reason, then its latest alerts. */
export function ClusterProblems(props: { health: ClusterHealth }) {
  const { health } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const unhealthy = health.workloads.items.filter(w => w.status !== 'healthy');
  // The backend names only the worst workloads behind; its counts count every one.
  const unnamed = Math.max(
    0,
    health.workloads.degraded + health.workloads.failed - unhealthy.length,
  );
  const alerts = health.alerts.slice(0, MAX_ALERTS);
  // The backend sends the first 50 alerts and how many there are in all (an older one only the 50).
  const moreAlerts =
    Math.max(health.alertsTotal ?? 0, health.alerts.length) - alerts.length;
  if (!unhealthy.length && !unnamed && !alerts.length) {
    return null;
  }
  return (
    <ul style={{ margin: 0, paddingLeft: 20 }}>
      {unhealthy.map(w => (
        <li key={`${w.kind}/${w.namespace}/${w.name}`}>
          <Typography variant="body2">
            {w.namespace}/{w.name} ({w.kind}, {w.ready}/{w.desired}) —{' '}
            {w.status}
            {w.reason ? `: ${w.reason}` : ''}
          </Typography>
        </li>
      ))}
      {unnamed > 0 && (
        <li key="more-workloads">
          <Typography variant="body2">
            {t('health.moreWorkloads', { rest: String(unnamed) })}
          </Typography>
        </li>
      )}
      {alerts.map((a, i) => (
        <li key={`alert-${i}`}>
          <Typography variant="body2" color="textSecondary">
            {t('health.alert')}: {a.namespace ? `${a.namespace}/` : ''}
            {a.object} — {a.reason}: {a.message}
          </Typography>
        </li>
      ))}
      {moreAlerts > 0 && (
        <li key="more-alerts">
          <Typography variant="body2" color="textSecondary">
            {t('health.moreAlerts', { count: moreAlerts })}
          </Typography>
        </li>
      )}
    </ul>
  );
}
