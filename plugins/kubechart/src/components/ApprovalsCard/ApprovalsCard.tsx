import { InfoCard } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { ApprovalsList } from './ApprovalsList';

/**
 * The open approval requests the signed-in user may decide on, and the user's own, with links to
 * the runs. Live through signals.
 * @public
 */
export function ApprovalsCard(props: { title?: string }) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  return (
    <InfoCard title={props.title ?? t('approvals.title')}>
      <ApprovalsList />
    </InfoCard>
  );
}

/** The body of the home page widget (the home page draws the card around it). */
export function ApprovalsContent() {
  return <ApprovalsList />;
}
