import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { InfoCard } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { Run, RunApproval } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { useNow } from '../../hooks';
import { formatTimestamp, relativeTime, shortActor } from '../../lib/format';
import { approvalCount } from '../../lib/approval';
import { RunDiffResult } from '../RunDetail/RunDiffResult';
import { Fact } from '../RunDetail/RunHeader';
import { ApprovalDecisions } from './ApprovalDecisions';
import { DecideRunDialog, Decision } from './DecideRunDialog';
import { PlanInputChanges } from './PlanInputChanges';

/**
 * The approval gate of a run against a protected target: its rule and state, how many approvals
 * it has of how many it needs, who may approve, when it was requested and when it expires, every
 * decision with its comment, and the plan's changes against the previous run on the target (its
 * input fields, values and manifest). While the run awaits approval, Approve and Reject (each
 * asking for a comment), disabled with the server's reason for a user who may not decide (e.g. the
 * requester); for its requester, while it awaits approval or is approved and not started, Withdraw.
 */
export function ApprovalPanel(props: {
  run: Run & { approval: RunApproval };
  /** Reloads the run after a decision. */
  onChanged: () => void;
}) {
  const { run, onChanged } = props;
  const { approval } = run;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const now = useNow(30_000);
  const [decision, setDecision] = useState<Decision>();

  const awaiting =
    run.status === 'awaiting-approval' && approval.state === 'awaiting';
  // Fail closed: without the server's word that this user may decide, the buttons stay off.
  const mayDecide = approval.viewer?.mayDecide === true;
  // Offered only on the server's word that this user requested the run and it is still open.
  const mayWithdraw =
    approval.viewer?.mayWithdraw === true &&
    (approval.state === 'awaiting' || approval.state === 'approved');
  const cannotDecide =
    awaiting && !mayDecide
      ? t('approval.cannotDecide', {
          // The sentence has its own full stop.
          reason: (
            approval.viewer?.reason ?? t('approval.viewerUnknown')
          ).replace(/\.+$/, ''),
        })
      : undefined;

  const relative = (iso: string) => {
    const r = relativeTime(iso, now);
    if (!r) {
      return formatTimestamp(iso);
    }
    const text = r.past
      ? t('approval.ago', { duration: r.age })
      : t('approval.inFuture', { duration: r.age });
    return `${formatTimestamp(iso)} (${text})`;
  };

  const buttons = (
    <Box display="flex" gridGap={8}>
      <Button
        variant="contained"
        color="primary"
        disabled={!mayDecide}
        onClick={() => setDecision('approve')}
      >
        {t('approval.approve')}
      </Button>
      <Button
        variant="outlined"
        disabled={!mayDecide}
        onClick={() => setDecision('reject')}
      >
        {t('approval.reject')}
      </Button>
    </Box>
  );

  return (
    <InfoCard title={t('approval.title')}>
      <Box data-testid="kubechart-run-approval">
        <Box display="flex" alignItems="center" flexWrap="wrap" gridGap={16}>
          <Typography variant="subtitle1" component="div">
            {`${t(`approval.states.${approval.state}`)} · ${t(
              'approval.progress',
              {
                approved: String(approvalCount(approval)),
                required: String(approval.required),
              },
            )}`}
          </Typography>
          <Box flexGrow={1} />
          {awaiting &&
            (cannotDecide ? (
              // A disabled button fires no events: the tooltip sits on a wrapper.
              <Tooltip title={cannotDecide}>
                <span>{buttons}</span>
              </Tooltip>
            ) : (
              buttons
            ))}
          {mayWithdraw && (
            <Button variant="outlined" onClick={() => setDecision('withdraw')}>
              {t('approval.withdraw')}
            </Button>
          )}
        </Box>
        {cannotDecide && (
          <Typography
            variant="body2"
            color="textSecondary"
            data-testid="kubechart-approval-cannot-decide"
          >
            {cannotDecide}
          </Typography>
        )}
        {approval.state === 'approved' && approval.resubmit && (
          <Box mt={1}>
            <Alert severity="info">{t('approval.resubmit')}</Alert>
          </Box>
        )}
        <Box display="flex" flexWrap="wrap" mt={2}>
          <Fact label={t('approval.rule')}>{approval.rule}</Fact>
          <Fact label={t('approval.requestedBy')}>
            <span title={run.actor}>{shortActor(run.actor)}</span>
          </Fact>
          <Fact label={t('approval.approvers')}>
            {approval.approvers.join(', ') || '–'}
          </Fact>
          <Fact label={t('approval.requestedAt')}>
            {relative(approval.requestedAt)}
          </Fact>
          <Fact label={t('approval.expiresAt')}>
            {/* Once decided, the expiry no longer counts down. */}
            {awaiting
              ? relative(approval.expiresAt)
              : formatTimestamp(approval.expiresAt)}
          </Fact>
          <Fact label={t('approval.plan')}>
            <span title={approval.planHash}>
              {shortHash(approval.planHash)}
            </span>
          </Fact>
        </Box>
        <Box mt={2}>
          <Typography variant="subtitle2" gutterBottom>
            {t('approval.decisions')}
          </Typography>
          <ApprovalDecisions decisions={approval.decisions} />
        </Box>
        <Box mt={3} data-testid="kubechart-approval-plan-diff">
          <Typography variant="subtitle2" gutterBottom>
            {t('approval.diffTitle')}
          </Typography>
          {approval.previousRunId ? (
            <>
              <Typography variant="body2" color="textSecondary" gutterBottom>
                {t('approval.diffPrevious', { id: approval.previousRunId })}
              </Typography>
              <Box maxHeight={480} overflow="auto">
                <PlanInputChanges
                  run={run}
                  previousRunId={approval.previousRunId}
                />
                <Box mt={2}>
                  <RunDiffResult
                    runId={run.id}
                    otherId={approval.previousRunId}
                  />
                </Box>
              </Box>
            </>
          ) : (
            <Typography variant="body2" color="textSecondary">
              {t('approval.diffNoPrevious')}
            </Typography>
          )}
        </Box>
      </Box>
      <DecideRunDialog
        run={run}
        decision={decision}
        onClose={() => setDecision(undefined)}
        onChanged={onChanged}
      />
    </InfoCard>
  );
}

/** `sha256:0123456789ab…`: enough to compare by eye; the full hash is in the title. */
function shortHash(hash: string): string {
  const [algorithm, hex] = hash.includes(':') ? hash.split(':', 2) : ['', hash];
  const short = hex.length > 12 ? `${hex.slice(0, 12)}…` : hex;
  return algorithm ? `${algorithm}:${short}` : short;
}
