import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import Box from '@material-ui/core/Box';
import Drawer from '@material-ui/core/Drawer';
import IconButton from '@material-ui/core/IconButton';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import CloseIcon from '@material-ui/icons/Close';
import { auditLogTranslationRef } from '../../translation';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
} from '../shared/visibleText';
import { EventTime } from '../shared/eventTime';

const useStyles = makeStyles(theme => ({
  // long values (paths, refs, messages) wrap instead of running off the drawer
  block: {
    whiteSpace: 'pre-wrap',
    overflowWrap: 'anywhere',
    fontFamily: 'monospace',
    fontSize: theme.typography.body2.fontSize,
    backgroundColor: theme.palette.background.default,
    padding: theme.spacing(1.5),
    borderRadius: theme.shape.borderRadius,
    margin: theme.spacing(0, 0, 2),
  },
  hash: { overflowWrap: 'anywhere' },
}));

function Block(props: { text: string; label: string }) {
  const classes = useStyles();
  return (
    <pre className={classes.block} aria-label={props.label}>
      <VisibleText text={props.text} />
    </pre>
  );
}

/** Side panel with every field of one event and its meta as JSON. */
export function EventDetailsDrawer(props: {
  event?: AuditEvent;
  onClose: () => void;
}) {
  const { event, onClose } = props;
  const { t } = useTranslationRef(auditLogTranslationRef);
  const classes = useStyles();
  // What an event records (a failure reason the cluster wrote, meta other users wrote) is shown
  // with its hidden characters as markers, and counted here.
  const meta = event && JSON.stringify(event.meta ?? {}, null, 2);
  const request = event?.request && JSON.stringify(event.request, null, 2);
  const hidden = event
    ? countHidden(
        event.actor,
        event.plugin,
        event.eventId,
        event.status,
        meta,
        event.error,
        request,
      )
    : 0;
  return (
    <Drawer anchor="right" open={Boolean(event)} onClose={onClose}>
      {event && (
        <Box
          p={3}
          width={640}
          maxWidth="100vw"
          boxSizing="border-box"
          role="dialog"
          aria-label={t('details.title', { seq: String(event.seq) })}
        >
          <Box display="flex" alignItems="center">
            <Box flexGrow={1}>
              <Typography variant="h5">
                {t('details.title', { seq: String(event.seq) })}
              </Typography>
              <Typography variant="subtitle2" color="textSecondary">
                <VisibleText
                  text={`${event.plugin}.${event.eventId} · ${event.status} · `}
                />
                <EventTime iso={event.occurredAt} />
              </Typography>
            </Box>
            <IconButton aria-label={t('details.close')} onClick={onClose}>
              <CloseIcon />
            </IconButton>
          </Box>
          <HiddenCharactersWarning count={hidden} />
          <Typography variant="h6">{t('details.meta')}</Typography>
          <Block label={t('details.meta')} text={meta ?? '{}'} />
          {event.error && (
            <>
              <Typography variant="h6">{t('details.error')}</Typography>
              <Block label={t('details.error')} text={event.error} />
            </>
          )}
          {event.request && (
            <>
              <Typography variant="h6">{t('details.request')}</Typography>
              <Block label={t('details.request')} text={request ?? ''} />
            </>
          )}
          <Typography variant="h6">{t('details.hash')}</Typography>
          <Typography variant="body2" className={classes.hash}>
            {event.hash}
          </Typography>
          <Typography variant="h6">{t('details.prevHash')}</Typography>
          <Typography variant="body2" className={classes.hash}>
            {event.prevHash}
          </Typography>
        </Box>
      )}
    </Drawer>
  );
}
