import { Content, Header, Page } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { TenantsTable } from './TenantsTable';

/**
 * The tenants page with its own header, for apps on the legacy frontend system (the new
 * system's page extension draws the header itself and renders {@link TenantsTable}).
 * @public
 */
export function TenantsPage() {
  const { t } = useTranslationRef(kubechartTranslationRef);
  return (
    <Page themeId="tool">
      <Header title={t('tenants.title')} subtitle={t('tenants.subtitle')} />
      <Content>
        <TenantsTable />
      </Content>
    </Page>
  );
}
