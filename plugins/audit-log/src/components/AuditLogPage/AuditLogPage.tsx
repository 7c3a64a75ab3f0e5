import { Content, Header, Page } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { auditLogTranslationRef } from '../../translation';
import { AuditLogContent } from './AuditLogContent';

/**
 * The full audit-log page with its own header, for apps on the legacy
 * frontend system.
 * @public
 */
export function AuditLogPage() {
  const { t } = useTranslationRef(auditLogTranslationRef);
  return (
    <Page themeId="tool">
      <Header title={t('page.title')} subtitle={t('page.subtitle')} />
      <Content>
        <AuditLogContent />
      </Content>
    </Page>
  );
}
