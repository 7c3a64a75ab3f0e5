import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import Dialog from '@material-ui/core/Dialog';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import Fab from '@material-ui/core/Fab';
import IconButton from '@material-ui/core/IconButton';
import Tooltip from '@material-ui/core/Tooltip';
import { makeStyles } from '@material-ui/core/styles';
import ChatIcon from '@material-ui/icons/Chat';
import CloseIcon from '@material-ui/icons/Close';
import { useState } from 'react';
import { AssistantWidget } from '../AssistantWidget';
import { assistantTranslationRef } from '../../translation';

const useStyles = makeStyles(theme => ({
  // A small tab on the right edge, half-way down: the bottom-right corner is where pages put
  // their primary actions (the scaffolder's Create, dialogs' buttons), which a launcher must not cover.
  fab: {
    position: 'fixed',
    right: 0,
    top: '50%',
    transform: 'translateY(-50%)',
    borderTopRightRadius: 0,
    borderBottomRightRadius: 0,
    zIndex: theme.zIndex.speedDial,
  },
  title: {
    display: 'flex',
    alignItems: 'center',
    justifyContent: 'space-between',
  },
}));

/**
 * A small button on the right edge of every page that opens the assistant in a dialog.
 * The dialog stays mounted when closed so the conversation is kept.
 *
 * @public
 */
export function AssistantLauncher() {
  const classes = useStyles();
  const { t } = useTranslationRef(assistantTranslationRef);
  const [open, setOpen] = useState(false);
  return (
    <>
      <Tooltip title={t('launcher')}>
        <Fab
          color="primary"
          size="small"
          className={classes.fab}
          aria-label={t('launcher')}
          onClick={() => setOpen(true)}
        >
          <ChatIcon />
        </Fab>
      </Tooltip>
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        fullWidth
        maxWidth="md"
        keepMounted
        aria-labelledby="kube-assistant-launcher"
      >
        <DialogTitle
          id="kube-assistant-launcher"
          disableTypography
          className={classes.title}
        >
          <span>{t('title')}</span>
          <IconButton aria-label={t('close')} onClick={() => setOpen(false)}>
            <CloseIcon />
          </IconButton>
        </DialogTitle>
        <DialogContent>
          <AssistantWidget />
        </DialogContent>
      </Dialog>
    </>
  );
}
