import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { AskResponse } from '@kubechart/plugin-assistant-common';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import { useState } from 'react';
import { assistantTranslationRef } from '../../translation';

/**
 * Asks for the confirmation a plan's safety level needs: a click for
 * warnings, the resource's name typed out for dangerous commands.
 */
export function ConfirmDialog(props: {
  answer: AskResponse;
  onCancel: () => void;
  onConfirm: (confirmation: {
    confirm: true;
    typedConfirmation?: string;
  }) => void;
}) {
  const { answer, onCancel, onConfirm } = props;
  const { t } = useTranslationRef(assistantTranslationRef);
  const [typed, setTyped] = useState('');
  const expected = answer.requirements.typedConfirmation;
  const dangerous = answer.safety.level === 'dangerous';
  const ready = !expected || typed === expected;
  return (
    <Dialog open onClose={onCancel} aria-labelledby="kube-assistant-confirm">
      <DialogTitle id="kube-assistant-confirm">
        {dangerous ? t('confirmDangerousTitle') : t('confirmWarningTitle')}
      </DialogTitle>
      <DialogContent>
        <DialogContentText component="div">
          <code>{answer.command}</code>
        </DialogContentText>
        <DialogContentText>{answer.safety.reason}</DialogContentText>
        {expected && (
          <TextField
            fullWidth
            label={t('typeToConfirm', { name: expected })}
            value={typed}
            onChange={e => setTyped(e.target.value)}
            inputProps={{
              'aria-label': t('typeToConfirm', { name: expected }),
            }}
          />
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel}>{t('cancel')}</Button>
        <Button
          color="secondary"
          variant="contained"
          disabled={!ready}
          onClick={() =>
            onConfirm(
              expected
                ? { confirm: true, typedConfirmation: typed }
                : { confirm: true },
            )
          }
        >
          {t('confirm')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
