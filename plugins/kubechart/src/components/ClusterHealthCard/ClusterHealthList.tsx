import Typography from '@material-ui/core/Typography';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { useClusterHealth } from '../../hooks';
import { ClusterHealthPanel } from './ClusterHealthPanel';

/** Health of the named clusters, or of all clusters when none are named. */
export function ClusterHealthList(props: { clusters?: string[] }) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const { value, loading, error } = useClusterHealth(props.clusters ?? []);
  if (!value && loading) {
    return <Progress />;
  }
  if (!value) {
    return <ResponseErrorPanel error={error ?? new Error('No data')} />;
  }
  if (!value.length) {
    return (
      <Typography color="textSecondary">{t('health.noClusters')}</Typography>
    );
  }
  return (
    <>
      {value.map(result => (
        <ClusterHealthPanel key={result.cluster} result={result} />
      ))}
    </>
  );
}
