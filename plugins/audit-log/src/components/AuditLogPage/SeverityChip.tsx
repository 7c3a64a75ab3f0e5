import { AuditEventSeverity } from '@kubechart/plugin-audit-log-common';
import Chip from '@material-ui/core/Chip';
import { makeStyles } from '@material-ui/core/styles';

const useStyles = makeStyles(theme => ({
  low: {},
  medium: {
    backgroundColor: theme.palette.info.main,
    color: theme.palette.info.contrastText,
  },
  high: {
    backgroundColor: theme.palette.warning.main,
    color: theme.palette.warning.contrastText,
  },
  critical: {
    backgroundColor: theme.palette.error.main,
    color: theme.palette.error.contrastText,
  },
}));

/** A severity in the theme's scale: info, warning, error. */
export function SeverityChip(props: { severity: AuditEventSeverity }) {
  const classes = useStyles();
  const { severity } = props;
  return (
    <Chip
      size="small"
      label={severity}
      className={classes[severity] ?? classes.low}
    />
  );
}
