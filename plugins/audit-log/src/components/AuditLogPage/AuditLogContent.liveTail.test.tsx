import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { AuditEvent, AuditEventPage } from '@kubechart/plugin-audit-log-common';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { AuditLogApi, auditLogApiRef } from '../../api';
import { AuditLogContent } from './AuditLogContent';

const event = (seq: number): AuditEvent => ({
  seq,
  occurredAt: '2026-11-21T10:00:00.000Z',
  actor: 'user:default/jane',
  plugin: 'scaffolder',
  eventId: 'task',
  severity: 'medium',
  status: 'succeeded',
  target: { entityRef: 'template:default/tenant', resource: `task:${seq}` },
  meta: { actionType: 'create', templateRef: 'template:default/tenant' },
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
});

jest.setTimeout(30_000);

/**
 * The live tail reads the newest page again after a signal that arrived while its reload was under
 * way. The publisher sends at most one signal a second, so a reload slower than that (a scoped
 * reader's page) would otherwise miss the last events of a burst until some other event came.
 */
describe('AuditLogContent live tail', () => {
  it('shows the events told by a signal that came while a reload was under way', async () => {
    let deliver: (message: any) => void = () => {};
    const signalApi = {
      subscribe: jest.fn((_channel: string, onMessage: (m: any) => void) => {
        deliver = onMessage;
        return { unsubscribe: jest.fn() };
      }),
    };
    let answerReload: (p: AuditEventPage) => void = () => {};
    const getEvents = jest
      .fn()
      .mockResolvedValueOnce({ items: [event(1)] })
      .mockImplementationOnce(
        () => new Promise<AuditEventPage>(r => (answerReload = r)),
      )
      .mockResolvedValue({ items: [event(3), event(2), event(1)] });
    const api = {
      getEvents,
      getEvent: jest.fn(),
      verify: jest.fn(),
      exportEvents: jest.fn(),
    } as unknown as jest.Mocked<AuditLogApi>;
    await renderInTestApp(
      <TestApiProvider
        apis={
          [
            [auditLogApiRef, api],
            [signalApiRef, signalApi],
          ] as any
        }
      >
        <AuditLogContent />
      </TestApiProvider>,
    );
    await screen.findByText(/task:1/);
    fireEvent.click(screen.getByLabelText('Live tail'));
    // event 2 stored: a signal, a reload starts
    act(() => deliver({ type: 'refetch' }));
    await waitFor(() => expect(getEvents).toHaveBeenCalledTimes(2));
    // event 3 stored a second later, while the reload is still reading: its signal
    act(() => deliver({ type: 'refetch' }));
    // the reload answers with what it read before event 3
    await act(async () => answerReload({ items: [event(2), event(1)] }));
    await screen.findByText(/task:2/);
    // the live tail must show event 3
    expect(
      await screen.findByText(/task:3/, {}, { timeout: 3000 }),
    ).toBeDefined();
  });
});
