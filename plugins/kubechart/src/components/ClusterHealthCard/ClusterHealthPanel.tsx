import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { ClusterHealthResult, ageOf, useNow } from '../../hooks';
import { VisibleText } from '../shared/visibleText';
import { RunStatus } from '../RunStatus';
import { UtilisationBar } from './UtilisationBar';
import { ClusterProblems } from './ClusterProblems';

/**
 * Health of one cluster: status, version, nodes, workloads (with the unhealthy ones named),
 * CPU and memory use of the nodes that take pods (saying how many are left out). An unreachable
 * cluster shows its error and when it was last seen.
 */
export function ClusterHealthPanel(props: { result: ClusterHealthResult }) {
  const { result } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const now = useNow();
  const { health } = result;
  /** "N s ago", or how far ahead a time the server's clock set lies (its age is then not known). */
  const since = (
    iso: string | undefined,
    key: 'updated' | 'lastSeen' | 'checked',
  ) => {
    const age = ageOf(iso, now);
    const seconds = String(age.seconds);
    if (key === 'updated')
      return t(age.ahead ? 'health.updatedAhead' : 'health.updated', {
        seconds,
      });
    if (key === 'lastSeen')
      return t(age.ahead ? 'health.lastSeenAhead' : 'health.lastSeen', {
        seconds,
      });
    return t(age.ahead ? 'health.checkedAhead' : 'health.checked', {
      seconds,
    });
  };

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
          <VisibleText text={health?.message ?? result.error?.message ?? ''} />
          <div>
            {result.lastSeenAt
              ? since(result.lastSeenAt, 'lastSeen')
              : t('health.notSeen')}
            {health?.observedAt && ` · ${since(health.observedAt, 'checked')}`}
          </div>
        </Alert>
      </Box>
    );
  }

  // Utilisation is of the capacity new pods can use: the nodes it leaves out are said.
  const excluded = health.utilisation.excludedNodes ?? 0;
  const utilisationDetail = excluded
    ? `${health.utilisation.source}, ${t('health.nodesLeftOut', {
        count: excluded,
      })}`
    : health.utilisation.source;

  return (
    <Box mb={2} data-testid={`kubechart-cluster-${result.cluster}`}>
      {header}
      {health.status !== 'ok' && health.message && (
        <Typography variant="body2" color="textSecondary">
          <VisibleText text={health.message} />
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
        detail={utilisationDetail}
      />
      <UtilisationBar
        label={t('health.memory')}
        value={health.utilisation.memory}
        detail={utilisationDetail}
      />
      <Typography variant="caption" color="textSecondary">
        {since(health.observedAt, 'updated')}
      </Typography>
    </Box>
  );
}
