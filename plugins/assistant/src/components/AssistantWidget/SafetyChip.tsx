import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { SafetyAssessment } from '@kubechart/plugin-assistant-common';
import Chip from '@material-ui/core/Chip';
import Tooltip from '@material-ui/core/Tooltip';
import { makeStyles } from '@material-ui/core/styles';
import CheckCircleIcon from '@material-ui/icons/CheckCircle';
import ErrorIcon from '@material-ui/icons/Error';
import WarningIcon from '@material-ui/icons/Warning';
import { assistantTranslationRef } from '../../translation';

const useStyles = makeStyles(theme => ({
  safe: {
    backgroundColor: theme.palette.success.main,
    color: theme.palette.success.contrastText,
  },
  warning: {
    backgroundColor: theme.palette.warning.main,
    color: theme.palette.warning.contrastText,
  },
  dangerous: {
    backgroundColor: theme.palette.error.main,
    color: theme.palette.error.contrastText,
  },
  icon: { color: 'inherit' },
}));

const ICONS = {
  safe: CheckCircleIcon,
  warning: WarningIcon,
  dangerous: ErrorIcon,
};

/** Shows how risky running a plan is, with the reason on hover. */
export function SafetyChip(props: { safety: SafetyAssessment }) {
  const classes = useStyles();
  const { t } = useTranslationRef(assistantTranslationRef);
  const { level, reason } = props.safety;
  const Icon = ICONS[level];
  return (
    <Tooltip title={reason}>
      <Chip
        size="small"
        className={classes[level]}
        icon={<Icon className={classes.icon} />}
        label={t(`safety.${level}`)}
        data-testid={`safety-${level}`}
      />
    </Tooltip>
  );
}
