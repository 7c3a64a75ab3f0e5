import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  KUBECHART_RUNS_CHANNEL,
  type RunListItem,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import {
  makeApproval,
  makeRun,
  mockKubechartApi,
} from '../../testUtils/fixtures';
import { FakeSignalApi } from '../../testUtils/fakeSignalApi';
import { ApprovalsCard } from './ApprovalsCard';
import { APPROVALS_ANSWER_WITHIN_MS } from '../../hooks/useApprovals';

const awaiting = makeRun({
  id: 'run-7',
  status: 'awaiting-approval',
  actor: 'user:default/alice',
  target: { cluster: 'prod', namespace: 'shop-production', release: 'web' },
  approval: makeApproval({ requestedAt: '2026-01-02T11:00:00Z' }),
});

/**
 * `GET /approvals` over the open requests `open()` (newest first), one a page: the cursor reads on
 * after the last request's time, as the backend's keyset cursor does.
 */
function approvalsOf(open: () => RunListItem[]) {
  return async (options?: { cursor?: string }) => {
    const after = options?.cursor?.replace(/^after-/, '');
    const rest = open().filter(r => !after || r.approval!.requestedAt < after);
    const items = rest.slice(0, 1);
    return rest.length > items.length
      ? {
          items,
          truncated: true,
          nextCursor: `after-${items[0].approval!.requestedAt}`,
        }
      : { items, truncated: false };
  };
}

type Answer = Awaited<ReturnType<ReturnType<typeof approvalsOf>>>;

/** A backend answering through `read`, or, while `holding`, only when the test answers. */
function heldApprovals(
  api: ReturnType<typeof mockKubechartApi>,
  open: () => RunListItem[],
) {
  const backend = {
    read: approvalsOf(open),
    holding: false,
    held: [] as Array<{
      options?: { cursor?: string };
      answer: (page: Answer) => void;
    }>,
  };
  api.listApprovals.mockImplementation(options =>
    backend.holding
      ? new Promise<Answer>(answer => {
          backend.held.push({ options, answer });
        })
      : backend.read(options),
  );
  return backend;
}

function render(
  api: ReturnType<typeof mockKubechartApi>,
  signals = new FakeSignalApi(),
) {
  return renderInTestApp(
    <TestApiProvider
      apis={[
        [kubechartApiRef, api],
        [signalApiRef, signals],
      ]}
    >
      <ApprovalsCard />
    </TestApiProvider>,
    {
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      apis: [mockApis.permission()],
    },
  );
}

