import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { Run } from '@kubechart/plugin-kubechart-common';
import useAsync from 'react-use/esm/useAsync';
import { kubechartApiRef } from '../../api';
import { kubechartTranslationRef } from '../../translation';
import { inputChanges } from '../../lib/inputChanges';
import {
  countHidden,
  HiddenCharactersWarning,
  VisibleText,
} from '../shared/visibleText';

const cell = { fontFamily: 'monospace', wordBreak: 'break-all' } as const;

/**
 * The fields of the run's input (secrets redacted) that differ from the previous run's: what a
 * tenant's quota or a release's chart version changes, which the values and manifest diff of a
 * run without releases does not show.
 */
export function PlanInputChanges(props: { run: Run; previousRunId: string }) {
  const { run, previousRunId } = props;
  const api = useApi(kubechartApiRef);
  const { t } = useTranslationRef(kubechartTranslationRef);
  const previous = useAsync(
    () => api.getRun(previousRunId),
    [api, previousRunId],
  );

  if (previous.loading) {
    return <Progress />;
  }
  if (previous.error || !previous.value) {
    return (
      <ResponseErrorPanel
        error={previous.error ?? new Error(`Run ${previousRunId} not found`)}
      />
    );
  }
  const { changes, truncated } = inputChanges(previous.value.input, run.input);
  // Each hidden character as a marker, as the values and diffs show them: a U+202E would reorder
  // the rest of its cell, and the approver would read another value than the one applied.
  const hidden = countHidden(
    ...changes.flatMap(c => [c.path, c.before, c.after]),
  );
  return (
    <>
      <Typography variant="subtitle2">{t('approval.inputChanges')}</Typography>
      <HiddenCharactersWarning count={hidden} />
      {changes.length ? (
        <Table size="small" data-testid="kubechart-approval-input-changes">
          <TableHead>
            <TableRow>
              <TableCell>{t('approval.inputColumns.path')}</TableCell>
              <TableCell>{t('approval.inputColumns.before')}</TableCell>
              <TableCell>{t('approval.inputColumns.after')}</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {changes.map(c => (
              <TableRow key={c.path}>
                <TableCell style={cell}>
                  <VisibleText text={c.path} />
                </TableCell>
                <TableCell style={cell}>
                  {c.before === undefined ? (
                    '–'
                  ) : (
                    <VisibleText text={c.before} />
                  )}
                </TableCell>
                <TableCell style={cell}>
                  {c.after === undefined ? '–' : <VisibleText text={c.after} />}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : (
        <Typography variant="body2" color="textSecondary">
          {t('approval.noInputChanges')}
        </Typography>
      )}
      {truncated && (
        <Typography variant="body2" color="textSecondary">
          {t('approval.inputTruncated', { count: changes.length })}
        </Typography>
      )}
    </>
  );
}
