import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { AuditEvent, AuditEventPage } from '@kubechart/plugin-audit-log-common';
import { fireEvent, screen, within } from '@testing-library/react';
import { AuditLogApi, auditLogApiRef } from '../../api';
import { AuditLogContent } from './AuditLogContent';

const event: AuditEvent = {
  seq: 7,
  occurredAt: '2026-11-21T22:45:09.123Z',
  actor: 'user:default/jane',
  plugin: 'kubechart',
  eventId: 'run-finished',
  severity: 'high',
  status: 'succeeded',
  target: { cluster: 'prod', namespace: 'shop' },
  meta: {},
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
};

/**
 * The browser's time zone, fixed for the test: its offset in minutes as `getTimezoneOffset` gives
 * it (positive west of UTC), the same for every date.
 */
function inTimeZone(offsetMinutes: number) {
  jest
    .spyOn(Date.prototype, 'getTimezoneOffset')
    .mockReturnValue(offsetMinutes);
}

/** What the table's row and then the event's drawer show as its time. */
async function shownTimes(shown: string) {
  const page: AuditEventPage = { items: [event] };
  const api: Partial<AuditLogApi> = {
    getEvents: jest.fn().mockResolvedValue(page),
  };
  await renderInTestApp(
    <TestApiProvider apis={[[auditLogApiRef, api]]}>
      <AuditLogContent />
    </TestApiProvider>,
  );
  const row = (await screen.findByText('run-finished')).closest('tr')!;
  const inTable = within(row).getByText(shown);
  fireEvent.click(row);
  const drawer = await screen.findByRole('dialog', { name: 'Event 7' });
  return [inTable, within(drawer).getByText(shown)];
}

afterEach(() => jest.restoreAllMocks());

describe('audit event times', () => {
  it.each([
    [
      'east of UTC, by a part hour (India)',
      -330,
      '2026-11-22 04:15:09 UTC+05:30',
    ],
    ['west of UTC (New York in winter)', 300, '2026-11-21 17:45:09 UTC-05:00'],
    ['at UTC', 0, '2026-11-21 22:45:09 UTC'],
  ])(
    'shows the time %s with its offset from UTC, the same in the table and the drawer, and the exact UTC time on hover',
    async (_where, offset, shown) => {
      inTimeZone(offset);
      for (const time of await shownTimes(shown)) {
        expect(time).toHaveAttribute('title', '2026-11-21T22:45:09.123Z');
        expect(time).toHaveAttribute('datetime', '2026-11-21T22:45:09.123Z');
      }
    },
  );
});
