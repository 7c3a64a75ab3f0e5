import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { Link, Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { secondsSince, useNow, useTenantHealth } from '../../hooks';
import { quotaFraction } from '../../lib/quantity';
import { RunStatus } from '../RunStatus';
import { UtilisationBar } from '../ClusterHealthCard/UtilisationBar';

/**
 * A tenant's health per release and its quota use. A health the backend does not know (it does not
 * follow the tenant's cluster) shows why, and when the cluster was last seen (the backend's
 * `lastSeenAt`; it has none when it never followed the cluster). `cluster`: the tenant's cluster
 * when the entity names one (a code on several clusters is otherwise refused, and the error shown).
 */
export function TenantHealthPanel(props: { tenant: string; cluster?: string }) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const now = useNow();
  const {
    value: health,
    loading,
    error,
  } = useTenantHealth(props.tenant, props.cluster);

  if (!health && loading) {
    return <Progress />;
  }
  if (!health) {
    return <ResponseErrorPanel error={error ?? new Error('No data')} />;
  }

  const quotaKeys = Object.keys(health.quota.hard).sort();
  return (
    <Box data-testid={`kubechart-tenant-${health.tenant}`}>
      <Box display="flex" alignItems="center" justifyContent="space-between">
        <Typography variant="subtitle1">
          <strong>{health.tenant}</strong> · {health.cluster}/{health.namespace}
        </Typography>
        <RunStatus status={health.status} />
      </Box>
      {health.status === 'unknown' && (
        <Alert severity="warning">
          <strong>{t('health.tenantUnknown')}</strong>: {health.message}
          <div>
            {health.lastSeenAt
              ? t('health.lastSeen', {
                  seconds: String(secondsSince(health.lastSeenAt, now)),
                })
              : t('health.tenantNotSeen')}
          </div>
        </Alert>
      )}
      <Typography variant="subtitle2">{t('health.releases')}</Typography>
      {health.releases.map(release => (
        <Box
          key={release.name}
          data-testid={`kubechart-tenant-release-${release.name}`}
        >
          <Box display="flex" justifyContent="space-between">
            {/* A release without workloads has no pods to count. */}
            <Typography variant="body2">
              {release.status === 'no-workloads'
                ? release.name
                : `${release.name}: ${release.readyPods}/${release.totalPods}`}
            </Typography>
            <RunStatus status={release.status} />
          </Box>
          {release.reason && (
            <Typography variant="caption" color="textSecondary" component="p">
              {release.reason}
            </Typography>
          )}
        </Box>
      ))}
      {quotaKeys.length > 0 && (
        <Box mt={1}>
          <Typography variant="subtitle2">{t('health.quota')}</Typography>
          {quotaKeys.map(key => {
            const used = health.quota.used[key] ?? '0';
            const hard = health.quota.hard[key];
            const fraction = quotaFraction(used, hard);
            return fraction === undefined ? (
              <Typography key={key} variant="body2">
                {key}: {used} / {hard}
              </Typography>
            ) : (
              <UtilisationBar
                key={key}
                label={key}
                value={fraction}
                detail={`${used} / ${hard}`}
              />
            );
          })}
        </Box>
      )}
      {health.urls.map(url => (
        <Typography key={url} variant="body2">
          <Link to={url}>{url}</Link>
        </Typography>
      ))}
      {error && <ResponseErrorPanel error={error} />}
      {health.status !== 'unknown' && (
        <Typography variant="caption" color="textSecondary">
          {t('health.updated', {
            seconds: String(secondsSince(health.observedAt, now)),
          })}
        </Typography>
      )}
    </Box>
  );
}
