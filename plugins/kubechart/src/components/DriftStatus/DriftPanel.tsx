import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { useEntityDrift } from '../../hooks';
import { formatTimestamp } from '../../lib/format';
import { kubechartTranslationRef } from '../../translation';
import { DriftBadge, notComparedCount } from './DriftBadge';
import { DriftFieldsTable } from './DriftFieldsTable';
import { ReapplyButton } from './ReapplyButton';

/**
 * Drift of an entity's latest runs (one per target): a badge each, and for a drifted one the
 * field-level diff and "Re-apply last run".
 */
export function DriftPanel(props: {
  entityRef: string;
  onRunStarted: (runId: string) => void;
}) {
  const { entityRef, onRunStarted } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const { value, loading, error } = useEntityDrift(entityRef);

  let body: JSX.Element;
  if (!value && loading) {
    body = <Progress />;
  } else if (!value) {
    body = <ResponseErrorPanel error={error ?? new Error('No data')} />;
  } else if (!value.length) {
    body = <Typography variant="body2">{t('drift.notChecked')}</Typography>;
  } else {
    body = (
      <>
        {error && <ResponseErrorPanel error={error} />}
        {value.map(({ drift, run }) => {
          const { cluster, namespace, release } = drift.target;
          return (
            <Box key={drift.runId} mb={2} data-testid={`drift-${drift.runId}`}>
              <Box
                display="flex"
                alignItems="center"
                gridGap={16}
                flexWrap="wrap"
              >
                <Typography variant="subtitle2">
                  {[cluster, namespace, release].filter(Boolean).join(' / ')}
                </Typography>
                <DriftBadge
                  status={drift.status}
                  count={drift.objects.length}
                  notCompared={notComparedCount([drift])}
                  since={drift.since}
                  message={drift.message}
                />
                <Typography variant="caption" color="textSecondary">
                  {t('drift.checkedAt', {
                    runId: drift.runId,
                    time: formatTimestamp(drift.checkedAt),
                  })}
                </Typography>
                {drift.reportedByAction && (
                  <Typography variant="caption" color="textSecondary">
                    {t('drift.reportedByAction', {
                      action: drift.reportedByAction,
                    })}
                  </Typography>
                )}
                {drift.status === 'drifted' && run && (
                  <ReapplyButton run={run} onStarted={onRunStarted} />
                )}
              </Box>
              {/* What was not compared, whatever the status (an unknown one says it in its badge). */}
              {drift.message && drift.status !== 'unknown' && (
                <Typography variant="body2" color="textSecondary">
                  {drift.message}
                </Typography>
              )}
              {drift.status === 'drifted' && (
                <DriftFieldsTable objects={drift.objects} />
              )}
            </Box>
          );
        })}
      </>
    );
  }
  return <InfoCard title={t('drift.title')}>{body}</InfoCard>;
}