describe('ApprovalsCard', () => {
  it('lists the requests oldest first, each linking to its run page', async () => {
    const api = mockKubechartApi();
    const older = makeRun({
      id: 'run-3',
      status: 'awaiting-approval',
      entityRef: 'system:team-a/payments',
      approval: makeApproval({
        requestedAt: '2026-01-02T09:00:00Z',
        decisions: [],
        required: 1,
      }),
    });
    api.listApprovals.mockResolvedValue({
      items: [awaiting, older],
      truncated: false,
    });
    render(api);

    const link = await screen.findByRole('link', { name: 'run-7' });
    expect(link).toHaveAttribute('href', '/kubechart/runs?run=run-7');
    const row = link.closest('tr')!;
    expect(row).toHaveTextContent('prod / shop-production / web');
    expect(row).toHaveTextContent('alice');
    expect(row).toHaveTextContent('1 of 2 approvals');
    expect(row).toHaveTextContent(/in \d+d/);

    const rows = screen
      .getAllByRole('row')
      .filter(r => within(r).queryByRole('link'));
    expect(rows.map(r => within(r).getByRole('link').textContent)).toEqual([
      'run-3',
      'run-7',
    ]);
    expect(screen.getByRole('link', { name: 'run-3' })).toHaveAttribute(
      'href',
      '/kubechart/runs?run=run-3',
    );
    expect(rows[0]).toHaveTextContent('0 of 1 approvals');
  });

  it("lists what the user may decide on before the user's own requests, saying which is which", async () => {
    const api = mockKubechartApi();
    const own = makeRun({
      id: 'run-1',
      status: 'awaiting-approval',
      approval: makeApproval({
        requestedAt: '2026-01-02T08:00:00Z',
        viewer: { mayDecide: false, reason: 'you requested this run' },
      }),
    });
    api.listApprovals.mockResolvedValue({
      items: [own, awaiting],
      truncated: false,
    });
    render(api);
    await screen.findByRole('link', { name: 'run-7' });
    const rows = screen
      .getAllByRole('row')
      .filter(r => within(r).queryByRole('link'));
    expect(rows.map(r => within(r).getByRole('link').textContent)).toEqual([
      'run-7',
      'run-1',
    ]);
    expect(rows[0]).toHaveTextContent('awaits your decision');
    expect(rows[1]).toHaveTextContent('you requested this run');
    expect(rows[1]).not.toHaveTextContent('awaits your decision');
  });

  it('links a run of no catalog entity (a new tenant) to its run page too', async () => {
    const api = mockKubechartApi();
    api.listApprovals.mockResolvedValue({
      items: [{ ...awaiting, entityRef: undefined }],
      truncated: false,
    });
    render(api);
    expect(await screen.findByRole('link', { name: 'run-7' })).toHaveAttribute(
      'href',
      '/kubechart/runs?run=run-7',
    );
  });

  it('says when nothing awaits approval, and reloads when told that runs changed', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    api.listApprovals
      .mockResolvedValueOnce({ items: [], truncated: false })
      .mockResolvedValue({ items: [awaiting], truncated: false });
    render(api, signals);
    expect(
      await screen.findByText(
        'No open approval requests for you to decide on or of your own.',
      ),
    ).toBeInTheDocument();

    await waitFor(() =>
      expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(1),
    );
    // The channel says only that some run changed: the list is read again, through the API.
    act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
    expect(
      await screen.findByRole('link', { name: 'run-7' }),
    ).toBeInTheDocument();
    expect(api.listApprovals).toHaveBeenCalledTimes(2);
  });

  it('loads the older requests past the first page when asked, and keeps them when told that runs changed', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const older = makeRun({
      id: 'run-2',
      status: 'awaiting-approval',
      approval: makeApproval({
        requestedAt: '2026-01-01T09:00:00Z',
        decisions: [],
      }),
    });
    let open = [awaiting, older];
    api.listApprovals.mockImplementation(approvalsOf(() => open));
    render(api, signals);
    await screen.findByRole('link', { name: 'run-7' });
    expect(screen.queryByRole('link', { name: 'run-2' })).toBeNull();

    await userEvent.click(
      screen.getByRole('button', { name: 'Load older requests' }),
    );
    expect(
      await screen.findByRole('link', { name: 'run-2' }),
    ).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'run-7' })).toBeInTheDocument();
    expect(api.listApprovals).toHaveBeenLastCalledWith({
      cursor: 'after-2026-01-02T11:00:00Z',
    });
    // The whole list is shown: nothing more to load, and nothing said to be missing.
    expect(
      screen.queryByRole('button', { name: 'Load older requests' }),
    ).toBeNull();
    expect(screen.queryByText(/Not every open request/)).toBeNull();

    // Meanwhile run-7 was decided, run-2 got an approval, and run-9 was requested.
    open = [
      makeRun({
        id: 'run-9',
        status: 'awaiting-approval',
        approval: makeApproval({ requestedAt: '2026-01-03T09:00:00Z' }),
      }),
      {
        ...older,
        approval: makeApproval({ requestedAt: '2026-01-01T09:00:00Z' }),
      },
    ];
    await waitFor(() =>
      expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(1),
    );
    act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
    await waitFor(() =>
      expect(screen.queryByRole('link', { name: 'run-7' })).toBeNull(),
    );
    // The pages the user loaded are read again: the older request stays, as it is now.
    expect(screen.getByRole('link', { name: 'run-9' })).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'run-2' }).closest('tr'),
    ).toHaveTextContent('1 of 2 approvals');
    expect(api.listApprovals).toHaveBeenLastCalledWith({
      cursor: 'after-2026-01-03T09:00:00Z',
    });
    expect(
      screen.queryByRole('button', { name: 'Load older requests' }),
    ).toBeNull();
  });

  it('reloads one at a time: runs that change during a reload are read once after it', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const older = makeRun({
      id: 'run-2',
      status: 'awaiting-approval',
      approval: makeApproval({ requestedAt: '2026-01-01T09:00:00Z' }),
    });
    const before = [awaiting, older];
    const after = [
      makeRun({
        id: 'run-9',
        status: 'awaiting-approval',
        approval: makeApproval({ requestedAt: '2026-01-03T09:00:00Z' }),
      }),
      older,
    ];
    const backend = heldApprovals(api, () => before);
    render(api, signals);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Load older requests' }),
    );
    await screen.findByRole('link', { name: 'run-2' });
    await waitFor(() =>
      expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(1),
    );

    backend.holding = true;
    act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
    act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
    const answer = async (open: RunListItem[]) => {
      await waitFor(() => expect(backend.held).toHaveLength(1));
      const next = backend.held.shift()!;
      await act(async () =>
        next.answer(await approvalsOf(() => open)(next.options)),
      );
    };
    // One reload reads, not two at once; it read what was open before the second change.
    await answer(before);
    await answer(before);
    expect(screen.getByRole('link', { name: 'run-7' })).toBeInTheDocument();

    // Then the pages are read again, once, with what is open now.
    await answer(after);
    await answer(after);
    expect(
      await screen.findByRole('link', { name: 'run-9' }),
    ).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'run-2' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'run-7' })).toBeNull();
    expect(backend.held).toHaveLength(0);
    // Two pages by the first reload, two by the one after it.
    expect(api.listApprovals).toHaveBeenCalledTimes(2 + 4);
  });

  describe('while runs keep changing', () => {
    const request = (id: string, requestedAt: string) =>
      makeRun({
        id,
        status: 'awaiting-approval',
        approval: makeApproval({ requestedAt }),
      });
    const decided = request('run-5', '2026-01-01T12:00:00Z');
    const older = request('run-3', '2026-01-01T09:00:00Z');
    const oldest = request('run-1', '2025-12-31T09:00:00Z');
    const newer = request('run-9', '2026-01-03T09:00:00Z');

    /** Shows three pages (run-7, run-5, run-3: one more to load), then answers only when told. */
    async function threePagesShown(
      api: ReturnType<typeof mockKubechartApi>,
      signals: FakeSignalApi,
      open: () => RunListItem[],
    ) {
      const backend = heldApprovals(api, open);
      render(api, signals);
      await screen.findByRole('link', { name: 'run-7' });
      for (const id of ['run-5', 'run-3']) {
        await userEvent.click(
          screen.getByRole('button', { name: 'Load older requests' }),
        );
        await screen.findByRole('link', { name: id });
      }
      await waitFor(() =>
        expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(1),
      );
      backend.holding = true;
      const answerNext = async () => {
        await waitFor(() => expect(backend.held.length).toBeGreaterThan(0));
        const next = backend.held.shift()!;
        await act(async () =>
          next.answer(await approvalsOf(open)(next.options)),
        );
      };
      return { backend, answerNext };
    }

    it('shows each change while a signal comes after every second page read', async () => {
      const api = mockKubechartApi();
      const signals = new FakeSignalApi();
      let open = [awaiting, decided, older, oldest];
      const { answerNext } = await threePagesShown(api, signals, () => open);

      const runsChanged = () =>
        act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
      // A run changes somewhere after every second page read: ten signals.
      const twoPagesRead = async (rounds: number) => {
        for (let i = 0; i < rounds; i++) {
          await answerNext();
          await answerNext();
          runsChanged();
        }
      };

      // run-5 is decided.
      open = [awaiting, older, oldest];
      runsChanged();
      await twoPagesRead(4);
      await answerNext();
      await answerNext();
      // While the signals still come, the decided request has left.
      expect(screen.queryByRole('link', { name: 'run-5' })).toBeNull();
      expect(screen.getByRole('link', { name: 'run-3' })).toBeInTheDocument();

      // run-3 is decided too.
      open = [awaiting, oldest];
      runsChanged();
      await twoPagesRead(4);
      expect(screen.queryByRole('link', { name: 'run-5' })).toBeNull();
      expect(screen.queryByRole('link', { name: 'run-3' })).toBeNull();
      expect(screen.getByRole('link', { name: 'run-7' })).toBeInTheDocument();
      expect(screen.getByRole('link', { name: 'run-1' })).toBeInTheDocument();
    });

    it('reads the pages again once more, however many signals come during a reload', async () => {
      const api = mockKubechartApi();
      const signals = new FakeSignalApi();
      let open = [awaiting, decided, older, oldest];
      const { backend, answerNext } = await threePagesShown(
        api,
        signals,
        () => open,
      );
      const before = api.listApprovals.mock.calls.length;

      // run-5 is decided: the three pages are read again.
      open = [awaiting, older, oldest];
      act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
      await answerNext();
      // run-9 is requested while the first page was read, and runs change five times more.
      open = [newer, awaiting, older, oldest];
      for (let i = 0; i < 3; i++) {
        act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
      }
      await answerNext();
      for (let i = 0; i < 2; i++) {
        act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
      }
      await answerNext();
      // The reload that began before run-9 is shown as it read the pages.
      expect(screen.queryByRole('link', { name: 'run-5' })).toBeNull();
      expect(screen.getByRole('link', { name: 'run-1' })).toBeInTheDocument();
      expect(screen.queryByRole('link', { name: 'run-9' })).toBeNull();

      while (backend.held.length) await answerNext();
      // One more reload read the three pages again: run-9 is shown.
      expect(
        await screen.findByRole('link', { name: 'run-9' }),
      ).toBeInTheDocument();
      expect(screen.getByRole('link', { name: 'run-7' })).toBeInTheDocument();
      expect(screen.getByRole('link', { name: 'run-3' })).toBeInTheDocument();
      expect(screen.queryByRole('link', { name: 'run-1' })).toBeNull();
      expect(
        screen.getByRole('button', { name: 'Load older requests' }),
      ).toBeEnabled();
      expect(api.listApprovals.mock.calls.length - before).toBe(6);
    });
  });

  it('does not add older requests read before runs changed, and still loads the page the user asked for', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const decided = makeRun({
      id: 'run-2',
      status: 'awaiting-approval',
      approval: makeApproval({ requestedAt: '2026-01-01T09:00:00Z' }),
    });
    const oldest = makeRun({
      id: 'run-1',
      status: 'awaiting-approval',
      approval: makeApproval({ requestedAt: '2025-12-31T09:00:00Z' }),
    });
    const before = [awaiting, decided, oldest];
    const after = [
      makeRun({
        id: 'run-9',
        status: 'awaiting-approval',
        approval: makeApproval({ requestedAt: '2026-01-03T09:00:00Z' }),
      }),
      awaiting,
      oldest,
    ];
    const backend = heldApprovals(api, () => before);
    render(api, signals);
    await screen.findByRole('link', { name: 'run-7' });
    await waitFor(() =>
      expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(1),
    );

    backend.holding = true;
    await userEvent.click(
      screen.getByRole('button', { name: 'Load older requests' }),
    );
    act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
    await waitFor(() => expect(backend.held).toHaveLength(2));
    const [olderPage, reload] = backend.held;
    expect(olderPage.options).toEqual({
      cursor: 'after-2026-01-02T11:00:00Z',
    });

    // The older page, read before run-2 was decided, answers after the reload began.
    const stale = await approvalsOf(() => before)(olderPage.options);
    await act(async () => olderPage.answer(stale));
    expect(screen.queryByRole('link', { name: 'run-2' })).toBeNull();

    backend.holding = false;
    backend.read = approvalsOf(() => after);
    await act(async () => reload.answer(await backend.read(reload.options)));
    expect(
      await screen.findByRole('link', { name: 'run-9' }),
    ).toBeInTheDocument();
    // The reload read the page the user asked for: two pages, with more to load after them.
    expect(screen.getByRole('link', { name: 'run-7' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'run-2' })).toBeNull();
    expect(screen.queryByRole('link', { name: 'run-1' })).toBeNull();
    expect(
      screen.getByRole('button', { name: 'Load older requests' }),
    ).toBeEnabled();
  });

  it('shows the first page reloaded and says so when an older page cannot be read again', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const older = makeRun({
      id: 'run-2',
      status: 'awaiting-approval',
      approval: makeApproval({ requestedAt: '2026-01-01T09:00:00Z' }),
    });
    const read = approvalsOf(() => [awaiting, older]);
    let failing = false;
    api.listApprovals.mockImplementation(async options => {
      if (failing && options?.cursor) throw new Error('backend unavailable');
      return read(options);
    });
    render(api, signals);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Load older requests' }),
    );
    await screen.findByRole('link', { name: 'run-2' });
    await waitFor(() =>
      expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(1),
    );

    failing = true;
    act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
    expect(
      await screen.findByText(
        'The older requests could not be loaded: backend unavailable',
      ),
    ).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'run-7' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'run-2' })).toBeNull();

    failing = false;
    await userEvent.click(
      screen.getByRole('button', { name: 'Load older requests' }),
    );
    expect(
      await screen.findByRole('link', { name: 'run-2' }),
    ).toBeInTheDocument();
    expect(screen.queryByText(/could not be loaded/)).toBeNull();
  });

  it('says when the older requests cannot be loaded, and lets the user try again', async () => {
    const api = mockKubechartApi();
    const older = makeRun({
      id: 'run-2',
      status: 'awaiting-approval',
      approval: makeApproval({ requestedAt: '2026-01-01T09:00:00Z' }),
    });
    api.listApprovals
      .mockResolvedValueOnce({
        items: [awaiting],
        truncated: true,
        nextCursor: 'after-run-7',
      })
      .mockRejectedValueOnce(new Error('backend unavailable'))
      .mockResolvedValueOnce({ items: [older], truncated: false });
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Load older requests' }),
    );
    expect(
      await screen.findByText(
        'The older requests could not be loaded: backend unavailable',
      ),
    ).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'run-7' })).toBeInTheDocument();
    await userEvent.click(
      screen.getByRole('button', { name: 'Load older requests' }),
    );
    expect(
      await screen.findByRole('link', { name: 'run-2' }),
    ).toBeInTheDocument();
    expect(screen.queryByText(/could not be loaded/)).toBeNull();
  });

  it('does not say nothing is open when the backend could not list every request', async () => {
    const api = mockKubechartApi();
    api.listApprovals.mockResolvedValue({ items: [], truncated: true });
    render(api);
    expect(
      await screen.findByText(
        'Not every open request could be listed: older requests may be waiting that are not shown here. Open a run from its deployment history to decide on it.',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText(/No open approval requests/)).toBeNull();
  });

  it('says that the list is cut below the requests it lists', async () => {
    const api = mockKubechartApi();
    api.listApprovals.mockResolvedValue({ items: [awaiting], truncated: true });
    render(api);
    expect(
      await screen.findByRole('link', { name: 'run-7' }),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        'Not every open request could be listed: older requests may be waiting that are not shown here. Open a run from its deployment history to decide on it.',
      ),
    ).toBeInTheDocument();
  });

  it('does not stay stale when the backend never answers a reload: it gives up on it and reads again when told that runs changed', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    let open = [awaiting];
    const backend = heldApprovals(api, () => open);
    render(api, signals);
    await screen.findByRole('link', { name: 'run-7' });
    await waitFor(() =>
      expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(1),
    );

    jest.useFakeTimers();
    try {
      // The reload's request is never answered; a second change comes while it waits.
      backend.holding = true;
      act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
      await waitFor(() => expect(backend.held).toHaveLength(1));
      backend.holding = false;
      open = [];
      act(() => signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' }));
      await act(async () => {
        jest.advanceTimersByTime(APPROVALS_ANSWER_WITHIN_MS);
      });
      // The unanswered reload is given up, and the change that came during it is read.
      expect(
        await screen.findByText(
          'No open approval requests for you to decide on or of your own.',
        ),
      ).toBeInTheDocument();
      expect(screen.queryByRole('link', { name: 'run-7' })).toBeNull();
      // A late answer to the request given up changes nothing.
      await act(async () =>
        backend.held[0].answer({ items: [awaiting], truncated: false }),
      );
      expect(screen.queryByRole('link', { name: 'run-7' })).toBeNull();
    } finally {
      jest.useRealTimers();
    }
  });

  it('shows the error when the approvals cannot be read', async () => {
    const api = mockKubechartApi();
    api.listApprovals.mockRejectedValue(new Error('backend unavailable'));
    render(api);
    expect(
      await screen.findByText('Error: backend unavailable', { selector: 'h6' }),
    ).toBeInTheDocument();
  });
});
