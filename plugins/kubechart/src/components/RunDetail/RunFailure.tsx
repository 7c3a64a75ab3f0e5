import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import AlertTitle from '@material-ui/lab/AlertTitle';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { PolicyResult, Run } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { withoutStackTrace } from '../../lib/runSteps';

/** The rules a refused run broke: failed, not exempted, errors before warnings. */
export function brokenRules(run: Run): PolicyResult[] {
  const results = run.policyReport?.results ?? [];
  return results
    .filter(r => !r.passed && !r.exempt)
    .sort(
      (a, b) => Number(b.severity === 'error') - Number(a.severity === 'error'),
    );
}

/** True when the run failed because the policy refused what it would apply. */
export function isPolicyRefusal(run: Run): boolean {
  return run.status === 'failed' && Boolean(run.policyReport?.blocking);
}

function objectName(r: PolicyResult): string {
  const { kind, namespace, name } = r.object;
  return `${kind}/${namespace ? `${namespace}/` : ''}${name}`;
}

const MAX_RULES = 8;

/**
 * Why a failed run failed, shown first: for a policy refusal, the broken rules (rule, object,
 * message, fix) and that nothing was applied; otherwise the failure reason. Never a stack trace.
 */
export function RunFailure(props: { run: Run }) {
  const { run } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  if (run.status !== 'failed') {
    return null;
  }
  const reason = withoutStackTrace(run.failureReason ?? '');

  if (isPolicyRefusal(run)) {
    const rules = brokenRules(run);
    return (
      <Alert severity="error" data-testid="kubechart-run-failure">
        <AlertTitle>{t('run.refusedTitle')}</AlertTitle>
        <Typography variant="body2" gutterBottom>
          {t('run.refusedBody')}
        </Typography>
        <ul style={{ margin: 0, paddingLeft: 20 }}>
          {rules.slice(0, MAX_RULES).map(r => (
            <li key={`${r.ruleId}/${objectName(r)}`}>
              <Typography variant="body2">
                <strong>[{r.ruleId}]</strong> {objectName(r)}: {r.message}
                {r.fix ? ` — ${t('run.fixHint', { fix: r.fix })}` : ''}
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
          <span style={{ whiteSpace: 'pre-wrap' }}>{reason}</span>
        )}
      </Alert>
    );
  }

  return (
    <Alert severity="error" data-testid="kubechart-run-failure">
      <AlertTitle>{t('run.failureReason')}</AlertTitle>
      <span style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
        {reason || t('run.noFailureReason')}
      </span>
    </Alert>
  );
}
