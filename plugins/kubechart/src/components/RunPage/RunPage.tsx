import { Content, InfoCard } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import Typography from '@material-ui/core/Typography';
import { useSearchParams } from 'react-router-dom';
import { RunDetail } from '../RunDetail';
import { kubechartTranslationRef } from '../../translation';

/**
 * One run on a page of its own, `/kubechart/runs?run=<id>`: what approval requests and
 * notifications open, since a run's entity may not be in the catalog yet (a tenant is, once its
 * run applied). The backend decides whether the user may read it.
 * @public
 */
export function RunPage() {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const [searchParams, setSearchParams] = useSearchParams();
  const runId = searchParams.get('run');
  return (
    <Content>
      {runId ? (
        <RunDetail
          runId={runId}
          onRunStarted={id => setSearchParams({ run: id })}
        />
      ) : (
        <InfoCard title={t('runPage.title')}>
          <Typography>{t('runPage.noRun')}</Typography>
        </InfoCard>
      )}
    </Content>
  );
}
