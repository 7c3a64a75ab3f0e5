import Typography from '@material-ui/core/Typography';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type {
  ClusterHealth,
  HealthAlert,
} from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
} from '../shared/visibleText';

const MAX_ALERTS = 5;

/**
 * The label of a failing pod's alert, by what fails (the backend tells a container that cannot
 * start for a missing ConfigMap or Secret from one whose image cannot be pulled). Other alerts
 * (warning events, nodes) and types a newer backend may send show their reason alone.
 */
function failingPodLabel(type: HealthAlert['type']) {
  switch (type) {
    case 'crash-loop':
      return 'health.alertTypes.crashLoop' as const;
    case 'image-pull':
      return 'health.alertTypes.imagePull' as const;
    case 'config-error':
      return 'health.alertTypes.configError' as const;
    case 'container-failing':
      return 'health.alertTypes.containerFailing' as const;
    default:
      return undefined;
  }
}

/**
 * The unhealthy workloads of a cluster with their reason, then its latest alerts.
 *
 * The backend names the worst workloads and the first alerts, of those only the ones in namespaces
 * the user may read, and says how many of them it left out (`workloads.hidden`, `alertsHidden`);
 * its counts count every one. So of the ones not shown, those it left out are known to be in
 * namespaces the user cannot read, and those beyond what it names could be anywhere: the texts
 * say "at least" then.
 */
export function ClusterProblems(props: { health: ClusterHealth }) {
  const { health } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const unhealthy = health.workloads.items.filter(w => w.status !== 'healthy');
  const unnamed = Math.max(
    0,
    health.workloads.degraded + health.workloads.failed - unhealthy.length,
  );
  const hiddenWorkloads = Math.min(unnamed, health.workloads.hidden ?? 0);
  let moreWorkloads: string | undefined;
  if (unnamed > 0 && hiddenWorkloads === 0)
    moreWorkloads = t('health.moreWorkloads', { rest: String(unnamed) });
  else if (unnamed > 0 && hiddenWorkloads === unnamed)
    moreWorkloads = t('health.moreWorkloadsHidden', { count: unnamed });
  else if (unnamed > 0)
    moreWorkloads = t('health.moreWorkloadsAtLeastHidden', {
      count: unnamed,
      hidden: String(hiddenWorkloads),
    });

  const alerts = health.alerts.slice(0, MAX_ALERTS);
  const hiddenAlerts = health.alertsHidden ?? 0;
  const named = health.alerts.length + hiddenAlerts;
  // The backend sends the first 50 alerts and how many there are in all (an older one only the 50).
  const total = Math.max(health.alertsTotal ?? 0, named);
  const moreAlerts = total - alerts.length;
  let moreAlertsText: string | undefined;
  if (moreAlerts > 0 && hiddenAlerts === 0)
    moreAlertsText = t('health.moreAlerts', { count: moreAlerts });
  else if (moreAlerts > 0 && hiddenAlerts === moreAlerts)
    moreAlertsText = t('health.moreAlertsHidden', { count: moreAlerts });
  else if (moreAlerts > 0)
    moreAlertsText = t(
      // Beyond the first alerts the backend does not say whose they are.
      total > named
        ? 'health.moreAlertsAtLeastHidden'
        : 'health.moreAlertsSomeHidden',
      { count: moreAlerts, hidden: String(hiddenAlerts) },
    );
  if (
    !unhealthy.length &&
    !moreWorkloads &&
    !alerts.length &&
    !moreAlertsText
  ) {
    return null;
  }
  // A tenant writes Warning Events in its namespace, and workloads' reasons quote the cluster:
  // their hidden characters are marked, and counted here.
  const hidden = countHidden(
    ...unhealthy.map(w => w.reason),
    ...alerts.flatMap(a => [a.object, a.reason, a.message]),
  );
  return (
    <>
      <HiddenCharactersWarning count={hidden} />
      <ul style={{ margin: 0, paddingLeft: 20 }}>
        {unhealthy.map(w => (
          <li key={`${w.kind}/${w.namespace}/${w.name}`}>
            <Typography variant="body2">
              {w.namespace}/{w.name} ({w.kind}, {w.ready}/{w.desired}) —{' '}
              {w.status}
              {w.reason && (
                <>
                  : <VisibleText text={w.reason} />
                </>
              )}
            </Typography>
          </li>
        ))}
        {moreWorkloads && (
          <li key="more-workloads">
            <Typography variant="body2">{moreWorkloads}</Typography>
          </li>
        )}
        {alerts.map((a, i) => {
          const kind = failingPodLabel(a.type);
          return (
            <li key={`alert-${i}`}>
              <Typography variant="body2" color="textSecondary">
                {t('health.alert')}: {a.namespace ? `${a.namespace}/` : ''}
                <VisibleText text={a.object} /> —{' '}
                {kind ? (
                  <>
                    {t(kind)} (<VisibleText text={a.reason} />)
                  </>
                ) : (
                  <VisibleText text={a.reason} />
                )}
                : <VisibleText text={a.message} />
              </Typography>
            </li>
          );
        })}
        {moreAlertsText && (
          <li key="more-alerts">
            <Typography variant="body2" color="textSecondary">
              {moreAlertsText}
            </Typography>
          </li>
        )}
      </ul>
    </>
  );
}
