import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { StatusError, StatusOK } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { ApprovalDecision } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { formatTimestamp, shortActor } from '../../lib/format';
import { VisibleText } from '../shared/visibleText';

/** The decisions on a run, in the order they were made: who, what, why and when. */
export function ApprovalDecisions(props: { decisions: ApprovalDecision[] }) {
  const { decisions } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  if (!decisions.length) {
    return (
      <Typography color="textSecondary">{t('approval.noDecisions')}</Typography>
    );
  }
  const ordered = [...decisions].sort((a, b) => a.at.localeCompare(b.at));
  return (
    <Table size="small" data-testid="kubechart-approval-decisions">
      <TableHead>
        <TableRow>
          <TableCell>{t('approval.columns.by')}</TableCell>
          <TableCell>{t('approval.columns.decision')}</TableCell>
          <TableCell>{t('approval.columns.comment')}</TableCell>
          <TableCell>{t('approval.columns.at')}</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {ordered.map(d => (
          <TableRow key={`${d.by}-${d.at}`}>
            <TableCell title={d.by}>{shortActor(d.by)}</TableCell>
            <TableCell>
              {d.decision === 'approve' ? (
                <StatusOK>{t('approval.decision.approve')}</StatusOK>
              ) : (
                <StatusError>{t('approval.decision.reject')}</StatusError>
              )}
            </TableCell>
            <TableCell
              style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}
            >
              <VisibleText text={d.comment} />
            </TableCell>
            <TableCell>{formatTimestamp(d.at)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
