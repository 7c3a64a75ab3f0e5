import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import type { PolicyReport } from '@kubechart/plugin-kubechart-common';
import { PolicyReportTable } from './PolicyReportTable';

/**
 * the policy report tab (what an approver reads) shows rule messages, which quote chart
 * values (an image string), with their hidden characters as markers, as RunFailure does for the
 * same results.
 */
describe('PolicyReportTable', () => {
  it('marks a hidden character of a rule message that quotes an image from the values', async () => {
    const report: PolicyReport = {
      mode: 'warn',
      passed: true,
      blocking: false,
      summary: { objects: 1, errors: 0, warnings: 1, infos: 0 },
      results: [
        {
          ruleId: 'trusted-registry',
          severity: 'warning',
          passed: false,
          object: { kind: 'Deployment', name: 'web', namespace: 'tenant-shop' },
          // Reads "... registry "registry.corp"" on screen; the registry is moc.live.
          message:
            'image "registry.corp/web:1.0" is from untrusted registry "\u202Eproc.yrtsiger"',
          fix: 'mirror it',
        },
      ],
    };
    await renderInTestApp(<PolicyReportTable report={report} />);
    expect(screen.getByText(/untrusted registry/).textContent).toContain(
      '⟨U+202E⟩',
    );
  });
});

describe('PolicyReportTable hidden-character note', () => {
  it('marks the object and the exemption reason, and says how many hidden characters there are', async () => {
    const report: PolicyReport = {
      mode: 'enforce',
      passed: true,
      blocking: false,
      summary: { objects: 1, errors: 0, warnings: 0, infos: 0, exempted: 1 },
      results: [
        {
          ruleId: 'no-privileged',
          severity: 'error',
          passed: false,
          object: { kind: 'Pod', name: 'web\u200B', namespace: 'tenant-shop' },
          message: 'container runs privileged',
          fix: 'drop privileged',
          exempt: { reason: 'approved \u202Eton' },
        },
      ],
    };
    await renderInTestApp(<PolicyReportTable report={report} />);
    expect(screen.getByText(/tenant-shop\/web/).textContent).toBe(
      'Pod/tenant-shop/web⟨U+200B⟩',
    );
    expect(screen.getByText(/Exempted: approved/).textContent).toBe(
      'Exempted: approved ⟨U+202E⟩ton',
    );
    expect(screen.getByRole('note').textContent).toContain(
      '2 invisible or direction-changing characters',
    );
  });
});
