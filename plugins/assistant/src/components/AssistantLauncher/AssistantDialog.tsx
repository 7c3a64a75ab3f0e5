import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import Dialog from '@material-ui/core/Dialog';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import IconButton from '@material-ui/core/IconButton';
import { makeStyles } from '@material-ui/core/styles';
import CloseIcon from '@material-ui/icons/Close';
import { AssistantWidget } from '../AssistantWidget';
import { assistantTranslationRef } from '../../translation';

const useStyles = makeStyles({
  title: {
    display: 'flex',
    alignItems: 'center',
    justifyContent: 'space-between',
  },
});

/** The assistant in a dialog; it stays mounted when closed so the conversation is kept. */
export function AssistantDialog(props: { open: boolean; onClose: () => void }) {
  const { open, onClose } = props;
  const classes = useStyles();
  const { t } = useTranslationRef(assistantTranslationRef);
  return (
    <Dialog
      open={open}
      onClose={onClose}
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
        <IconButton aria-label={t('close')} onClick={onClose}>
          <CloseIcon />
        </IconButton>
      </DialogTitle>
      <DialogContent>
        <AssistantWidget />
      </DialogContent>
    </Dialog>
  );
}
