import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';
import { useRunDiff } from '../../hooks';
import { DiffLines } from './DiffLines';

/** The values and manifest diff from run `otherId` to run `runId`, with its loading and error states. */
export function RunDiffResult(props: { runId: string; otherId: string }) {
  const { runId, otherId } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const diff = useRunDiff(runId, otherId);

  if (diff.loading) {
    return <Progress />;
  }
  if (diff.error) {
    return <ResponseErrorPanel error={diff.error} />;
  }
  if (!diff.value) {
    return null;
  }
  const hidden = diff.value.hiddenSecrets ?? 0;
  return (
    <Box>
      {hidden > 0 && (
        <Box mb={2}>
          <Alert severity="info">
            {t('run.diffHiddenSecrets', { count: hidden })}
          </Alert>
        </Box>
      )}
      <Typography variant="subtitle2">{t('run.diffValues')}</Typography>
      <DiffLines
        patch={diff.value.values}
        emptyText={t('run.noChanges')}
        notComputed={diff.value.notComputed?.values}
      />
      <Box mt={2}>
        <Typography variant="subtitle2">{t('run.diffManifest')}</Typography>
        <DiffLines
          patch={diff.value.manifest}
          emptyText={t('run.noChanges')}
          notComputed={diff.value.notComputed?.manifest}
        />
      </Box>
    </Box>
  );
}
