import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import type { ApprovalDecision } from '@kubechart/plugin-kubechart-common';
import { ApprovalDecisions } from './ApprovalDecisions';

/** An approver's comment is another user's text on the approval record: hidden characters are marked. */
describe('ApprovalDecisions', () => {
  it('marks a hidden character in an approver comment', async () => {
    const decisions = [
      {
        by: 'user:default/carol',
        decision: 'reject',
        // Reads "approved: looks good" on screen.
        comment: 'approved: \u202Edoog skool',
        at: '2026-12-07T10:00:00Z',
      },
    ] as ApprovalDecision[];
    await renderInTestApp(<ApprovalDecisions decisions={decisions} />);
    expect(screen.getByText(/approved:/).textContent).toContain('⟨U+202E⟩');
  });
});
