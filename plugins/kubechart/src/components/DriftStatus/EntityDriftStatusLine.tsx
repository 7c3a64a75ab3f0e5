import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { useEntityDrift } from '../../hooks';
import { kubechartTranslationRef } from '../../translation';
import { DriftBadge, notComparedCount } from './DriftBadge';

/**
 * One line of drift for an entity (health card): drifted when any of its latest runs drifted
 * (objects counted over all, since the earliest), unknown when any could not be compared, else in sync
 * (except the fields holding secrets that were not compared, counted over all).
 */
export function EntityDriftStatusLine(props: { entityRef: string }) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const { value, error } = useEntityDrift(props.entityRef);
  if (error && !value) {
    return (
      <Typography variant="body2" color="error">
        {t('drift.unknown', { message: error.message })}
      </Typography>
    );
  }
  if (!value?.length) {
    return null;
  }
  const drifts = value.map(i => i.drift);
  const drifted = drifts.filter(d => d.status === 'drifted');
  const unknown = drifts.find(d => d.status === 'unknown');
  let badge: JSX.Element;
  if (drifted.length) {
    const since = drifted.map(d => d.since).sort()[0];
    const count = drifted.reduce((n, d) => n + d.objects.length, 0);
    badge = <DriftBadge status="drifted" count={count} since={since} />;
  } else if (unknown) {
    badge = <DriftBadge status="unknown" message={unknown.message} />;
  } else {
    badge = (
      <DriftBadge status="in-sync" notCompared={notComparedCount(drifts)} />
    );
  }
  return (
    <Box mt={1} data-testid="kubechart-drift-line">
      {badge}
    </Box>
  );
}
