import { useEffect, useState } from 'react';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import Alert from '@material-ui/lab/Alert';
import { alertApiRef, useApi } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type { Run } from '@kubechart/plugin-kubechart-common';
import { APPROVAL_COMMENT_MAX_LENGTH, kubechartApiRef } from '../../api';
import { kubechartTranslationRef } from '../../translation';

/** An approval decision the dialog records, or the requester withdrawing the run. */
export type Decision = 'approve' | 'reject' | 'withdraw';

/**
 * Asks for the required comment of a decision (optional when the requester withdraws the run),
 * records it, and keeps the server's answer in view when it refuses (who may not decide and why,
 * or that the run no longer awaits approval).
 */
export function DecideRunDialog(props: {
  run: Run;
  /** The decision being made; the dialog is closed while undefined. */
  decision?: Decision;
  onClose: () => void;
  /** Called after the server recorded the decision, and after it said the run has moved on. */
  onChanged: () => void;
}) {
  const { run, decision, onClose, onChanged } = props;
  const api = useApi(kubechartApiRef);
  const alertApi = useApi(alertApiRef);
  const { t } = useTranslationRef(kubechartTranslationRef);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  // Each opening starts empty: a comment written for "reject" is not reused for "approve".
  useEffect(() => {
    setComment('');
    setError(undefined);
  }, [decision]);

  const trimmed = comment.trim();
  const tooLong = comment.length > APPROVAL_COMMENT_MAX_LENGTH;
  const withdrawing = decision === 'withdraw';
  const canSubmit = !busy && (withdrawing || trimmed.length > 0) && !tooLong;
  const approving = decision === 'approve';

  const submit = async () => {
    if (!decision || !canSubmit) {
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (withdrawing) await api.withdrawRun(run.id, trimmed || undefined);
      else if (approving) await api.approveRun(run.id, trimmed);
      else await api.rejectRun(run.id, trimmed);
      alertApi.post({
        message: t('approval.recorded', { id: run.id }),
        severity: 'success',
        display: 'transient',
      });
      onChanged();
      onClose();
    } catch (e) {
      const { kind, reason } = refusal(e);
      if (kind === 'notAllowed') {
        setError(t('approval.dialog.notAllowed', { reason }));
      } else if (kind === 'conflict') {
        setError(t('approval.dialog.conflict', { reason }));
      } else {
        setError(t('approval.dialog.failed', { reason }));
      }
      if (kind === 'conflict') {
        // Someone else decided, or it expired: show the run as it is now behind the dialog.
        onChanged();
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={!!decision}
      onClose={busy ? undefined : onClose}
      fullWidth
      maxWidth="sm"
      aria-labelledby="kubechart-decide-title"
    >
      <DialogTitle id="kubechart-decide-title">
        {withdrawing && t('approval.dialog.withdrawTitle', { id: run.id })}
        {approving && t('approval.dialog.approveTitle', { id: run.id })}
        {decision === 'reject' &&
          t('approval.dialog.rejectTitle', { id: run.id })}
      </DialogTitle>
      <DialogContent>
        {/* The plan hash is one long word: let it wrap inside the dialog. */}
        <DialogContentText style={{ overflowWrap: 'anywhere' }}>
          {withdrawing && t('approval.dialog.withdrawBody')}
          {approving &&
            t('approval.dialog.approveBody', {
              hash: run.approval?.planHash ?? '–',
            })}
          {decision === 'reject' && t('approval.dialog.rejectBody')}
        </DialogContentText>
        <TextField
          id="kubechart-decide-comment"
          label={t('approval.dialog.comment')}
          value={comment}
          onChange={e => setComment(e.target.value)}
          required={!withdrawing}
          multiline
          minRows={3}
          fullWidth
          variant="outlined"
          disabled={busy}
          error={tooLong}
          helperText={
            tooLong
              ? t('approval.dialog.commentTooLong', {
                  max: String(APPROVAL_COMMENT_MAX_LENGTH),
                  length: String(comment.length),
                })
              : t(
                  withdrawing
                    ? 'approval.dialog.withdrawCommentHelp'
                    : 'approval.dialog.commentHelp',
                  {
                    max: String(APPROVAL_COMMENT_MAX_LENGTH),
                    length: String(comment.length),
                  },
                )
          }
        />
        {error && (
          <Alert severity="error" role="alert" style={{ marginTop: 16 }}>
            {error}
          </Alert>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={busy}>
          {t('actions.cancel')}
        </Button>
        <Button
          onClick={submit}
          color={approving ? 'primary' : 'secondary'}
          variant="contained"
          disabled={!canSubmit}
        >
          {withdrawing && t('approval.dialog.withdrawConfirm')}
          {approving && t('approval.dialog.approveConfirm')}
          {decision === 'reject' && t('approval.dialog.rejectConfirm')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** What kind of refusal the server answered, and its own reason. */
function refusal(error: unknown): {
  kind: 'notAllowed' | 'conflict' | 'failed';
  reason: string;
} {
  if (error instanceof ResponseError) {
    const reason = error.body?.error?.message || error.message;
    if (error.statusCode === 403) {
      return { kind: 'notAllowed', reason };
    }
    if (error.statusCode === 409) {
      return { kind: 'conflict', reason };
    }
    return { kind: 'failed', reason };
  }
  return {
    kind: 'failed',
    reason: error instanceof Error ? error.message : String(error),
  };
}
