import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import type {
  PolicyReport,
  PolicyResult,
} from '@kubechart/plugin-kubechart-common';
import { PolicyReportSummary } from './PolicyReportSummary';

const result = (severity: 'error' | 'warning'): PolicyResult => ({
  ruleId: severity === 'error' ? 'image-tag' : 'resources-limits',
  severity,
  passed: false,
  object: { kind: 'Deployment', name: 'web', namespace: 'shop' },
  message: `${severity} found`,
  fix: 'set it',
});

describe('PolicyReportSummary', () => {
  it('says a report that failed in warn mode failed, and that it does not block', async () => {
    const report: PolicyReport = {
      mode: 'warn',
      passed: false,
      blocking: false,
      summary: { objects: 1, errors: 1, warnings: 0, infos: 0 },
      results: [result('error')],
    };
    await renderInTestApp(<PolicyReportSummary report={report} />);
    expect(
      screen.getByText(
        'Policy check failed (warn mode: not blocking): 1 object, 1 error, 0 warnings.',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText(/passed/)).toBeNull();
  });

  it('says a report with warnings only passed, with findings', async () => {
    const report: PolicyReport = {
      mode: 'enforce',
      passed: true,
      blocking: false,
      summary: { objects: 1, errors: 0, warnings: 1, infos: 0 },
      results: [result('warning')],
    };
    await renderInTestApp(<PolicyReportSummary report={report} />);
    expect(
      screen.getByText(
        'Policy check passed with findings (enforce): 1 object, 0 errors, 1 warning.',
      ),
    ).toBeInTheDocument();
  });
});
