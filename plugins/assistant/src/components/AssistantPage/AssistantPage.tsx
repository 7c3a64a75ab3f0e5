import { Content, Header, Page } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { AssistantWidget } from '../AssistantWidget';
import { assistantTranslationRef } from '../../translation';

/** The assistant as page content, under the app's own page header (new frontend system). */
export function AssistantPageContent() {
  return (
    <Content>
      <AssistantWidget />
    </Content>
  );
}

/** The assistant on a page of its own, with the standard Backstage header (legacy apps). @public */
export function AssistantPage() {
  const { t } = useTranslationRef(assistantTranslationRef);
  return (
    <Page themeId="tool">
      <Header title={t('title')} />
      <AssistantPageContent />
    </Page>
  );
}
