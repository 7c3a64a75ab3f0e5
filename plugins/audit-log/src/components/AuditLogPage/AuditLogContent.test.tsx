import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  AuditEvent,
  AuditEventPage,
  AuditEventQuery,
  AuditVerifyResult,
} from '@kubechart/plugin-audit-log-common';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { AuditLogApi, auditLogApiRef } from '../../api';
import { AuditLogContent } from './AuditLogContent';

const event = (
  seq: number,
  overrides: Partial<AuditEvent> = {},
): AuditEvent => ({
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
  ...overrides,
});

function mockApi(overrides: Partial<jest.Mocked<AuditLogApi>> = {}) {
  return {
    getEvents: jest.fn(async (): Promise<AuditEventPage> => ({ items: [] })),
    getEvent: jest.fn(),
    verify: jest.fn(),
    exportEvents: jest.fn(),
    ...overrides,
  } as jest.Mocked<AuditLogApi>;
}

async function render(api: AuditLogApi, extraApis: any[] = []) {
  return renderInTestApp(
    <TestApiProvider apis={[[auditLogApiRef, api], ...extraApis] as any}>
      <AuditLogContent />
    </TestApiProvider>,
  );
}

// the machine running CI may be slow; these tests render the whole table
jest.setTimeout(30_000);

describe('AuditLogContent', () => {
  it('shows progress while loading', async () => {
    const api = mockApi({
      getEvents: jest
        .fn<Promise<AuditEventPage>, [AuditEventQuery]>()
        .mockReturnValue(new Promise(() => {})),
    });
    await render(api);
    expect(screen.getByTestId('progress')).toBeInTheDocument();
  });

  it('shows the error of a failed load', async () => {
    const api = mockApi({
      getEvents: jest.fn().mockRejectedValue(new Error('backend exploded')),
    });
    await render(api);
    expect(
      (await screen.findAllByText(/backend exploded/)).length,
    ).toBeGreaterThan(0);
  });

  it('shows an empty state when nothing matches', async () => {
    await render(mockApi());
    expect(await screen.findByText('No audit events')).toBeInTheDocument();
  });

  it('lists events and opens one in the details drawer with its meta', async () => {
    const api = mockApi({
      getEvents: jest.fn().mockResolvedValue({
        items: [event(2), event(1, { status: 'failed', error: 'boom' })],
      }),
    });
    await render(api);
    expect(await screen.findByText(/task:2/)).toBeDefined();
    expect(screen.getAllByText('scaffolder')).toHaveLength(2);

    fireEvent.click(screen.getByText(/task:1/));
    const drawer = await screen.findByRole('dialog', { name: 'Event 1' });
    // the JSON is syntax-highlighted asynchronously
    await waitFor(() =>
      expect(drawer).toHaveTextContent('"actionType": "create"'),
    );
    expect(drawer).toHaveTextContent('boom');
    fireEvent.click(screen.getByLabelText('Close'));
    await waitFor(() =>
      expect(screen.queryByRole('dialog', { name: 'Event 1' })).toBeNull(),
    );
  });

  it('runs Verify integrity and shows a good result', async () => {
    const result: AuditVerifyResult = {
      ok: true,
      checked: 42,
      firstSeq: 11,
      lastSeq: 52,
      headSeq: 52,
      pruned: {
        throughSeq: 10,
        hash: 'c'.repeat(64),
        prunedAt: '2026-11-20T00:00:00.000Z',
      },
      verifiedAt: '2026-11-21T10:00:00.000Z',
    };
    const api = mockApi({ verify: jest.fn().mockResolvedValue(result) });
    await render(api);
    fireEvent.click(screen.getByRole('button', { name: 'Verify integrity' }));
    const status = await screen.findByRole('status');
    expect(status).toHaveTextContent(
      'Chain intact: 42 events checked (up to #52).',
    );
    expect(status).toHaveTextContent('Events up to #10 were pruned');
  });

  it('shows where the chain is broken', async () => {
    const api = mockApi({
      verify: jest.fn().mockResolvedValue({
        ok: false,
        checked: 16,
        headSeq: 25,
        failedSeq: 17,
        reason:
          'Event 17 was altered: its content does not match its stored hash',
        verifiedAt: '2026-11-21T10:00:00.000Z',
      }),
    });
    await render(api);
    fireEvent.click(screen.getByRole('button', { name: 'Verify integrity' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Chain broken at event #17: Event 17 was altered',
    );
  });

  it('applies filters and pages with the cursor', async () => {
    const api = mockApi({
      getEvents: jest
        .fn()
        .mockImplementation(async query =>
          query.cursor
            ? { items: [event(1)] }
            : { items: [event(3), event(2)], nextCursor: 'c-2' },
        ),
    });
    await render(api);
    await screen.findByText(/task:3/);
    fireEvent.change(screen.getByLabelText('Plugin'), {
      target: { value: 'scaffolder' },
    });
    await waitFor(
      () =>
        expect(api.getEvents).toHaveBeenLastCalledWith(
          expect.objectContaining({ plugin: 'scaffolder', cursor: undefined }),
        ),
      { timeout: 2000 },
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Older' }));
    expect(await screen.findByText(/task:1/)).toBeDefined();
    expect(api.getEvents).toHaveBeenLastCalledWith(
      expect.objectContaining({ plugin: 'scaffolder', cursor: 'c-2' }),
    );
    fireEvent.click(screen.getByRole('button', { name: 'Newer' }));
    expect(await screen.findByText(/task:3/)).toBeDefined();
  });

  it('exports the filtered events', async () => {
    const api = mockApi({
      getEvents: jest.fn().mockResolvedValue({ items: [event(1)] }),
      exportEvents: jest.fn().mockResolvedValue({
        blob: new Blob(['seq\n1\n']),
        filename: 'audit-log.csv',
      }),
    });
    const createObjectURL = jest.fn(() => 'blob:x');
    Object.assign(URL, { createObjectURL, revokeObjectURL: jest.fn() });
    const click = jest
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(() => {});
    await render(api);
    await screen.findByText(/task:1/);
    fireEvent.click(screen.getByRole('button', { name: 'Export CSV' }));
    await waitFor(() => expect(createObjectURL).toHaveBeenCalled());
    expect(api.exportEvents).toHaveBeenCalledWith(expect.any(Object), 'csv');
    expect(click).toHaveBeenCalledTimes(1);
    click.mockRestore();
  });

  it('reloads the newest page on signals while live tail is on', async () => {
    let deliver: (message: any) => void = () => {};
    const signalApi = {
      subscribe: jest.fn((_channel: string, onMessage: (m: any) => void) => {
        deliver = onMessage;
        return { unsubscribe: jest.fn() };
      }),
    };
    const api = mockApi({
      getEvents: jest
        .fn()
        .mockResolvedValueOnce({ items: [event(1)] })
        .mockResolvedValue({ items: [event(2), event(1)] }),
    });
    await render(api, [[signalApiRef, signalApi]]);
    await screen.findByText(/task:1/);
    // off: a signal changes nothing
    act(() => deliver({ latestSeq: 2, count: 1 }));
    expect(api.getEvents).toHaveBeenCalledTimes(1);

    fireEvent.click(screen.getByLabelText('Live tail'));
    act(() => deliver({ latestSeq: 2, count: 1 }));
    expect(await screen.findByText(/task:2/)).toBeDefined();
    expect(signalApi.subscribe).toHaveBeenCalledWith(
      'audit-log:events',
      expect.any(Function),
    );
  });
});
