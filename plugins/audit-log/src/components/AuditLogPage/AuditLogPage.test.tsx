import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { screen } from '@testing-library/react';
import { AuditLogApi, auditLogApiRef } from '../../api';
import { AuditLogPage } from './AuditLogPage';

jest.setTimeout(30_000);

describe('AuditLogPage', () => {
  it('has the standard Backstage header with the page title', async () => {
    const api: AuditLogApi = {
      getEvents: jest.fn().mockResolvedValue({ items: [] }),
      getEvent: jest.fn(),
      verify: jest.fn(),
      exportEvents: jest.fn(),
    };
    await renderInTestApp(
      <TestApiProvider apis={[[auditLogApiRef, api]]}>
        <AuditLogPage />
      </TestApiProvider>,
    );
    expect(
      screen.getByRole('heading', { level: 1, name: 'Audit log' }),
    ).toBeInTheDocument();
    expect(await screen.findByText('No audit events')).toBeInTheDocument();
  });
});
