import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { ClusterHealthResult, secondsSince, useNow } from '../../hooks';
import { RunStatus } from '../RunStatus';
import { UtilisationBar } from './UtilisationBar';
import { ClusterProblems } from './ClusterProblems';

/**
 * Health of one cluster: status, version, nodes, workloads (with the unhealthy ones named),
 * CPU and memory use. An unreachable cluster shows its error and when it was last seen.
 */
export function ClusterHealthPanel(props: { result: ClusterHealthResult }) {
  const { result } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const now = useNow();
  const { health } = result;

  const header = (
    <Box display="flex" alignItems="center" justifyContent="space-between">
      <Typography variant="subtitle1">
        <strong>{result.cluster}</strong>
        {health?.version
          ? ` · ${t('health.version', { version: health.version })}`
          : ''}
      </Typography>
      <RunStatus status={health?.status ?? 'error'} />
    </Box>
  );

  if (!health || health.status === 'error') {
    return (
      <Box mb={2} data-testid={`kubechart-cluster-${result.cluster}`}>
        {header}
        <Alert severity="error">
          <strong>{t('health.unreachable')}</strong>:{' '}
          {health?.message ?? result.error?.message}
          <div>
            {result.lastSeenAt
              ? t('health.lastSeen', {
                  seconds: String(secondsSince(result.lastSeenAt, now)),
                })
              : t('health.notSeen')}
            {health?.observedAt &&
              ` · ${t('health.checked', {
                seconds: String(secondsSince(health.observedAt, now)),
              })}`}
          </div>
        </Alert>
      </Box>
    );
  }

  return (
    <Box mb={2} data-testid={`kubechart-cluster-${result.cluster}`}>
      {header}
      {health.status !== 'ok' && health.message && (
        <Typography variant="body2" color="textSecondary">
          {health.message}
        </Typography>
      )}
      <Typography variant="body2">
        {t('health.nodes')}: {health.nodes.ready}/{health.nodes.total}
      </Typography>
      <Typography variant="body2">
        {t('health.workloads')}: {health.workloads.healthy}{' '}
        {t('health.healthy')}, {health.workloads.degraded}{' '}
        {t('health.degraded')}, {health.workloads.failed}{' '}
        {t('health.failedWorkloads')}
      </Typography>
      <ClusterProblems health={health} />
      <UtilisationBar
        label={t('health.cpu')}
        value={health.utilisation.cpu}
        detail={health.utilisation.source}
      />
      <UtilisationBar
        label={t('health.memory')}
        value={health.utilisation.memory}
        detail={health.utilisation.source}
      />
      <Typography variant="caption" color="textSecondary">
        {t('health.updated', {
          seconds: String(secondsSince(health.observedAt, now)),
        })}
      </Typography>
    </Box>
  );
}
