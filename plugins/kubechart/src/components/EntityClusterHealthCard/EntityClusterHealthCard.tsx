import { InfoCard } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { kubechartTranslationRef } from '../../translation';
import { getKubechartTargets } from '../../lib/entity';
import { ClusterHealthList } from '../ClusterHealthCard';
import { EntityDriftStatusLine } from '../DriftStatus';
import { TenantHealthPanel } from './TenantHealthPanel';

/**
 * Health card of an entity: for a tenant entity (`kubechart.io/tenant`) the tenant's health per
 * release and its quota; otherwise the clusters named by `kubechart.io/cluster`, or every
 * cluster when the entity only carries `backstage.io/kubernetes-id`. Below it, whether the entity's
 * latest runs still match the cluster (drift).
 * @public
 */
export function EntityClusterHealthCard() {
  const { entity } = useEntity();
  const { t } = useTranslationRef(kubechartTranslationRef);
  const targets = getKubechartTargets(entity);

  if (targets.tenant) {
    return (
      <InfoCard title={t('health.tenantTitle')}>
        <TenantHealthPanel
          tenant={targets.tenant}
          // The tenant's own cluster when the entity names exactly one (the tenant provider's do).
          cluster={
            targets.clusters.length === 1 ? targets.clusters[0] : undefined
          }
        />
        <EntityDriftStatusLine entityRef={stringifyEntityRef(entity)} />
      </InfoCard>
    );
  }
  return (
    <InfoCard title={t('health.clusterTitle')}>
      <ClusterHealthList clusters={targets.clusters} />
      <EntityDriftStatusLine entityRef={stringifyEntityRef(entity)} />
    </InfoCard>
  );
}
