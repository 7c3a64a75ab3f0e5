import { CodeSnippet } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import Box from '@material-ui/core/Box';
import Drawer from '@material-ui/core/Drawer';
import IconButton from '@material-ui/core/IconButton';
import Typography from '@material-ui/core/Typography';
import CloseIcon from '@material-ui/icons/Close';
import { auditLogTranslationRef } from '../../translation';

/** Side panel with every field of one event and its meta as JSON. */
export function EventDetailsDrawer(props: {
  event?: AuditEvent;
  onClose: () => void;
}) {
  const { event, onClose } = props;
  const { t } = useTranslationRef(auditLogTranslationRef);
  return (
    <Drawer anchor="right" open={Boolean(event)} onClose={onClose}>
      {event && (
        <Box
          p={3}
          width={560}
          maxWidth="100vw"
          role="dialog"
          aria-label={t('details.title', { seq: String(event.seq) })}
        >
          <Box display="flex" alignItems="center">
            <Box flexGrow={1}>
              <Typography variant="h5">
                {t('details.title', { seq: String(event.seq) })}
              </Typography>
              <Typography variant="subtitle2" color="textSecondary">
                {event.plugin}.{event.eventId} · {event.status} ·{' '}
                {event.occurredAt}
              </Typography>
            </Box>
            <IconButton aria-label={t('details.close')} onClick={onClose}>
              <CloseIcon />
            </IconButton>
          </Box>
          <Typography variant="h6">{t('details.meta')}</Typography>
          <CodeSnippet
            language="json"
            text={JSON.stringify(event.meta ?? {}, null, 2)}
            showCopyCodeButton
          />
          {event.error && (
            <>
              <Typography variant="h6">{t('details.error')}</Typography>
              <CodeSnippet language="text" text={event.error} />
            </>
          )}
          {event.request && (
            <>
              <Typography variant="h6">{t('details.request')}</Typography>
              <CodeSnippet
                language="json"
                text={JSON.stringify(event.request, null, 2)}
              />
            </>
          )}
          <Typography variant="h6">{t('details.hash')}</Typography>
          <Typography variant="body2" style={{ wordBreak: 'break-all' }}>
            {event.hash}
          </Typography>
          <Typography variant="h6">{t('details.prevHash')}</Typography>
          <Typography variant="body2" style={{ wordBreak: 'break-all' }}>
            {event.prevHash}
          </Typography>
        </Box>
      )}
    </Drawer>
  );
}
