import { ResponseErrorPanel } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { AuditVerifyResult } from '@kubechart/plugin-audit-log-common';
import Alert from '@material-ui/lab/Alert';
import { auditLogTranslationRef } from '../../translation';
import { formatTime } from '../shared/eventTime';

/** Shows the outcome of a chain verification. */
export function VerifyResultPanel(props: {
  result?: AuditVerifyResult;
  error?: Error;
}) {
  const { result, error } = props;
  const { t } = useTranslationRef(auditLogTranslationRef);
  if (error) {
    return <ResponseErrorPanel error={error} />;
  }
  if (!result) {
    return null;
  }
  const pruned = result.pruned
    ? ` ${t('verify.pruned', {
        throughSeq: String(result.pruned.throughSeq),
        prunedAt: formatTime(result.pruned.prunedAt),
      })}`
    : '';
  const gaps = result.gapCount ? (
    <Alert severity="warning" role="alert" aria-label="gaps">
      {t('verify.gaps', {
        gapCount: String(result.gapCount),
        droppedEvents: String(result.droppedEvents ?? 0),
      })}
      <ul>
        {(result.gaps ?? []).map(gap => (
          <li key={gap.seq}>
            #{gap.seq}: {gap.message}
          </li>
        ))}
      </ul>
    </Alert>
  ) : null;
  if (!result.ok) {
    const reason = result.reason ?? '';
    let failure: string;
    if (result.anchorMissing) {
      // the chain verified; what is missing is the evidence outside the database
      failure = `${t('verify.anchorMissing', { reason })} ${t(
        'verify.anchorMissingHelp',
      )}`;
    } else if (result.anchorMismatch) {
      failure = t('verify.anchorMismatch', {
        seq: String(result.anchorMismatch.seq),
        at: formatTime(result.anchorMismatch.at),
        reason,
      });
    } else {
      failure = t('verify.failed', {
        failedSeq: String(result.failedSeq),
        reason,
      });
    }
    return (
      <>
        <Alert severity="error" role="alert">
          {failure}
          {pruned}
        </Alert>
        {gaps}
      </>
    );
  }
  return (
    <>
      <Alert severity="success" role="status">
        {result.checked > 0
          ? t('verify.ok', {
              checked: String(result.checked),
              lastSeq: String(result.lastSeq),
            })
          : t('verify.okEmpty')}
        {pruned}
        {result.keyed && result.checked > 0 ? ` ${t('verify.keyed')}` : ''}
        {result.anchor
          ? ` ${t('verify.anchor', {
              seq: String(result.anchor.seq),
              at: formatTime(result.anchor.at),
            })}`
          : ''}
      </Alert>
      {result.keyed === false && (
        <Alert severity="warning" aria-label="unkeyed">
          {t('verify.unkeyed')}
        </Alert>
      )}
      {gaps}
    </>
  );
}
