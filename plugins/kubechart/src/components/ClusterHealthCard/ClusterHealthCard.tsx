import { InfoCard } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { ClusterHealthList } from './ClusterHealthList';

/**
 * Health of every configured cluster, for the home page. Live through signals.
 * @public
 */
export function ClusterHealthCard(props: { title?: string }) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  return (
    <InfoCard title={props.title ?? t('health.clusterTitle')}>
      <ClusterHealthList />
    </InfoCard>
  );
}

/** The body of the home page widget (the home page draws the card around it). */
export function ClusterHealthContent() {
  return <ClusterHealthList />;
}
