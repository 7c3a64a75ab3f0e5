import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { coreExtensionData } from '@backstage/frontend-plugin-api';
import { screen } from '@testing-library/react';
import plugin, { auditLogPage } from './alpha';
import { AuditLogApi, auditLogApiRef } from './api';

describe('audit-log (new frontend system)', () => {
  it('provides the page at /audit-log with a title for the nav', () => {
    expect(plugin.pluginId).toBe('audit-log');
    const tester = createExtensionTester(auditLogPage);
    expect(tester.get(coreExtensionData.routePath)).toBe('/audit-log');
    expect(tester.get(coreExtensionData.title)).toBe('Audit log');
  });

  it('renders the page content with the API from the app', async () => {
    const api: AuditLogApi = {
      getEvents: jest.fn().mockResolvedValue({ items: [] }),
      getEvent: jest.fn(),
      verify: jest.fn(),
      exportEvents: jest.fn(),
    };
    const tester = createExtensionTester(auditLogPage, {
      apis: [[auditLogApiRef, api]],
    });
    renderInTestApp(tester.reactElement(), {
      apis: [[auditLogApiRef, api]],
    });
    expect(
      await screen.findByText('No audit events', {}, { timeout: 10000 }),
    ).toBeInTheDocument();
    expect(api.getEvents).toHaveBeenCalled();
    // one page heading: the app's standard page header, as on every page of the app
    expect(screen.getAllByRole('heading', { name: 'Audit log' })).toHaveLength(
      1,
    );
    // jest's own 5 s default would end the test before the 10 s wait above on a busy machine
  }, 30_000);
});
