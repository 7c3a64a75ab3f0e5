import { InfoCard } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import { AssistantWidget } from '../AssistantWidget';
import { assistantTranslationRef } from '../../translation';

/**
 * The assistant on an entity page: questions are scoped to the entity's
 * cluster, namespace and label selector (from its Kubernetes annotations).
 *
 * @public
 */
export function EntityAssistantCard() {
  const { entity } = useEntity();
  const { t } = useTranslationRef(assistantTranslationRef);
  return (
    <InfoCard title={t('entityTitle')}>
      <AssistantWidget entityRef={stringifyEntityRef(entity)} />
    </InfoCard>
  );
}
