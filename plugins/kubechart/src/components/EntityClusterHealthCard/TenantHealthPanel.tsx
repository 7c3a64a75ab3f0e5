import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { Link, Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { ageOf, useNow, useTenantHealth } from '../../hooks';
import { VisibleText } from '../shared/visibleText';
import { quotaFraction } from '../../lib/quantity';
import { RunStatus } from '../RunStatus';
import { UtilisationBar } from '../ClusterHealthCard/UtilisationBar';

/**
 * A tenant's health per release and its quota use, and why the tenant is worse than its releases
 * say (the backend's `message`: its namespace does not exist, a pod or Job of no release fails,
 * its quota is used up); its URLs, or why they are not known (`urlsError`). A health the
 * backend does not know (it does not follow the tenant's cluster) shows why, and when the cluster
 * was last seen (the backend's `lastSeenAt`; it has none when it never followed the cluster).
 * `cluster`: the tenant's cluster when the entity names one (a code on several clusters is
 * otherwise refused, and the error shown).
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

  const lastSeen = ageOf(health.lastSeenAt, now);
  const updated = ageOf(health.observedAt, now);
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
          <strong>{t('health.tenantUnknown')}</strong>:{' '}
          <VisibleText text={health.message ?? ''} />
          <div>
            {health.lastSeenAt
              ? t(lastSeen.ahead ? 'health.lastSeenAhead' : 'health.lastSeen', {
                  seconds: String(lastSeen.seconds),
                })
              : t('health.tenantNotSeen')}
          </div>
        </Alert>
      )}
      {health.status !== 'unknown' && health.message && (
        // Why the tenant is worse than its releases say (its namespace is gone, its quota is used
        // up, a pod or Job of no release fails).
        <Alert severity={health.status === 'unhealthy' ? 'error' : 'warning'}>
          <VisibleText text={health.message} />
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
              <VisibleText text={release.reason} />
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
      {health.urlsError && (
        // The URLs could not all be listed: not the same as a tenant with none.
        <Alert severity="warning">
          <strong>{t('health.urlsUnknown')}</strong>:{' '}
          <VisibleText text={health.urlsError} />
        </Alert>
      )}
      {error && <ResponseErrorPanel error={error} />}
      {health.status !== 'unknown' && (
        <Typography variant="caption" color="textSecondary">
          {t(updated.ahead ? 'health.updatedAhead' : 'health.updated', {
            seconds: String(updated.seconds),
          })}
        </Typography>
      )}
    </Box>
  );
}
