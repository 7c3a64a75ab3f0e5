import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import AlertTitle from '@material-ui/lab/AlertTitle';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { runApplied, splitChanges } from '@kubechart/plugin-kubechart-common';
import type { PolicyResult, Run } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { withoutStackTrace } from '../../lib/runSteps';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
} from '../shared/visibleText';

/** The rules a refused run broke: failed, not exempted, errors before warnings. */
export function brokenRules(run: Run): PolicyResult[] {
  const results = run.policyReport?.results ?? [];
  return results
    .filter(r => !r.passed && !r.exempt)
    .sort(
      (a, b) => Number(b.severity === 'error') - Number(a.severity === 'error'),
    );
}

/** True when the chart policy stopped the run (blocking report): nothing more was applied after it. */
export function isPolicyStop(run: Run): boolean {
  return run.status === 'failed' && Boolean(run.policyReport?.blocking);
}

/**
 * True when the policy refused the run and the run recorded that it changed nothing: "refused"
 * means nothing was applied. A run stopped after it changed the cluster (an earlier release of a
 * tenant, helm 3 hooks), or one whose changes were not recorded, is not a refusal.
 */
export function isPolicyRefusal(run: Run): boolean {
  return isPolicyStop(run) && runApplied(run)?.length === 0;
}

function objectName(r: PolicyResult): string {
  const { kind, namespace, name } = r.object;
  return `${kind}/${namespace ? `${namespace}/` : ''}${name}`;
}

const MAX_RULES = 8;
const MAX_CHANGES = 8;

/** What a failed run changed in the cluster, as it recorded it: a short list. */
function Changes(props: { applied: readonly string[] }) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  // A long record ends with "and N more" (the changes it did not name).
  const { named, unnamed } = splitChanges(props.applied);
  const shown = named.slice(0, MAX_CHANGES);
  const rest = named.length - shown.length + unnamed;
  return (
    <>
      <ul style={{ margin: 0, paddingLeft: 20 }}>
        {shown.map((c, i) => (
          <li key={i}>
            <Typography variant="body2">
              <VisibleText text={c} />
            </Typography>
          </li>
        ))}
      </ul>
      {rest > 0 && (
        <Typography variant="body2">
          {t('run.moreChanges', { rest: String(rest) })}
        </Typography>
      )}
    </>
  );
}

/**
 * Why a failed run failed, shown first: for a policy stop, the broken rules (rule, object, message,
 * fix), and either that nothing was applied (a refusal) or what the run changed before it was
 * stopped, or that this is not known; otherwise the failure reason and what the run changed before
 * it failed. Never a stack trace.
 */
export function RunFailure(props: { run: Run }) {
  const { run } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  if (run.status !== 'failed') {
    return null;
  }
  const reason = withoutStackTrace(run.failureReason ?? '');
  const applied = runApplied(run);

  if (isPolicyStop(run)) {
    const rules = brokenRules(run);
    const refused = isPolicyRefusal(run);
    return (
      <Alert severity="error" data-testid="kubechart-run-failure">
        <AlertTitle>
          {refused ? t('run.refusedTitle') : t('run.stoppedTitle')}
        </AlertTitle>
        {refused ? (
          <Typography variant="body2" gutterBottom>
            {t('run.refusedBody')}
          </Typography>
        ) : (
          <>
            <Typography variant="body2" gutterBottom>
              {applied ? t('run.stoppedAfterChanges') : t('run.stoppedUnknown')}
            </Typography>
            {applied && <Changes applied={applied} />}
            <Typography variant="body2" gutterBottom style={{ marginTop: 8 }}>
              {t('run.rulesFailed')}
            </Typography>
          </>
        )}
        <ul style={{ margin: 0, paddingLeft: 20 }}>
          {rules.slice(0, MAX_RULES).map(r => (
            <li key={`${r.ruleId}/${objectName(r)}`}>
              <Typography variant="body2">
                <strong>[{r.ruleId}]</strong>{' '}
                <VisibleText text={objectName(r)} />
                : <VisibleText text={r.message} />
                {r.fix && (
                  <VisibleText
                    text={` — ${t('run.fixHint', { fix: r.fix })}`}
                  />
                )}
              </Typography>
            </li>
          ))}
        </ul>
        {rules.length > MAX_RULES && (
          <Typography variant="body2">
            {t('run.moreRules', { rest: String(rules.length - MAX_RULES) })}
          </Typography>
        )}
        {!rules.length && reason && (
          <span style={{ whiteSpace: 'pre-wrap' }}>
            <VisibleText text={reason} />
          </span>
        )}
        <HiddenCharactersWarning
          count={countHidden(
            ...rules
              .slice(0, MAX_RULES)
              .flatMap(r => [objectName(r), r.message, r.fix]),
            ...(applied ?? []),
            rules.length ? '' : reason,
          )}
        />
      </Alert>
    );
  }

  return (
    <Alert severity="error" data-testid="kubechart-run-failure">
      <AlertTitle>{t('run.failureReason')}</AlertTitle>
      <span style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
        {reason ? <VisibleText text={reason} /> : t('run.noFailureReason')}
      </span>
      <HiddenCharactersWarning
        count={countHidden(reason, ...(applied ?? []))}
      />
      {applied && applied.length > 0 && (
        <>
          <Typography variant="body2" style={{ marginTop: 8 }} gutterBottom>
            {t('run.changedBeforeFailing')}
          </Typography>
          <Changes applied={applied} />
        </>
      )}
    </Alert>
  );
}
