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

  it('says an empty page is not the end of the trail when older events remain, and searches on', async () => {
    const getEvents = jest
      .fn<Promise<AuditEventPage>, [AuditEventQuery]>()
      .mockResolvedValueOnce({ items: [], nextCursor: 'c-1' })
      .mockResolvedValue({ items: [event(4)] });
    await render(mockApi({ getEvents }));
    expect(
      await screen.findByText('No match among the events searched so far'),
    ).toBeInTheDocument();
    expect(screen.queryByText('No audit events')).not.toBeInTheDocument();
    fireEvent.click(
      screen.getByRole('button', { name: 'Search older events' }),
    );
    expect((await screen.findAllByText(/task:4/)).length).toBeGreaterThan(0);
    expect(getEvents).toHaveBeenLastCalledWith(
      expect.objectContaining({ cursor: 'c-1' }),
    );
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

  it('says whether the verified chain is signed with a chain key and which head anchor it was checked against', async () => {
    const base: AuditVerifyResult = {
      ok: true,
      checked: 3,
      firstSeq: 1,
      lastSeq: 3,
      headSeq: 3,
      verifiedAt: '2026-11-21T10:00:00.000Z',
    };
    const verify = jest
      .fn()
      .mockResolvedValueOnce({
        ...base,
        keyed: true,
        anchor: { seq: 2, at: '2026-11-21T09:55:00.000Z' },
      })
      .mockResolvedValueOnce({ ...base, keyed: false });
    await render(mockApi({ verify }));
    const button = screen.getByRole('button', { name: 'Verify integrity' });

    fireEvent.click(button);
    const status = await screen.findByRole('status');
    expect(status).toHaveTextContent("Signed with the backend's chain key");
    expect(status).toHaveTextContent(
      'It still holds event #2 as the head anchor published outside the database on',
    );
    expect(screen.queryByLabelText('unkeyed')).not.toBeInTheDocument();

    fireEvent.click(button);
    expect(await screen.findByLabelText('unkeyed')).toHaveTextContent(
      'Not signed with a chain key: anyone who can write the database could rewrite these events',
    );
    expect(screen.getByRole('status')).not.toHaveTextContent('Signed with');
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
    act(() => deliver({ type: 'refetch' }));
    expect(api.getEvents).toHaveBeenCalledTimes(1);

    fireEvent.click(screen.getByLabelText('Live tail'));
    act(() => deliver({ type: 'refetch' }));
    expect(await screen.findByText(/task:2/)).toBeDefined();
    expect(signalApi.subscribe).toHaveBeenCalledWith(
      'audit-log:events',
      expect.any(Function),
    );
  });

  it('opens on changes (medium and up) and shows reads on request', async () => {
    const api = mockApi({
      getEvents: jest.fn().mockResolvedValue({ items: [event(1)] }),
    });
    await render(api);
    await screen.findByText(/task:1/);
    expect(api.getEvents).toHaveBeenLastCalledWith(
      expect.objectContaining({ severity: ['medium', 'high', 'critical'] }),
    );
    fireEvent.click(screen.getByLabelText('Show reads'));
    await waitFor(() =>
      expect(api.getEvents).toHaveBeenLastCalledWith(
        expect.not.objectContaining({ severity: expect.anything() }),
      ),
    );
  });

  it('marks gap records in the table and in the integrity report', async () => {
    const message =
      '12 events dropped between 2026-11-21T09:00:00.000Z and 2026-11-21T09:05:00.000Z because queue full (12)';
    const api = mockApi({
      getEvents: jest.fn().mockResolvedValue({
        items: [
          event(5, {
            plugin: 'audit-log',
            eventId: 'events-dropped',
            severity: 'high',
            status: 'failed',
            target: {},
            error: message,
          }),
        ],
      }),
      verify: jest.fn().mockResolvedValue({
        ok: true,
        checked: 5,
        firstSeq: 1,
        lastSeq: 5,
        headSeq: 5,
        gapCount: 1,
        droppedEvents: 12,
        gaps: [
          {
            seq: 5,
            dropped: 12,
            firstOccurredAt: '2026-11-21T09:00:00.000Z',
            lastOccurredAt: '2026-11-21T09:05:00.000Z',
            reasons: { 'queue full': 12 },
            message,
          },
        ],
        verifiedAt: '2026-11-21T10:00:00.000Z',
      }),
    });
    await render(api);
    expect(await screen.findByRole('note')).toHaveTextContent(
      `Gap in the trail: ${message}`,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Verify integrity' }));
    const gaps = await screen.findByRole('alert', { name: 'gaps' });
    expect(gaps).toHaveTextContent(
      '1 gap record(s): 12 event(s) were dropped before they could be stored.',
    );
    expect(gaps).toHaveTextContent(`#5: ${message}`);
  });

  it('gives targets room, wraps long lines in the drawer and widens the plugin filter', async () => {
    const longRef = `component:default/${'very-long-service-name-'.repeat(8)}`;
    const api = mockApi({
      getEvents: jest.fn().mockResolvedValue({
        items: [
          event(1, {
            target: { entityRef: longRef, cluster: 'dev', namespace: 'team' },
            meta: { path: '/'.repeat(500) },
          }),
        ],
      }),
    });
    await render(api);
    const cell = (await screen.findByText(new RegExp(longRef))).closest('td')!;
    expect(cell.style.minWidth).toBe('280px');
    expect(cell).toHaveTextContent(`${longRef} · dev/team`);

    fireEvent.click(cell);
    const meta = await screen.findByLabelText('Meta');
    expect(getComputedStyle(meta).whiteSpace).toBe('pre-wrap');
    expect(getComputedStyle(meta).overflowWrap).toBe('anywhere');

    const pluginFilter = screen
      .getByLabelText('Plugin')
      .closest('.MuiGrid-item')!;
    expect(pluginFilter.className).toMatch(/MuiGrid-grid-md-2/);
  });
});
