import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import { ReactNode } from 'react';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';

/** A dialog that states exactly what a run will do before starting it. */
export function ConfirmRunDialog(props: {
  open: boolean;
  title: string;
  body: string;
  confirmLabel: string;
  busy: boolean;
  /** Keeps the dialog informative but refuses to start the run. */
  confirmDisabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  /** What the run needs chosen before it starts, under the text (e.g. which release). */
  children?: ReactNode;
}) {
  const { open, title, body, confirmLabel, busy, onConfirm, onCancel } = props;
  const { confirmDisabled = false } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  return (
    <Dialog open={open} onClose={busy ? undefined : onCancel}>
      <DialogTitle>{title}</DialogTitle>
      <DialogContent>
        <DialogContentText>{body}</DialogContentText>
        {props.children}
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel} disabled={busy}>
          {t('actions.cancel')}
        </Button>
        <Button
          onClick={onConfirm}
          color="primary"
          variant="contained"
          disabled={busy || confirmDisabled}
        >
          {confirmLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
