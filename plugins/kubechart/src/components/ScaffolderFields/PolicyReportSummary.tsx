import type { PolicyReport } from '@kubechart/plugin-kubechart-common';
import Box from '@material-ui/core/Box';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemText from '@material-ui/core/ListItemText';
import Alert from '@material-ui/lab/Alert';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The verdict of a dry run's policy report, then every failed rule with its object and message. */
export function PolicyReportSummary(props: { report: PolicyReport }) {
  const { report } = props;
  const failed = report.results.filter(r => !r.passed && !r.exempt);
  const counts = `${plural(report.summary.objects, 'object')}, ${plural(
    report.summary.errors,
    'error',
  )}, ${plural(report.summary.warnings, 'warning')}`;
  // The words follow `passed` (no error rule failed), as the run's policy tab does; `blocking`
  // only says whether the report stops the run.
  let severity: 'success' | 'warning' | 'error' = 'success';
  let verdict = `Policy check passed (${report.mode}): ${counts}.`;
  if (report.blocking) {
    severity = 'error';
    verdict = `The policy refuses these manifests (${report.mode}): ${counts}. Change the form values and come back.`;
  } else if (!report.passed) {
    severity = 'warning';
    verdict = `Policy check failed (${report.mode} mode: not blocking): ${counts}.`;
  } else if (failed.length) {
    severity = 'warning';
    verdict = `Policy check passed with findings (${report.mode}): ${counts}.`;
  }
  return (
    <Box mt={1}>
      <Alert severity={severity}>{verdict}</Alert>
      {failed.length > 0 && (
        <List dense aria-label="Policy findings">
          {failed.map((r, i) => (
            <ListItem
              key={`${r.ruleId}-${r.object.kind}-${r.object.name}-${i}`}
            >
              <ListItemText
                primary={`${r.severity} [${r.ruleId}] ${r.object.kind}/${r.object.name}`}
                secondary={r.message}
              />
            </ListItem>
          ))}
        </List>
      )}
    </Box>
  );
}
