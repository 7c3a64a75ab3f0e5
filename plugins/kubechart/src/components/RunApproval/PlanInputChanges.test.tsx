import { screen, within } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { kubechartApiRef } from '../../api';
import { makeRun, mockKubechartApi } from '../../testUtils/fixtures';
import { PlanInputChanges } from './PlanInputChanges';

describe('PlanInputChanges', () => {
  it('shows a change of a nested field and of a dotted key of the same name as two rows', async () => {
    const api = mockKubechartApi();
    const values = (nested: string, dotted: string) => ({
      kind: 'chart',
      release: {
        name: 'web',
        values: { ingress: { host: nested }, 'ingress.host': dotted },
      },
    });
    api.getRun.mockResolvedValue(
      makeRun({ id: 'run-1', input: values('a.example', 'b.example') }),
    );
    const run = makeRun({
      id: 'run-2',
      input: values('c.example', 'd.example'),
    });
    await renderInTestApp(
      <TestApiProvider apis={[[kubechartApiRef, api]]}>
        <PlanInputChanges run={run} previousRunId="run-1" />
      </TestApiProvider>,
      { apis: [mockApis.permission()] },
    );
    const table = await screen.findByTestId('kubechart-approval-input-changes');
    const rows = within(table)
      .getAllByRole('row')
      .slice(1)
      .map(r =>
        within(r)
          .getAllByRole('cell')
          .map(c => c.textContent),
      );
    expect(rows).toEqual([
      ['release.values.ingress.host', '"a.example"', '"c.example"'],
      ['release.values["ingress.host"]', '"b.example"', '"d.example"'],
    ]);
  });
});
