import { Content, Header, Page } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { AssistantWidget } from '../AssistantWidget';
import { assistantTranslationRef } from '../../translation';

/** The assistant on a page of its own (legacy apps). @public */
export function AssistantPage() {
  const { t } = useTranslationRef(assistantTranslationRef);
  return (
    <Page themeId="tool">
      <Header title={t('title')} />
      <Content>
        <AssistantWidget />
      </Content>
    </Page>
  );
}
